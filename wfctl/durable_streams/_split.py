"""JSON array texts for the Durable Streams reader: cutting the whole messages off the start of an array that
is still arriving (:func:`_split_json_array`, and :func:`_proven_part` for the parts sent to the helper
process), joining array texts, and the messages of a part decoded only when first used (:class:`_LazyItems`).
See "Large responses" in docs/durable-streams.md. Standard library only."""

from __future__ import annotations

import json
from collections.abc import Sequence as _SequenceABC
from typing import Any, Callable, Iterator

from ._columns import nesting


def _join_json_arrays(payloads: list[bytes]) -> bytes:
    """Merge JSON array texts (already validated) into one array text without re-encoding."""
    if len(payloads) == 1:
        return payloads[0]
    inner = [p.strip()[1:-1].strip() for p in payloads]
    return b"[" + b",".join(part for part in inner if part) + b"]"


class _LazyItems(_SequenceABC):
    """The messages of a part decoded by the helper process: decoded here only when first used."""

    __slots__ = ("data", "_n", "_items")

    def __init__(self, data: bytes, n: int):
        self.data, self._n = data, n
        self._items: list[Any] | None = None

    def _decoded(self) -> list[Any]:
        if self._items is None:
            self._items = json.loads(self.data)
        return self._items

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        return self._decoded() == (list(other) if isinstance(other, _LazyItems) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._decoded())


def _encode_compact(items: list[Any]) -> bytes:
    """A JSON array text for messages whose original text is not at hand (rare: a re-read after a cut)."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


#: the C scanner behind ``json.loads`` (one value from an index; set by ``JSONDecoder()``, not in the stubs)
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _proven_part(buf: bytearray, begin: int, size: int) -> tuple[bytes, int] | None:
    """The whole messages at the start of ``buf[begin:]`` (about ``size`` bytes of them, cut at a ``},``
    that :func:`~wfctl.durable_streams._columns.nesting` shows to be at the top level) and the index after the comma
    that follows them; None when no such cut is found cheaply."""
    end = begin + size
    for _ in range(4):  # a few candidates: the last "}," may close a nested object
        brace = buf.rfind(b"},", begin, end)
        if brace < begin:
            return None
        seg = bytes(buf[begin : brace + 1])
        depth = nesting(seg)
        if depth == 0:
            return seg, brace + 2
        if depth is None:
            return None
        end = brace
    return None


def _split_json_array(
    buf: bytearray, begin: int, objects: bool, size: int | None = None
) -> tuple[list[Any], bytes, int] | None:
    """Split the complete messages off the start of a JSON array that is still arriving.

    ``buf[begin:]`` holds the array's text after its ``[`` (or after a top-level comma). Returns the
    messages, their text (``seg``: the messages without the enclosing brackets) and the index in ``buf``
    just after the top-level comma that follows them; None when no complete message could be split off.

    The fast path cuts at the last ``},`` (``,`` for arrays of non-objects) in the first ``size`` bytes (or
    anywhere) and parses the part before it with ``json.loads`` in one call. That parse succeeds only if the
    cut is a top-level boundary: a comma inside a string leaves the string unterminated, one inside a nested
    container leaves it unclosed, and a cut before a comma never splits a number or literal. Otherwise the
    messages are scanned one by one.
    """
    pattern = b"}," if objects else b","
    ends = [len(buf)]
    if size is not None and begin + size < len(buf):
        ends.insert(0, begin + size)
    for end in ends:
        for _ in range(4):  # a few candidates: the last one may sit inside a string or a nested value
            comma = buf.rfind(pattern, begin, end)
            if comma < begin:
                break
            end = comma
            if objects:
                comma += 1
            seg = bytes(buf[begin:comma])
            try:
                items = json.loads(b"[" + seg + b"]")
            except (ValueError, RecursionError):  # nested too deeply: the slow path stops there too
                continue
            if items:
                return items, seg, comma + 1
    # the slow path: one message at a time
    raw = bytes(buf[begin:])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data":
            return None  # damaged: the final parse will say so
        text = raw[: e.start].decode("utf-8")
    items = []
    idx, end, size = 0, -1, len(text)
    while True:
        while idx < size and text[idx] in " \t\n\r":
            idx += 1
        try:
            item, stop = _scan_once(text, idx)
        except (StopIteration, ValueError, RecursionError):
            break
        while stop < size and text[stop] in " \t\n\r":
            stop += 1
        if stop >= size or text[stop] != ",":
            break
        items.append(item)
        end = stop
        idx = stop + 1
    if not items:
        return None
    seg = text[:end].encode("utf-8")
    return items, seg, begin + len(seg) + 1
