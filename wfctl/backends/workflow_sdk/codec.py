"""Workflow SDK payloads → plain JSON values (design §3). Shared by the local, Postgres and Vercel worlds.

Nothing here knows about files, SQL or HTTP: callers hand over what the engine stored and get back values
that ``json.dumps`` accepts.

Entry points
------------
* :func:`decode_payload` — one stored value (``SerializedData``): ``bytes`` with a 4-byte format prefix
  (``devl`` devalue text, ``encr`` encrypted), the local world's ``{"__type": "Uint8Array", "data": b64}``
  JSON wrapper, a CBOR tag-64 object, or plain JSON (specVersion 1 runs stored JSON as is).
* :class:`StreamDecoder` — stream chunk payloads: length-prefixed frames ``[u32 big-endian length][payload]``
  (a frame may span chunks), or the legacy newline-delimited devalue text.
* :func:`unflatten` — a parsed devalue array → a plain value.
* :func:`workflow_short_name` / :func:`step_short_name` — ``workflow//./workflows/demo//demoWorkflow`` →
  ``demoWorkflow`` (the SDK's ``parseWorkflowName``).
* :func:`decode_cbor` / :func:`from_cbor` — a cbor-x value (the Postgres world's ``*_cbor`` columns) → the
  shape world-local's JSON files hold, ready for :func:`decode_payload`.
* What every world shares beyond payloads: ULIDs (:func:`ulid_time_ms`, :func:`ulid_time_prefix`,
  :data:`new_ulid`, :func:`normalize_run_id`, the id-time margins :data:`ID_PAST_MARGIN_MS` /
  :data:`ID_FUTURE_MARGIN_MS`), SDK records → the run model (:func:`run_from_record`,
  :func:`step_from_record`, :func:`event_from_record`, :func:`run_error`), run stream names
  (:func:`stream_name`, :func:`stream_namespace`, base64url), and what ``list``, ``tail`` and ``wake`` decide
  the same way in every world (:func:`parse_statuses`, :func:`search_hit`, :func:`event_filter`,
  :func:`first_shown`, :func:`plan_wake`).

How values map (decisions where JavaScript has no JSON equivalent)
------------------------------------------------------------------
* ``Date`` → its ISO string (the SDK writes RFC 3339 UTC with milliseconds); an invalid date → ``null``.
* ``Uint8Array`` / ``ArrayBuffer`` / ``DataView`` / ``Uint8ClampedArray`` → ``{"$bytes": "<base64>"}``;
  other typed arrays → ``{"$type": "Int32Array", "value": [numbers]}`` (64-bit ones as decimal strings).
* ``BigInt`` → decimal string. ``Map`` → object when every key is a string, else a list of ``[key, value]``
  pairs. ``Set`` → list. ``URL`` / ``URLSearchParams`` / ``Temporal.*`` → their string form.
* ``undefined`` → ``null`` in arrays and at the root; an object member whose value is ``undefined`` is left
  out (as ``JSON.stringify`` does). Array holes → ``null``.
* ``NaN``, ``Infinity``, ``-Infinity`` → the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (JSON has no
  such numbers; a string keeps the information); ``-0`` → ``0``.
* ``Error`` / ``DOMException`` → ``{"name", "message", "stack"}`` (plus ``cause`` when present).
* Opaque or engine-specific values become ``{"$type": TAG, "value": ...}``: ``RegExp`` (``"/src/flags"``),
  ``Headers`` (an object; repeated names joined with ``", "``), ``Request``, ``Response``,
  ``ReadableStream`` / ``WritableStream`` (the value names the stream), ``StepFunction``, ``Class``,
  ``Instance``, and every tag this module does not know.
* Encrypted payloads → ``{"$encrypted": true}``; bytes that are not a known format → ``{"$bytes": ...}``;
  a payload that claims a format but does not decode → ``{"$undecodable": "<why>", "$bytes": ...}``.
* A reference cycle → ``{"$circular": true}`` at the point where it closes.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import math
import random
import re
import struct
import threading
import time
from datetime import datetime, timezone
from typing import Any, Iterable

from ...errors import NotFoundError, UsageError
from ...model import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    STATUSES,
    UNKNOWN,
    Event,
    Run,
    RunError,
    Step,
    WakeResult,
    iso,
    parse_time,
)

__all__ = [
    "DecodeError",
    "ID_FUTURE_MARGIN_MS",
    "ID_PAST_MARGIN_MS",
    "SDK_STATUSES",
    "StreamDecoder",
    "TERMINAL_EVENTS",
    "UlidFactory",
    "b64encode",
    "b64url",
    "b64url_decode",
    "cbor_uint8array",
    "chunk_offset",
    "decode_cbor",
    "decode_devalue",
    "decode_event_data",
    "decode_payload",
    "decode_stream_chunk",
    "epoch_ms",
    "event_filter",
    "event_from_record",
    "event_resume_at",
    "first_shown",
    "from_cbor",
    "is_ulid",
    "learn_step_name",
    "new_ulid",
    "normalize_run_id",
    "parse_machine_name",
    "parse_statuses",
    "plan_wake",
    "record_time",
    "run_error",
    "run_from_record",
    "search_hit",
    "slot_event_id",
    "slot_of",
    "step_from_record",
    "step_short_name",
    "stream_base",
    "stream_name",
    "stream_namespace",
    "stream_start",
    "ulid_time_ms",
    "ulid_time_prefix",
    "unflatten",
    "workflow_short_name",
]

FORMAT_DEVALUE = b"devl"
FORMAT_ENCRYPTED = b"encr"
FORMAT_SEALED = b"encp"  # 5.0: sealed to a run's public key (ciphertext for a reader)
FORMAT_GZIP = b"gzip"  # 5.0: compressed payloads (>= 1 KiB); the inner bytes carry their own prefix
FORMAT_ZSTD = b"zstd"
MAX_DECOMPRESSED = 256 * 1024 * 1024  # a payload that inflates beyond this is not decoded
MAX_NESTING = 4  # format prefixes wrapped inside each other
FRAME_HEADER_SIZE = 4
MAX_FRAME_SIZE = 100_000_000  # the SDK's own sanity bound for a frame length
MAX_NODES = 1_000_000  # values produced while decoding one payload (shared references are expanded)
MAX_SPARSE_LENGTH = 100_000

# devalue specials (negative indices)
_UNDEFINED, _HOLE, _NAN, _POS_INF, _NEG_INF, _NEG_ZERO, _SPARSE = -1, -2, -3, -4, -5, -6, -7

_TYPED_ARRAYS = {
    # name: (struct code, item size) — little-endian, as JavaScript engines store them
    "Int8Array": ("b", 1),
    "Int16Array": ("h", 2),
    "Uint16Array": ("H", 2),
    "Int32Array": ("i", 4),
    "Uint32Array": ("I", 4),
    "Float16Array": ("e", 2),
    "Float32Array": ("f", 4),
    "Float64Array": ("d", 8),
    "BigInt64Array": ("q", 8),
    "BigUint64Array": ("Q", 8),
}
_BYTE_VIEWS = frozenset({"Uint8Array", "Uint8ClampedArray", "DataView", "ArrayBuffer"})
_STRING_TAGS = frozenset(
    {
        "URL",
        "Temporal.Duration",
        "Temporal.Instant",
        "Temporal.PlainDate",
        "Temporal.PlainTime",
        "Temporal.PlainDateTime",
        "Temporal.PlainMonthDay",
        "Temporal.PlainYearMonth",
        "Temporal.ZonedDateTime",
    }
)


class DecodeError(ValueError):
    """A payload that claims to be devalue but is not well formed."""


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "undefined"


_UNDEF = _Undefined()


def b64encode(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _bytes_value(data: bytes) -> dict[str, str]:
    return {"$bytes": b64encode(data)}


def _b64decode(text: str) -> bytes:
    if text == ".":  # the SDK's reducers write "." for an empty buffer
        return b""
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=False)
    except (ValueError, TypeError) as exc:
        raise DecodeError(f"invalid base64: {exc}") from None


def _special_number(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return 0
    return value


# -- devalue -------------------------------------------------------------------------------------------


class _Unflattener:
    def __init__(self, values: list[Any]):
        self.values = values
        self.active: set[int] = set()
        self.nodes = 0

    # Indices inside containers are references; negative ones are specials.
    def hydrate(self, index: Any) -> Any:
        if isinstance(index, bool) or not isinstance(index, int):
            raise DecodeError(f"expected an index, got {index!r}")
        if index < 0:
            return _special(index)
        if index >= len(self.values):
            raise DecodeError(f"index {index} out of range")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise DecodeError("payload too large to decode")
        value = self.values[index]
        if value is None or isinstance(value, (str, bool)):
            return value
        if isinstance(value, (int, float)):
            return _special_number(value) if isinstance(value, float) else value
        if index in self.active:
            return {"$circular": True}
        self.active.add(index)
        try:
            if isinstance(value, list):
                return self._array(value)
            if isinstance(value, dict):
                out: dict[str, Any] = {}
                for key, ref in value.items():
                    item = self.hydrate(ref)
                    if item is not _UNDEF:
                        out[key] = item
                return out
            raise DecodeError(f"unexpected value {value!r}")
        finally:
            self.active.discard(index)

    def _array(self, value: list[Any]) -> Any:
        if value and isinstance(value[0], str):
            return self._tagged(value[0], value[1:])
        if value and value[0] == _SPARSE and not isinstance(value[0], bool):
            return self._sparse(value)
        return [None if ref == _HOLE else _finish(self.hydrate(ref)) for ref in value]

    def _sparse(self, value: list[Any]) -> Any:
        if len(value) < 2 or not isinstance(value[1], int) or value[1] < 0:
            raise DecodeError("invalid sparse array")
        length = value[1]
        items: dict[int, Any] = {}
        for i in range(2, len(value) - 1, 2):
            idx = value[i]
            if not isinstance(idx, int) or not 0 <= idx < length:
                raise DecodeError("invalid sparse array index")
            items[idx] = _finish(self.hydrate(value[i + 1]))
        if length <= MAX_SPARSE_LENGTH:
            out = [None] * length
            for idx, item in items.items():
                out[idx] = item
            return out
        return {"$type": "SparseArray", "value": {"length": length, "items": {str(k): v for k, v in items.items()}}}

    # -- tagged values ---------------------------------------------------------------------------------
    def _reduced(self, args: list[Any]) -> tuple[bool, Any]:
        """The workflow reducers' form ``[TAG, index]``: (True, hydrated payload), else (False, None)."""
        if len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool) and args[0] >= 0:
            return True, self.hydrate(args[0])
        return False, None

    def _raw(self, ref: Any) -> Any:
        if isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref < len(self.values):
            return self.values[ref]
        return None

    def _tagged(self, tag: str, args: list[Any]) -> Any:
        if tag == "Date":
            text = args[0] if args and isinstance(args[0], str) else self._reduced(args)[1]
            return None if not isinstance(text, str) or text in ("", ".") else text
        if tag == "BigInt":
            value = args[0] if args and isinstance(args[0], str) else self._reduced(args)[1]
            return str(value) if value is not None else None
        if tag == "Set":
            if len(args) == 1 and isinstance(self._raw(args[0]), list) and not _is_tag(self._raw(args[0])):
                payload = self.hydrate(args[0])  # reducer form: the index of an array of members
                return [_finish(v) for v in payload] if isinstance(payload, list) else [payload]
            return [_finish(self.hydrate(ref)) for ref in args]
        if tag == "Map":
            if len(args) == 1:
                payload = self._reduced(args)[1]  # reducer form: the index of an array of [key, value] pairs
                pairs = [p for p in payload if isinstance(p, list) and len(p) == 2] if isinstance(payload, list) else []
                return _map_value((k, v) for k, v in pairs)
            return _map_value((self.hydrate(args[i]), self.hydrate(args[i + 1])) for i in range(0, len(args) - 1, 2))
        if tag == "null":  # devalue's null-prototype object: ["null", key, index, key, index, ...]
            out: dict[str, Any] = {}
            for i in range(0, len(args) - 1, 2):
                item = self.hydrate(args[i + 1])
                if item is not _UNDEF:
                    out[str(args[i])] = item
            return out
        if tag == "Object":  # a boxed primitive
            return _finish(self.hydrate(args[0])) if args else None
        if tag == "RegExp":
            if len(args) >= 1 and isinstance(args[0], str):
                source, flags = args[0], args[1] if len(args) > 1 and isinstance(args[1], str) else ""
            else:
                payload = self._reduced(args)[1]
                payload = payload if isinstance(payload, dict) else {}
                source, flags = str(payload.get("source", "")), str(payload.get("flags", ""))
            return {"$type": "RegExp", "value": f"/{source}/{flags}"}
        if tag in _BYTE_VIEWS or tag in _TYPED_ARRAYS:
            return self._binary(tag, args)
        if tag == "URLSearchParams":
            text = args[0] if args and isinstance(args[0], str) else self._reduced(args)[1]
            return "" if text in (None, ".") else str(text)
        if tag in _STRING_TAGS:
            text = args[0] if args and isinstance(args[0], str) else self._reduced(args)[1]
            return None if text is None else str(text)
        if tag.endswith("Error") or tag == "DOMException":
            # Error and its subclasses (the 5.0 reducers add FatalError, RetryableError, TypeError, ...):
            # {name, message, stack} plus the subclass's own fields; FatalError adds fatal: true, as the
            # official CLI shows it.
            payload = _finish(self._reduced(args)[1]) if args else None
            if isinstance(payload, dict):
                out = {
                    "name": payload.get("name", tag),
                    "message": payload.get("message"),
                    "stack": payload.get("stack"),
                }
                out.update((k, v) for k, v in payload.items() if k not in out)
                if tag == "FatalError":
                    out.setdefault("fatal", True)
                retry_after = out.get("retryAfter")
                if (
                    tag == "RetryableError"
                    and isinstance(retry_after, (int, float))
                    and not isinstance(retry_after, bool)
                ):  # epoch ms, revived as a Date
                    out["retryAfter"] = iso(datetime.fromtimestamp(retry_after / 1000, tz=timezone.utc))
                return out
            return {"name": tag, "message": None if payload is None else str(payload), "stack": None}
        if tag == "Headers":
            payload = _finish(self._reduced(args)[1]) if args else []
            headers: dict[str, str] = {}
            for pair in payload if isinstance(payload, list) else []:
                if isinstance(pair, list) and len(pair) == 2:
                    name, val = str(pair[0]), "" if pair[1] is None else str(pair[1])
                    headers[name] = f"{headers[name]}, {val}" if name in headers else val
            return {"$type": "Headers", "value": headers}
        reduced, payload = self._reduced(args)
        if reduced:
            return {"$type": tag, "value": _finish(payload)}
        # An unknown builtin tag: keep its arguments, hydrating what look like references.
        return {
            "$type": tag,
            "value": [_finish(self.hydrate(a)) if isinstance(a, int) and not isinstance(a, bool) else a for a in args],
        }

    def _binary(self, tag: str, args: list[Any]) -> Any:
        if not args:
            data = b""
        elif isinstance(args[0], str):  # older devalue: [TAG, base64]
            data = _b64decode(args[0])
        else:
            raw = self._raw(args[0])
            if isinstance(raw, list) and raw and raw[0] == "ArrayBuffer":
                # devalue ≥ 5 builtin: [TAG, bufferIndex, byteOffset?, length?]
                buffer = self.hydrate(args[0])
                data = base64.b64decode(buffer["$bytes"]) if isinstance(buffer, dict) and "$bytes" in buffer else b""
                offset = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
                if len(args) > 2 and isinstance(args[2], int):
                    size = _TYPED_ARRAYS.get(tag, ("B", 1))[1]
                    data = data[offset : offset + args[2] * size]
                else:
                    data = data[offset:]
            else:  # the workflow reducers: [TAG, index of a base64 string]
                payload = self.hydrate(args[0])
                data = _b64decode(payload) if isinstance(payload, str) else b""
        if tag in _BYTE_VIEWS:
            return _bytes_value(data)
        code, size = _TYPED_ARRAYS[tag]
        count = len(data) // size
        try:
            numbers = list(struct.unpack(f"<{count}{code}", data[: count * size]))
        except struct.error as exc:  # pragma: no cover - defensive
            raise DecodeError(f"invalid {tag}: {exc}") from None
        if code in ("q", "Q"):
            return {"$type": tag, "value": [str(n) for n in numbers]}
        return {"$type": tag, "value": [_special_number(n) if isinstance(n, float) else n for n in numbers]}


