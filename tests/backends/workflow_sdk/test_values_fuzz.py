"""Property-based tests (Hypothesis) of the Workflow SDK value decoders (wfctl/backends/workflow_sdk/values.py):
devalue documents and text, format-prefixed payloads (``devl``, ``encr``/``encp``, ``gzip``/``zstd``), the
local world's byte wrapper, CBOR bytes and cbor2 values, event data.

What an engine stored is never trusted: :func:`decode_payload`, :func:`decode_bytes`, :func:`decode_cbor` and
:func:`decode_event_data` never raise and always give a value ``json.dumps`` writes as strict JSON (NaN and the
infinities are strings); :func:`unflatten` and :func:`decode_devalue` raise only :class:`DecodeError`. Round
trips where the SDK's format is the specification: a devalue document made from a JSON value (devalue's own
``stringify``, written here) decodes back to it, through every prefix and compression. The budget: the
Hypothesis profile (tests/conftest.py; CONTRIBUTING.md, "Fuzzing").
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import cbor2
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wfctl.backends.workflow_sdk.values import (
    DecodeError,
    decode_bytes,
    decode_cbor,
    decode_devalue,
    decode_event_data,
    decode_payload,
    from_cbor,
    unflatten,
)

# -- strategies ------------------------------------------------------------------------------------------------

#: JSON values as devalue writes them (finite numbers; strings without lone surrogates)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=25,
)

#: tags devalue and the workflow reducers write, and some they do not
TAGS = [
    "Date",
    "BigInt",
    "Set",
    "Map",
    "null",
    "Object",
    "RegExp",
    "Uint8Array",
    "Uint8ClampedArray",
    "ArrayBuffer",
    "DataView",
    "Int8Array",
    "Int32Array",
    "Float16Array",
    "Float64Array",
    "BigInt64Array",
    "URL",
    "URLSearchParams",
    "Temporal.Instant",
    "Error",
    "TypeError",
    "FatalError",
    "RetryableError",
    "DOMException",
    "Headers",
    "ReadableStream",
    "StepFunction",
    "Unknown",
    "",
]
_refs = st.integers(min_value=-8, max_value=14)
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from([".", "AQID/w==", "-_8", "=", "2026-11-22T04:19:07.206Z", "a=1&b=2", "é"])
)
_nodes = st.one_of(
    _leaves,
    st.lists(_refs, max_size=6),
    st.lists(_refs | _leaves, max_size=6),
    st.builds(lambda tag, args: [tag, *args], st.sampled_from(TAGS), st.lists(_refs | _leaves, max_size=4)),
    st.builds(lambda n, rest: [-7, n, *rest], st.integers(-2, 200_000), st.lists(_refs, max_size=6)),
    st.dictionaries(st.text(max_size=4), _refs, max_size=4),
    st.dictionaries(st.text(max_size=4), _refs | _leaves, max_size=3),
)
#: parsed devalue documents, well formed or not (a standalone special, a flat array of nodes, anything JSON)
devalue_docs = st.one_of(st.lists(_nodes, min_size=1, max_size=12), st.integers(-9, 3), json_values)


def strict_json(value: Any) -> str:
    """The value as strict JSON (no NaN, no infinities, nothing json cannot write); fails the test otherwise."""
    return json.dumps(value, allow_nan=False)


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zstd_compressed(data: bytes) -> bytes:
    if sys.version_info >= (3, 14):
        from compression import zstd  # type: ignore[import-not-found]

        return zstd.compress(data)
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


# -- devalue.stringify for JSON values and the workflow reducers' tags ----------------------------------------


class Reduced:
    """A value the workflow reducers write as ``[TAG, index of payload]``, and what wfctl decodes it to."""

    def __init__(self, tag: str, payload: Any, expected: Any):
        self.tag, self.payload, self.expected = tag, payload, expected

    def __repr__(self) -> str:
        return f"Reduced({self.tag!r}, {self.payload!r})"


def stringify(value: Any) -> Any:
    """devalue's ``stringify`` (parsed): a flat array, the root at index 0, equal primitives stored once,
    ``-0`` as the special -6."""
    flat: list[Any] = []
    seen: dict[tuple[type, Any], int] = {}

    def flatten(v: Any) -> int:
        if isinstance(v, float) and v == 0 and math.copysign(1.0, v) < 0:
            return -6
        key = (type(v), v) if v is None or isinstance(v, (str, int, float)) else None
        if key is not None and key in seen:
            return seen[key]
        index = len(flat)
        flat.append(None)
        if key is not None:
            seen[key] = index
            flat[index] = v
        elif isinstance(v, Reduced):
            flat[index] = [v.tag, flatten(v.payload)]
        elif isinstance(v, list):
            flat[index] = [flatten(x) for x in v]
        else:
            flat[index] = {k: flatten(x) for k, x in v.items()}
        return index

    root = flatten(value)
    return root if root < 0 else flat


def expected(value: Any) -> Any:
    if isinstance(value, Reduced):
        return value.expected
    if isinstance(value, list):
        return [expected(v) for v in value]
    if isinstance(value, dict):
        return {k: expected(v) for k, v in value.items()}
    return value


_reduced = st.one_of(
    st.datetimes(timezones=st.just(timezone.utc)).map(
        lambda d: (lambda text: Reduced("Date", text, text))(d.isoformat(timespec="milliseconds")[:-6] + "Z")
    ),
    st.integers().map(lambda n: Reduced("BigInt", str(n), str(n))),
    st.binary(max_size=24).map(
        lambda b: Reduced("Uint8Array", base64.b64encode(b).decode() or ".", {"$bytes": base64.b64encode(b).decode()})
    ),
    st.lists(json_values, max_size=4).map(lambda xs: Reduced("Set", xs, xs)),
    st.dictionaries(st.text(max_size=5), json_values, max_size=4).map(
        lambda d: Reduced("Map", [[k, v] for k, v in d.items()], d)
    ),
    st.text(max_size=20).map(lambda t: Reduced("URL", t, t)),
)
sdk_values = st.recursive(
    json_values | _reduced,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=15,
)


# -- round trips -------------------------------------------------------------------------------------------------


@given(json_values)
@example(-0.0)
@example([1, 1, "a", "a", {"a": "a"}])
@example({"": None, "k": [None, [], {}]})
def test_devalue_of_a_json_value_decodes_back_to_it(value):
    doc = stringify(value)
    assert unflatten(doc) == value
    text = json.dumps(doc)
    assert decode_devalue(text) == value
    assert decode_payload(b"devl" + text.encode()) == value
    assert decode_payload({"__type": "Uint8Array", "data": base64.b64encode(b"devl" + text.encode()).decode()}) == value


@given(sdk_values)
def test_workflow_reducer_values_decode_to_their_json_form(value):
    payload = b"devl" + json.dumps(stringify(value)).encode()
    decoded = decode_payload(payload)
    assert decoded == expected(value)
    strict_json(decoded)


@given(json_values, st.sampled_from(["gzip", "zstd", "gzip+zstd", "cbor", "cbor+gzip"]))
def test_compressed_and_cbor_wrapped_payloads_decode_to_the_same_value(value, wrapping):
    data = b"devl" + json.dumps(stringify(value)).encode()
    for layer in wrapping.split("+")[::-1]:
        if layer == "gzip":
            data = b"gzip" + gzipped(data)
        elif layer == "zstd":
            data = b"zstd" + zstd_compressed(data)
    stored: Any = data
    if wrapping.startswith("cbor"):  # the Postgres world's *_cbor cells, the Vercel API's answers
        stored = decode_cbor(cbor2.dumps({"output": cbor2.CBORTag(64, data)}))["output"]
    assert decode_payload(stored) == value


@given(st.binary(max_size=300), st.sampled_from([b"gzip", b"zstd"]), st.data())
@example(b"devl[1]", b"gzip", None)  # the gzip trailer (CRC, size) cut off: was decoded as if whole
@example(b'devl["hello world hello world"]', b"zstd", None)  # a cut zstd frame: was {"$bytes": ""}
def test_a_cut_compressed_payload_is_undecodable_never_a_shorter_value(inner, prefix, data):
    whole = gzipped(inner) if prefix == b"gzip" else zstd_compressed(inner)
    cut = len(whole) - 1 if data is None else data.draw(st.integers(0, len(whole) - 1), label="cut")
    decoded = decode_payload(prefix + whole[:cut])
    assert isinstance(decoded, dict) and "$undecodable" in decoded, decoded
    assert base64.b64decode(decoded["$bytes"]) == prefix + whole[:cut]


# -- never an unexpected exception -----------------------------------------------------------------------------


@given(devalue_docs)
@example([[1, 1], [2, 2], [3, 3], [4, 4], 0])  # shared references, expanded
@example([["RetryableError", 1], {"retryAfter": 2}, 1e300])  # a retryAfter beyond Python's dates: was OverflowError
@example([["Foo", float("nan")]])  # a raw NaN argument of an unknown tag
@example([["Map", 1, 1], [0]])  # a map whose key is the map itself
@example([-7, 200_000, 0, 1])  # a sparse array too long to expand
def test_unflatten_gives_strict_json_or_a_decode_error(doc):
    try:
        decoded = unflatten(doc)
    except DecodeError:
        return
    strict_json(decoded)


@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
@example(b"[" * 5000)  # nesting beyond the interpreter's recursion limit: was RecursionError
@example(b'[{"a":1}' + b"," * 3 + b"]")
@example(b'[["Date",1],[2],' * 400 + b"0]")
def test_devalue_text_gives_strict_json_or_a_decode_error(text):
    try:
        decoded = decode_devalue(text)
    except DecodeError:
        return
    strict_json(decoded)


@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda p, rest: p + rest, st.sampled_from([b"devl", b"encr", b"encp", b"gzip", b"zstd"]), st.binary()
        ),
        devalue_docs.map(lambda doc: b"devl" + json.dumps(doc).encode()),
        devalue_docs.map(lambda doc: json.dumps(doc).encode()),  # unprefixed devalue (older writers)
    )
)
@example(b"devl" + b"[" * 5000)
@example(b"[" * 5000)
@example(b'devl[["RetryableError",1],{"retryAfter":2},1e300]')
@example(b"gzip" + gzipped(b"gzip" + gzipped(b"gzip" + gzipped(b"gzip" + gzipped(b"gzip" + gzipped(b"devl0"))))))
def test_stored_bytes_never_raise(data):
    decoded = decode_bytes(data)
    strict_json(decoded)
    assert decode_payload(data) == decoded


@given(st.text(max_size=60), st.sampled_from(["Uint8Array", "Int8Array", "other"]))
def test_the_local_worlds_byte_wrapper_never_raises(text, kind):
    decoded = decode_payload({"__type": kind, "data": text})
    strict_json(decoded)


# -- CBOR -------------------------------------------------------------------------------------------------------

_tz = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60 - 59, 23 * 60 + 59))
cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=10)
    | st.binary(max_size=16)
    | st.just(cbor2.undefined)
    | st.sampled_from([0, 19, 32, 255]).map(cbor2.CBORSimpleValue)
    | st.datetimes(timezones=_tz)
    | st.binary(max_size=40).map(lambda b: cbor2.CBORTag(64, b))
    | st.sampled_from([b"devl[1]", b'devl[{"a":1},[]]', b"encr\x00", b"gzip\x1f\x8b"]).map(
        lambda b: cbor2.CBORTag(64, b)
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers(-3, 3), children, max_size=4)
        | st.builds(cbor2.CBORTag, st.integers(2000, 3000) | st.just(64), children)  # tags cbor2 leaves alone
    ),
    max_leaves=20,
)


@given(cbor_values)
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))  # before year 1 in UTC: was OverflowError
@example(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1))))  # after year 9999 in UTC
@example(datetime(999, 1, 1, tzinfo=timezone.utc))  # a year of three digits: was written "999-01-01..."
def test_cbor_values_decode_to_strict_json(value):
    decoded = from_cbor(cbor2.loads(cbor2.dumps(value)))
    strict_json(decode_payload(decoded))
    strict_json(decode_event_data(decoded))
    strict_json(decode_payload(decode_cbor(cbor2.dumps(value))))


@given(st.binary(max_size=300))
@example(b"\xc0\x78\x190001-01-01T00:00:00+01:00")
@example(b"\x81" * 1000 + b"\x00")
def test_cbor_bytes_never_raise(data):
    decoded = decode_cbor(data)
    strict_json(decode_payload(decoded))
    strict_json(decode_event_data(decoded))


@given(st.dictionaries(st.text(max_size=8), cbor_values | json_values, max_size=6))
def test_event_data_never_raises(event_data):
    strict_json(decode_event_data(from_cbor(cbor2.loads(cbor2.dumps(event_data)))))


def test_decode_error_is_the_modules_documented_error():
    assert issubclass(DecodeError, ValueError)
    with pytest.raises(DecodeError):
        unflatten([])
