"""Workflow SDK values → plain JSON values: devalue text, format-prefixed payloads (``devl``, ``encr``/``encp``,
``gzip``/``zstd``) and CBOR (cbor-x) values. Shared by the local, Postgres and Vercel worlds.

Nothing here knows about files, SQL or HTTP: callers hand over what the engine stored and get back values
that ``json.dumps`` accepts.

Entry points
------------
* :func:`decode_payload` — one stored value (``SerializedData``): ``bytes`` with a 4-byte format prefix
  (``devl`` devalue text, ``encr`` encrypted), the local world's ``{"__type": "Uint8Array", "data": b64}``
  JSON wrapper, a CBOR tag-64 object, or plain JSON (specVersion 1 runs stored JSON as is).
* :func:`decode_event_data` — an event's ``eventData``, its byte fields decoded.
* :func:`unflatten` / :func:`decode_devalue` — a parsed devalue array (or its text) → a plain value.
* :func:`encode_devalue` / :func:`dehydrate` — the other way, for what wfctl writes (``start``, ``resume``): a
  JSON value → devalue text (``devalue.stringify``'s form) → ``devl``-prefixed bytes, uncompressed (every
  reader of every spec version reads ``devl``; the SDK compresses payloads of 1 KiB or more only to save space).
* :func:`payload_problem` — why a stored payload cannot be handed on as it is (encrypted, undecodable), or None.
* :func:`decode_cbor` / :func:`from_cbor` — a cbor-x value (the Postgres world's ``*_cbor`` columns) → the
  shape world-local's JSON files hold, ready for :func:`decode_payload`.

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
import json
import math
import struct
from datetime import datetime
from typing import Any, Iterable

from ...model import iso, parse_time

__all__ = [
    "DecodeError",
    "as_bytes",
    "b64encode",
    "bytes_value",
    "cbor_uint8array",
    "decode_bytes",
    "decode_cbor",
    "decode_devalue",
    "decode_event_data",
    "decode_payload",
    "dehydrate",
    "encode_devalue",
    "from_cbor",
    "payload_problem",
    "unflatten",
]

FORMAT_DEVALUE = b"devl"
FORMAT_ENCRYPTED = b"encr"
FORMAT_SEALED = b"encp"  # 5.0: sealed to a run's public key (ciphertext for a reader)
FORMAT_GZIP = b"gzip"  # 5.0: compressed payloads (>= 1 KiB); the inner bytes carry their own prefix
FORMAT_ZSTD = b"zstd"
MAX_DECOMPRESSED = 256 * 1024 * 1024  # a payload that inflates beyond this is not decoded
MAX_NESTING = 4  # format prefixes wrapped inside each other
MAX_NODES = 1_000_000  # values produced while decoding one payload (shared references are expanded)
MAX_SPARSE_LENGTH = 100_000
_ZSTD_STEP = 1024  # compressed bytes fed to the zstandard decompressor at a time

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


def bytes_value(data: bytes) -> dict[str, str]:
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
                ):  # epoch ms, revived as a Date (kept as the number when beyond the dates Python has)
                    when = parse_time(retry_after)
                    if when is not None:
                        out["retryAfter"] = iso(when)
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
        # An unknown builtin tag: keep its arguments (NaN and the infinities as strings), hydrating what look
        # like references.
        return {
            "$type": tag,
            "value": [
                _finish(self.hydrate(a)) if isinstance(a, int) and not isinstance(a, bool) else _plain_json(a)
                for a in args
            ],
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
            return bytes_value(data)
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
    except RecursionError:
        raise DecodeError("not devalue JSON: nested too deeply to decode") from None
    return _unflatten(parsed)


# -- writing: JSON values → devalue ---------------------------------------------------------------------


def encode_devalue(value: Any) -> str:
    """A JSON value (what ``json.loads`` gives) → devalue text, as ``devalue.stringify`` writes it: a flat array
    whose first element is the root; inside containers, integers are indices; equal primitives share one
    entry. Floats that JSON cannot hold (NaN, the infinities, -0) become devalue's specials."""
    entries: list[str] = []
    seen: dict[tuple[str, Any], int] = {}

    def flatten(item: Any) -> int:
        if isinstance(item, float):
            if math.isnan(item):
                return _NAN
            if math.isinf(item):
                return _POS_INF if item > 0 else _NEG_INF
            if item == 0 and math.copysign(1.0, item) < 0:
                return _NEG_ZERO
        if item is None or isinstance(item, (str, bool, int, float)):
            key = ("b" if isinstance(item, bool) else "s" if isinstance(item, str) else "n", item)
            if key in seen:
                return seen[key]
            index = seen[key] = len(entries)
            entries.append(_devalue_text(item))
            return index
        index = len(entries)
        entries.append("")
        if isinstance(item, (list, tuple)):
            entries[index] = "[" + ",".join(str(flatten(v)) for v in item) + "]"
        elif isinstance(item, dict):
            parts = [f"{_devalue_text(str(k))}:{flatten(v)}" for k, v in item.items()]
            entries[index] = "{" + ",".join(parts) + "}"
        else:
            raise TypeError(f"not a JSON value: {type(item).__name__}")
        return index

    try:
        root = flatten(value)
    except RecursionError:
        raise DecodeError("value nested too deeply to encode") from None
    if root < 0:
        return str(root)
    return "[" + ",".join(entries) + "]"