def _is_tag(raw: Any) -> bool:
    return isinstance(raw, list) and bool(raw) and isinstance(raw[0], str)


def _special(index: int) -> Any:
    if index == _UNDEFINED:
        return _UNDEF
    if index == _HOLE:
        return None
    if index == _NAN:
        return "NaN"
    if index == _POS_INF:
        return "Infinity"
    if index == _NEG_INF:
        return "-Infinity"
    if index == _NEG_ZERO:
        return 0
    raise DecodeError(f"unknown special {index}")


def _finish(value: Any) -> Any:
    return None if value is _UNDEF else value


def _map_value(pairs: Iterable[tuple[Any, Any]]) -> Any:
    items = [(_finish(k), _finish(v)) for k, v in pairs]
    if all(isinstance(k, str) for k, _ in items):
        return dict(items)
    return [[k, v] for k, v in items]


def unflatten(parsed: Any) -> Any:
    """A parsed devalue document (``json.loads`` of ``devalue.stringify`` output) → a plain value."""
    return _finish(_unflatten(parsed))


def _unflatten(parsed: Any) -> Any:
    """Like :func:`unflatten`, but a root ``undefined`` stays the ``_UNDEF`` marker."""
    if isinstance(parsed, int) and not isinstance(parsed, bool):
        if parsed < 0:  # a standalone special, e.g. the root is `undefined`
            return _special(parsed)
        raise DecodeError("invalid devalue input")
    if not isinstance(parsed, list) or not parsed:
        raise DecodeError("invalid devalue input: expected a non-empty array")
    try:
        unflattener = _Unflattener(parsed)
        return unflattener.hydrate(0)
    except RecursionError:
        raise DecodeError("payload nested too deeply to decode") from None


def decode_devalue(text: str | bytes) -> Any:
    """devalue text → a plain value. Raises :class:`DecodeError`."""
    return _finish(_decode_devalue(text))


def _decode_devalue(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"not UTF-8: {exc}") from None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise DecodeError(f"not devalue JSON: {exc}") from None
    return _unflatten(parsed)


# -- stored payloads -----------------------------------------------------------------------------------


def _as_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict) and value.get("__type") == "Uint8Array" and isinstance(value.get("data"), str):
        try:
            return _b64decode(value["data"])
        except DecodeError:
            return None
    return cbor_uint8array(value)  # a cbor2.CBORTag(64, ...) from the Vercel API


def cbor_uint8array(value: Any) -> bytes | None:
    """The bytes of a CBOR tag 64 (cbor-x's ``Uint8Array``) as cbor2 decodes it; None for anything else."""
    tag, inner = getattr(value, "tag", None), getattr(value, "value", None)
    if tag == 64 and isinstance(inner, (bytes, bytearray)):
        return bytes(inner)
    return None


def decode_bytes(data: bytes) -> Any:
    """Format-prefixed bytes → a plain value (never raises)."""
    return _finish(_decode_bytes(data))


def _decode_bytes(data: bytes, depth: int = 0) -> Any:
    prefix = data[:4]
    if prefix == FORMAT_DEVALUE:
        try:
            return _decode_devalue(data[4:])
        except DecodeError as exc:
            return {"$undecodable": str(exc), "$bytes": b64encode(data)}
    if prefix in (FORMAT_ENCRYPTED, FORMAT_SEALED):
        return {"$encrypted": True}
    if prefix in (FORMAT_GZIP, FORMAT_ZSTD) and depth < MAX_NESTING:
        try:
            inner = _decompress(prefix, data[4:])
        except DecodeError as exc:
            return {"$undecodable": str(exc), "$bytes": b64encode(data)}
        return _decode_bytes(inner, depth + 1)
    if data[:1] == b"[":  # unprefixed devalue text (older writers)
        try:
            return decode_devalue(data)
        except DecodeError:
            pass
    return _bytes_value(data)