def _devalue_text(item: Any) -> str:
    """A primitive as devalue writes it: JSON, with ``<`` and the line separators escaped."""
    if isinstance(item, float):
        return _js_number(item)
    text = json.dumps(item, ensure_ascii=False)
    if isinstance(item, str):
        text = text.replace("<", "\\u003C").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


def _js_number(value: float) -> str:
    """A finite float as JavaScript's ``Number.prototype.toString`` writes it (``1`` for 1.0, ``2.5e-7``,
    ``100000000000000000000`` for 1e20): the shortest digits that round-trip, which ``repr`` gives too, laid
    out by ECMAScript's rules."""
    if value == 0:
        return "0"
    from decimal import Decimal

    sign = "-" if value < 0 else ""
    parsed = Decimal(repr(abs(value))).normalize().as_tuple()  # value = DIGITS × 10^exponent
    digits = "".join(map(str, parsed.digits))
    n = int(parsed.exponent) + len(digits)  # value = 0.DIGITS × 10^n
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def dehydrate(value: Any) -> bytes:
    """A JSON value → the bytes the SDK stores for it (``devl`` + devalue text)."""
    return FORMAT_DEVALUE + encode_devalue(value).encode("utf-8")


def payload_problem(value: Any) -> str | None:
    """Why a stored payload cannot be handed on unchanged to a new run (one phrase), or None: encrypted
    (``encr``/``encp``, wfctl holds no key), or not decodable."""
    if value is None:
        return None
    data = as_bytes(value)
    if data is None:
        return None  # legacy JSON
    decoded = _decode_bytes(data)
    if isinstance(decoded, dict):
        if decoded.get("$encrypted") is True and len(decoded) == 1:
            return "its input is encrypted and wfctl holds no key for it"
        if "$undecodable" in decoded:
            return f"its input cannot be decoded ({decoded['$undecodable']})"
        if set(decoded) == {"$bytes"}:
            return "its input is in a format wfctl does not know"
    return None


# -- stored payloads -----------------------------------------------------------------------------------


def as_bytes(value: Any) -> bytes | None:
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
    return bytes_value(data)


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
        if not inflater.eof:  # cut short (zlib returns what it inflated without complaint)
            raise DecodeError("gzip payload truncated")
        return out
    return _zstd_decompress(data)


def _zstd_decompress(data: bytes) -> bytes:
    """zstd through the ``zstandard`` package (or ``compression.zstd`` on Python 3.14), imported only when a
    zstd payload is met (Node >= 22.15 apps write them)."""
    try:
        from compression import zstd as stdlib_zstd
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
    # A decompressor object says whether the frame ended (a stream reader ends a cut frame quietly); fed 1 KiB
    # at a time so that the output stays near the bound.
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    out = bytearray()
    try:
        for start in range(0, len(data), _ZSTD_STEP):
            out += decompressor.decompress(data[start : start + _ZSTD_STEP])
            if len(out) > MAX_DECOMPRESSED:
                raise DecodeError(f"zstd payload larger than {MAX_DECOMPRESSED} bytes")
            if decompressor.eof:
                break
    except zstandard.ZstdError as exc:
        raise DecodeError(f"zstd payload: {exc}") from None
    if not decompressor.eof:
        raise DecodeError("zstd payload truncated")
    return bytes(out)


def decode_payload(value: Any) -> Any:
    """One stored value (``SerializedData`` or legacy JSON) → a plain JSON value (never raises)."""
    if value is None:
        return None
    data = as_bytes(value)
    if data is not None:
        return decode_bytes(data)
    return _plain_json(value)


def _plain_json(value: Any) -> Any:
    """Legacy (specVersion 1) JSON: keep it, turning nested byte wrappers and odd numbers into JSON values."""
    if isinstance(value, dict):
        data = as_bytes(value)
        if data is not None:
            return bytes_value(data)
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    if isinstance(value, float):
        return _special_number(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_value(bytes(value))
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
        data = as_bytes(value)
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