def _decompress(prefix: bytes, data: bytes) -> bytes:
    """The bytes inside a ``gzip`` or ``zstd`` payload (bounded by :data:`MAX_DECOMPRESSED`)."""
    if prefix == FORMAT_GZIP:
        import zlib

        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data, MAX_DECOMPRESSED)
        except zlib.error as exc:
            raise DecodeError(f"gzip payload: {exc}") from None
        if inflater.unconsumed_tail:
            raise DecodeError(f"gzip payload larger than {MAX_DECOMPRESSED} bytes")
        return out
    return _zstd_decompress(data)


def _zstd_decompress(data: bytes) -> bytes:
    """zstd through the ``zstandard`` package (or ``compression.zstd`` on Python 3.14), imported only when a
    zstd payload is met (Node >= 22.15 apps write them)."""
    try:
        from compression import zstd as stdlib_zstd  # type: ignore[import-not-found]
    except ImportError:
        stdlib_zstd = None
    if stdlib_zstd is not None:
        try:
            decompressor = stdlib_zstd.ZstdDecompressor()
            out = decompressor.decompress(data, max_length=MAX_DECOMPRESSED)
        except stdlib_zstd.ZstdError as exc:
            raise DecodeError(f"zstd payload: {exc}") from None
        if not decompressor.eof:
            raise DecodeError(f"zstd payload truncated or larger than {MAX_DECOMPRESSED} bytes")
        return out
    try:
        import zstandard
    except ImportError:
        raise DecodeError("zstd payload: the 'zstandard' package is not installed") from None
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data)
        out = reader.read(MAX_DECOMPRESSED + 1)
    except zstandard.ZstdError as exc:
        raise DecodeError(f"zstd payload: {exc}") from None
    if len(out) > MAX_DECOMPRESSED:
        raise DecodeError(f"zstd payload larger than {MAX_DECOMPRESSED} bytes")
    return out


def decode_payload(value: Any) -> Any:
    """One stored value (``SerializedData`` or legacy JSON) → a plain JSON value (never raises)."""
    if value is None:
        return None
    data = _as_bytes(value)
    if data is not None:
        return decode_bytes(data)
    return _plain_json(value)


def _plain_json(value: Any) -> Any:
    """Legacy (specVersion 1) JSON: keep it, turning nested byte wrappers and odd numbers into JSON values."""
    if isinstance(value, dict):
        data = _as_bytes(value)
        if data is not None:
            return _bytes_value(data)
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    if isinstance(value, float):
        return _special_number(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_value(bytes(value))
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "isoformat"):  # a datetime from CBOR tag 1 or a driver
        return iso(value) if hasattr(value, "tzinfo") else value.isoformat()
    return str(value)


def decode_event_data(event_data: Any) -> Any:
    """An event's ``eventData``: its byte fields (input, result, payload, metadata, ...) decoded, the rest kept.

    A field whose payload is ``undefined`` (a step that returned nothing) is left out, as the SDK's JSON does.
    """
    if not isinstance(event_data, dict):
        return decode_payload(event_data)
    out = {}
    for key, value in event_data.items():
        data = _as_bytes(value)
        decoded = _decode_bytes(data) if data is not None else _plain_json(value)
        if decoded is not _UNDEF:
            out[str(key)] = decoded
    return out


# -- CBOR ----------------------------------------------------------------------------------------------


def decode_cbor(data: Any) -> Any:
    """CBOR bytes (cbor-x) → :func:`from_cbor`'s shape (None for None; undecodable bytes kept as ``{"$bytes"}``)."""
    if data is None:
        return None
    import cbor2  # lazy: only the worlds that store CBOR need it

    raw = bytes(data)
    try:
        return from_cbor(cbor2.loads(raw))
    except Exception as exc:  # noqa: BLE001 - a corrupt cell must not break a listing
        return {"$undecodable": f"CBOR: {exc}", "$bytes": b64encode(raw)}


def from_cbor(value: Any) -> Any:
    """cbor2's decoding of a cbor-x value → the shape world-local's JSON files hold.

    Tag 64 (``Uint8Array``) → bytes (:func:`decode_payload` reads the 4-byte format prefix), dates →
    RFC 3339 strings with milliseconds (``Date.toJSON``), ``undefined`` → left out of maps / null in arrays,
    other tags → ``{"$type": "cbor-tag-N", "value"}``, simple values → ``{"$type": "cbor-simple", "value"}``.
    """
    return _finish(_from_cbor(value))


def _from_cbor(value: Any) -> Any:
    import cbor2

    if value is cbor2.undefined:
        return _UNDEF
    if isinstance(value, cbor2.CBORTag):
        data = cbor_uint8array(value)
        if data is not None:
            return data
        return {"$type": f"cbor-tag-{value.tag}", "value": _finish(_from_cbor(value.value))}
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = _from_cbor(item)
            if item is not _UNDEF:
                out[key if isinstance(key, str) else str(key)] = item
        return out
    if isinstance(value, (list, tuple)):
        return [_finish(_from_cbor(item)) for item in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, cbor2.CBORSimpleValue):
        return {"$type": "cbor-simple", "value": value.value}
    return value


# -- streams -------------------------------------------------------------------------------------------


class StreamDecoder:
    """Decode a run stream's chunk payloads in order.

    Frames are ``[u32 big-endian length][format-prefixed payload]`` and may span chunks, so the decoder
    keeps the unfinished tail. A chunk that does not start like a frame is the legacy format
    (newline-delimited devalue text). :meth:`flush` returns what is left at the end as bytes.
    """

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[Any]:
        data = bytes(data)
        if not self.buffer:
            if len(data) < FRAME_HEADER_SIZE:
                return [] if not data else [_bytes_value(data)]
            length = struct.unpack(">I", data[:FRAME_HEADER_SIZE])[0]
            if not 0 < length < MAX_FRAME_SIZE:
                return _legacy_lines(data)
        self.buffer += data
        values: list[Any] = []
        while len(self.buffer) >= FRAME_HEADER_SIZE:
            length = struct.unpack(">I", self.buffer[:FRAME_HEADER_SIZE])[0]
            if not 0 < length < MAX_FRAME_SIZE:
                values.append(_bytes_value(self.buffer))
                self.buffer = b""
                break
            end = FRAME_HEADER_SIZE + length
            if len(self.buffer) < end:
                break
            values.append(decode_payload(self.buffer[FRAME_HEADER_SIZE:end]))
            self.buffer = self.buffer[end:]
        return values

    def flush(self) -> list[Any]:
        rest, self.buffer = self.buffer, b""
        return [_bytes_value(rest)] if rest else []


def _legacy_lines(data: bytes) -> list[Any]:
    values = []
    for line in data.split(b"\n"):
        if line.strip():
            try:
                values.append(decode_devalue(line))
            except DecodeError:
                values.append(_bytes_value(line))
    return values


def decode_stream_chunk(data: bytes) -> list[Any]:
    """Every value in one self-contained chunk payload."""
    decoder = StreamDecoder()
    return decoder.feed(data) + decoder.flush()


# -- names ---------------------------------------------------------------------------------------------


def parse_machine_name(kind: str, name: Any) -> dict[str, str] | None:
    """``{kind}//{module}//{function}`` → ``{shortName, moduleSpecifier, functionName}`` (None if not one)."""
    if not isinstance(name, str):
        return None
    parts = name.split("//")
    if len(parts) < 3 or parts[0] != kind or not parts[1]:
        return None
    module, function = parts[1], "//".join(parts[2:])
    # Shortened only at the SDK's own separator "//": a nested function keeps its "outer/inner" path (the SDK's
    # parseWorkflowName would show "inner"), so a name holding "/" is never cut into fragments.
    short = parts[-1]
    if module.startswith("./"):
        module_short = module.split("/")[-1]
    else:
        without_version = "@".join(module.split("@")[:-1]) or module.split("@")[0]
        module_short = without_version.split("/")[-1]
    if short in ("default", "__default") and module_short:
        short = module_short
    return {"shortName": short, "moduleSpecifier": module, "functionName": function}


def workflow_short_name(name: Any) -> Any:
    """``workflow//./workflows/demo//demoWorkflow`` → ``demoWorkflow``; other values unchanged."""
    parsed = parse_machine_name("workflow", name)
    return parsed["shortName"] if parsed else name


def step_short_name(name: Any) -> Any:
    """``step//./workflows/demo//greet`` → ``greet``; other values unchanged."""
    parsed = parse_machine_name("step", name)
    return parsed["shortName"] if parsed else name


# -- ids -----------------------------------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {c: i for i, c in enumerate(_CROCKFORD)}
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_MAX_ULID_TIME = (1 << 48) - 1

# The world accepts a client-minted run id whose ULID time is up to 24 h before or 5 min after its clock
# (@workflow/world validateUlidTimestamp), so createdAt - 24 h <= id time <= createdAt + 5 min: a run created
# at or after T has an id time at or after T - ID_PAST_MARGIN_MS, one created at or before T an id time at or
# before T + ID_FUTURE_MARGIN_MS.
ID_PAST_MARGIN_MS = 24 * 60 * 60 * 1000
ID_FUTURE_MARGIN_MS = 5 * 60 * 1000


def is_ulid(text: str) -> bool:
    return bool(_ULID_RE.match(text))


def normalize_run_id(run_id: str) -> str:
    """A run id as given on the command line: stripped, and a bare ULID prefixed with ``wrun_``."""
    run_id = run_id.strip()
    if is_ulid(run_id.upper()):
        run_id = "wrun_" + run_id.upper()
    return run_id


def slot_of(event_id: Any) -> int | None:
    """The position in a 5.0 slot-numbered event id (``evnt_`` + 26 decimal digits, the first 10 zeros); None
    for a ULID id or anything else."""
    if not isinstance(event_id, str):
        return None
    body = event_id.rsplit("_", 1)[-1]
    if len(body) != 26 or not body.isdigit() or not body.startswith("0" * 10):
        return None
    slot = int(body)
    return slot if slot >= 1 else None


def slot_event_id(slot: int) -> str:
    """Position ``slot`` (from 1) as an event id: ``evnt_00000000000000000000000007``."""
    if slot < 1:
        raise ValueError(f"invalid event slot {slot}")
    return f"evnt_{slot:026d}"


def ulid_time_ms(value: str | None) -> int | None:
    """Milliseconds since the epoch encoded in a ULID or a prefixed id (``wrun_<ULID>``); None if not one
    (a slot-numbered event id is a position, not a time)."""
    if not value:
        return None
    ulid = value.rsplit("_", 1)[-1] if "_" in value else value
    ulid = ulid.upper()
    if not _ULID_RE.match(ulid) or ulid.startswith("0" * 10):
        return None
    ms = 0
    for ch in ulid[:10]:
        ms = ms * 32 + _CROCKFORD_VALUE[ch]
    return ms


def ulid_time_prefix(ms: int) -> str:
    """The 10-character time part of a ULID for ``ms`` (clamped to the ULID range)."""
    return _crockford(max(0, min(ms, _MAX_ULID_TIME)), 10)


def epoch_ms(value: datetime | None) -> int | None:
    """Milliseconds since the epoch (a naive datetime is UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1000)


def _crockford(value: int, length: int) -> str:
    """The low ``5 * length`` bits of ``value`` in Crockford base32, most significant first."""
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class UlidFactory:
    """Monotonic ULIDs: within one millisecond the random part is incremented, so ids sort in call order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def __call__(self, now_ms: int | None = None) -> str:
        with self._lock:
            ms = int(time.time() * 1000) if now_ms is None else now_ms
            if ms <= self._last_ms:
                ms = self._last_ms
                self._last_rand += 1
                if self._last_rand >= 1 << 80:  # pragma: no cover - 2^80 ids in one millisecond
                    raise OverflowError("ULID random part overflow")
            else:
                self._last_ms = ms
                self._last_rand = random.getrandbits(80)
            value = (min(ms, _MAX_ULID_TIME) << 80) | self._last_rand
        return _crockford(value, 26)


new_ulid = UlidFactory()


# -- SDK records → the run model (the same shapes in every world) ----------------------------------------

SDK_STATUSES = frozenset({PENDING, RUNNING, COMPLETED, FAILED, CANCELLED})
TERMINAL_EVENTS = frozenset({"run_completed", "run_failed", "run_cancelled"})


def record_time(value: Any, fallback_id: str | None = None) -> datetime | None:
    """A record's timestamp; when it is missing, the time in ``fallback_id`` (a ULID-based id)."""
    parsed = parse_time(value)
    if parsed is None and fallback_id:
        ms = ulid_time_ms(fallback_id)
        if ms is not None:
            parsed = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return parsed


def _json_object(value: Any) -> Any:
    """A string holding a JSON object (a legacy error) → that object; anything else unchanged."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict):
            return parsed
    return value


def run_error(value: Any, code: Any = None, *, json_text: bool = False) -> RunError | None:
    """A run's or step's ``error`` (``{message, stack?, code?}``, a string, or a serialized value).

    ``code`` (a record's ``errorCode``) is the code when the error has none of its own; an error that is only
    a code is kept. With ``json_text``, a string holding a JSON object (a legacy error) is read as that object.
    """
    code = code if isinstance(code, str) else None
    if value is None:
        return RunError(code=code) if code else None
    if not isinstance(value, (dict, str)) or _as_bytes(value) is not None:  # a serialized (5.0) error
        value = decode_payload(value)
    if json_text:
        value = _json_object(value)
    if isinstance(value, str):
        return RunError(message=value, code=code)
    if isinstance(value, dict):
        message = value.get("message")
        return RunError(
            message=message if isinstance(message, str) or message is None else json.dumps(message),
            code=value.get("code") if isinstance(value.get("code"), str) else code,
            stack=value.get("stack") if isinstance(value.get("stack"), str) else None,
        )
    return RunError(message=str(value), code=code)


def _record_error(raw: dict[str, Any], legacy_errors: bool) -> RunError | None:
    """A record's error: ``{message, stack, code}`` (4.x), or a serialized Error with ``errorCode`` beside it
    (5.0); with ``legacy_errors`` also JSON text (the Vercel API)."""
    return run_error(raw.get("error"), raw.get("errorCode"), json_text=legacy_errors)


def run_from_record(raw: dict[str, Any], backend: str, *, legacy_errors: bool = False) -> Run:
    """A ``WorkflowRun`` record (world-local's run file, the Vercel API's JSON) → :class:`Run`, without steps.

    ``workflowName`` is the short name and ``workflowId`` the SDK's machine name; ``extra`` holds
    ``deploymentId``, ``specVersion``, ``workflowCoreVersion`` and the rest of ``executionContext``.
    With ``legacy_errors`` (the Vercel API's records), ``error`` may be JSON text and ``errorCode`` is read.
    """
    run_id = raw["runId"]
    raw_status = raw.get("status")
    machine = raw.get("workflowName")
    context = raw.get("executionContext") if isinstance(raw.get("executionContext"), dict) else {}
    extra: dict[str, Any] = {
        "deploymentId": raw.get("deploymentId"),
        "specVersion": raw.get("specVersion"),
        "workflowCoreVersion": context.get("workflowCoreVersion"),
    }
    if isinstance(context.get("features"), dict):
        extra["features"] = context["features"]
    rest = {k: v for k, v in context.items() if k not in ("traceCarrier", "workflowCoreVersion", "features")}
    if rest:
        extra["executionContext"] = decode_event_data(rest)
    if raw.get("expiredAt"):
        extra["expiredAt"] = iso(parse_time(raw["expiredAt"]))
    attributes = raw.get("attributes")
    return Run(
        runId=run_id,
        backend=backend,
        workflowName=workflow_short_name(machine),
        workflowId=machine,
        status=raw_status if raw_status in SDK_STATUSES else UNKNOWN,
        rawStatus=raw_status,
        createdAt=record_time(raw.get("createdAt"), run_id),
        startedAt=record_time(raw.get("startedAt")),
        completedAt=record_time(raw.get("completedAt")),
        updatedAt=record_time(raw.get("updatedAt")),
        input=decode_payload(raw.get("input")),
        output=decode_payload(raw.get("output")),
        error=_record_error(raw, legacy_errors),
        attributes=decode_event_data(attributes) if isinstance(attributes, dict) else None,
        extra=extra,
    )


def step_from_record(raw: dict[str, Any], *, legacy_errors: bool = False) -> Step:
    """A ``Step`` record → :class:`Step`. Its ``error`` is kept for failed steps and steps waiting to retry;
    a completed step's record still holds an earlier failed attempt's error, which is not shown."""
    raw_status = raw.get("status")
    return Step(
        stepId=raw.get("stepId"),
        stepName=step_short_name(raw.get("stepName")),
        status=raw_status if raw_status in SDK_STATUSES else UNKNOWN,
        rawStatus=raw_status,
        attempt=raw.get("attempt") if isinstance(raw.get("attempt"), int) else None,
        startedAt=record_time(raw.get("startedAt")),
        completedAt=record_time(raw.get("completedAt")),
        input=decode_payload(raw.get("input")),
        output=decode_payload(raw.get("output")),
        error=_record_error(raw, legacy_errors) if raw_status in (FAILED, PENDING, RUNNING) else None,
    )


def learn_step_name(raw: dict[str, Any], step_names: dict[str, str]) -> None:
    """Remember the step name a ``step_*`` event carries (only step_created/completed carry it; the step's
    other events are named from ``step_names``)."""
    corr, event_data = raw.get("correlationId"), raw.get("eventData")
    if (
        str(raw.get("eventType")).startswith("step_")
        and isinstance(corr, str)
        and corr
        and isinstance(event_data, dict)
        and isinstance(event_data.get("stepName"), str)
    ):
        step_names.setdefault(corr, step_short_name(event_data["stepName"]))


def event_from_record(raw: dict[str, Any], run_id: str, index: int, step_names: dict[str, str]) -> Event:
    """An ``Event`` record (``eventType``, ``eventId``, ``correlationId``, ``createdAt``, ``eventData``) →
    :class:`Event`; its step name is learnt into and read from ``step_names`` (:func:`learn_step_name`)."""
    learn_step_name(raw, step_names)
    event_type = raw["eventType"]
    corr = raw.get("correlationId") if isinstance(raw.get("correlationId"), str) else None
    is_step = event_type.startswith("step_")
    event_id = str(raw.get("eventId") or "")
    return Event(
        runId=run_id,
        offset=event_id or None,
        index=index,
        type=event_type,
        time=record_time(raw.get("createdAt"), event_id),
        stepId=corr if is_step else None,
        correlationId=corr,
        data=decode_event_data(raw["eventData"]) if "eventData" in raw else None,
        stepName=step_names.get(corr) if is_step and corr else None,
    )


def event_resume_at(event: dict[str, Any]) -> str | None:
    """A ``wait_created`` event's ``resumeAt`` as RFC 3339 (None when it has none)."""
    data = event.get("eventData")
    return iso(parse_time(data.get("resumeAt"))) if isinstance(data, dict) else None


# -- what list, tail and wake decide the same way in every world ------------------------------------------


def parse_statuses(words: list[str]) -> list[str] | None:
    """``list --status`` words → lower-case statuses in the order given, without repeats (None: no filter).
    Raises :class:`UsageError` for a word that is neither an SDK status nor a wfctl one."""
    if not words:
        return None
    out: list[str] = []
    for word in words:
        lowered = word.strip().lower()
        if lowered not in SDK_STATUSES and lowered not in STATUSES:
            raise UsageError(f"unknown status {word!r}", hint="use one of: " + ", ".join(STATUSES))
        if lowered not in out:
            out.append(lowered)
    return out


def search_hit(raw: dict[str, Any], needle: str, *, json_text: bool = False) -> bool:
    """``list --search``: ``needle`` (lower case) in the run id, workflow, status, deployment id, error message
    or error code of a run record (a 5.0 error is a serialized payload: decoded only when the cheap fields
    do not match). With ``json_text``, an error stored as JSON text is searched by its message."""
    hay = [raw.get("runId"), raw.get("workflowName"), raw.get("status"), raw.get("deploymentId"), raw.get("errorCode")]
    if any(isinstance(h, str) and needle in h.lower() for h in hay):
        return True
    error = raw.get("error")
    if error is None:
        return False
    found = run_error(error, json_text=json_text)
    return found is not None and any(isinstance(h, str) and needle in h.lower() for h in (found.message, found.code))


def event_filter(types: Iterable[str]) -> Any:
    """``tail --type`` patterns (globs) → a predicate on event types (every type when there are none)."""
    patterns = [t.strip() for t in types if t and t.strip()]

    def wanted(event_type: str) -> bool:
        return not patterns or any(fnmatch.fnmatchcase(event_type, p) for p in patterns)

    return wanted


def first_shown(events: list[dict[str, Any]], offset: str | None, last: int | None, wanted: Any) -> set[int]:
    """Which of a run's events (in log order) ``tail`` prints before following: those after ``offset`` (an
    event id; one not in the log resumes after the ids that sort before it, ids being ULIDs) whose type is
    ``wanted``, only the last ``last`` of them when given."""
    start = 0
    if offset:
        ids = [str(e.get("eventId", "")) for e in events]
        if offset in ids:
            start = ids.index(offset) + 1
        else:
            start = next((i for i, e in enumerate(ids) if e > offset), len(events))
    batch = [i for i, e in enumerate(events) if i >= start and wanted(e["eventType"])]
    if last is not None:
        batch = batch[-last:] if last > 0 else []
    return set(batch)


def plan_wake(
    run_id: str, events: Iterable[dict[str, Any]], correlation_ids: list[str] | None, dry_run: bool
) -> tuple[dict[str, dict[str, Any]], list[str], WakeResult | None]:
    """``Run.wakeUp()``'s choice from a run's events: its sleeps (``wait_created``) not yet completed, only
    ``correlation_ids`` when given (an unknown one raises :class:`NotFoundError`).

    Returns (the ``wait_created`` events by correlation id, the pending ids, the result to return at once
    for a dry run or when nothing is pending, else None).
    """
    events = list(events)
    created = {
        e["correlationId"]: e
        for e in events
        if e.get("eventType") == "wait_created" and isinstance(e.get("correlationId"), str)
    }
    completed = {e.get("correlationId") for e in events if e.get("eventType") == "wait_completed"}
    pending = [corr for corr in created if corr not in completed]
    if correlation_ids:
        unknown = [c for c in correlation_ids if c not in created]
        if unknown:
            raise NotFoundError(
                f"run {run_id} has no sleep with correlation id {', '.join(unknown)}",
                hint=f"see its sleeps with 'wfctl get {run_id}'",
            )
        wanted_ids = set(correlation_ids)
        pending = [c for c in pending if c in wanted_ids]
    if dry_run:
        when = ", ".join(f"{c} (resumes at {event_resume_at(created[c])})" for c in pending)
        return (
            created,
            pending,
            WakeResult(
                run_id,
                len(pending),
                pending,
                None,
                f"dry run: would stop {len(pending)} sleep(s)" + (f": {when}" if when else ""),
            ),
        )
    if not pending:
        return created, pending, WakeResult(run_id, 0, [], None, "no pending sleep to wake")
    return created, pending, None


def stream_start(start_index: int | None, eofs: Iterable[Any]) -> int:
    """``tail --stream --start N``: the index of the first data chunk to print. A negative ``N`` counts back
    from the end: from the number of data chunks before the first EOF chunk (``eofs``: each chunk's EOF flag
    in order; only read for a negative ``N``)."""
    start = start_index or 0
    if start < 0:
        count = 0
        for eof in eofs:
            if eof:
                break
            count += 1
        start = max(0, count + start)
    return start


def chunk_offset(offset: str | None) -> tuple[str, int] | None:
    """A stream offset ``tail`` printed, ``chnk_<ULID>`` (a chunk's first value) or ``chnk_<ULID>#k`` (its k-th
    value) → (chunk id, k); None without one."""
    if not offset:
        return None
    chunk_id, _, frame = offset.partition("#")
    return chunk_id, int(frame) if frame.isdigit() else 0


# -- run streams -------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """base64url without padding (stream namespaces, cursors)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """:func:`b64url`'s inverse (padding optional); raises ``ValueError`` (``binascii.Error``) when invalid."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def stream_base(run_id: str) -> str:
    """``wrun_<ULID>`` → ``strm_<ULID>_user``: a run's default output stream (``getWorkflowRunStreamId``)."""
    return run_id.replace("wrun_", "strm_", 1) + "_user"


def stream_name(run_id: str, stream: str) -> str:
    """The stream for ``tail --stream [NAMESPACE]``: ``strm_<ULID>_user_<base64url(namespace)>``, the default
    stream for ``""``; a full ``strm_...`` name is kept as it is."""
    if stream.startswith("strm_"):
        return stream
    base = stream_base(run_id)
    if not stream:
        return base
    return f"{base}_" + b64url(stream.encode("utf-8"))


def stream_namespace(run_id: str, name: str) -> str | None:
    """The namespace of one of the run's streams (None for the default stream and for other streams)."""
    base = stream_base(run_id) + "_"
    if not name.startswith(base):
        return None
    try:
        return b64url_decode(name[len(base) :]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
