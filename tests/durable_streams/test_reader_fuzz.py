"""Property-based tests (Hypothesis) of the Durable Streams reader's parsers (wfctl/durable_streams/): the JSON
array splitting of a body that is still arriving (``_split``: :func:`_split_json_array`, :func:`_proven_part`,
:func:`_join_json_arrays`), the column helper's top-level check and answers (``_columns``: :func:`nesting`,
:func:`columns`, the helper's ``_answer``), and the reader's handling of one response (``_reader``: a JSON or
compressed body cut into any chunks, SSE data and control events), without a server: the response is a stand-in
with headers and chunks.

Properties: whatever bytes a server sends, only the :class:`StreamError` family comes out (a damaged body is a
:class:`ParseError`); a valid JSON array delivered in any chunks, in partial batches of any size, gives its
messages once each, in order, each batch's ``data`` holding its ``items``; the cheap top-level check is never
wrong. The budget: the Hypothesis profile (tests/conftest.py; CONTRIBUTING.md, "Fuzzing").
"""

from __future__ import annotations

import json
import zlib

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wfctl.durable_streams import ParseError, StreamError
from wfctl.durable_streams._columns import _answer, columns, nesting
from wfctl.durable_streams._reader import StreamReader, _Session
from wfctl.durable_streams._split import _join_json_arrays, _proven_part, _split_json_array

DEEP = b"[" * 2000 + b"]" * 2000  # valid JSON nested beyond the interpreter's recursion limit
KEYS = ("type", "v", "runId")

#: message values: small (a body holds many), with the characters a cut must not fall inside
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["},{", "],[", ",", "\\", '"', "é", "\u2028"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=6,
)

messages = st.lists(
    json_values | st.dictionaries(st.sampled_from(["type", "v", "runId", "s", "}", ","]), json_values, max_size=4),
    max_size=8,
)
object_messages = st.lists(
    st.dictionaries(
        st.sampled_from(["type", "v", "runId", "s"]), json_values | st.sampled_from(["},{", "\\", '"']), max_size=4
    ),
    max_size=8,
)


def array_text(items: list, style: int) -> bytes:
    """A JSON array text as servers write it: compact, spaced, indented, ASCII-escaped or not."""
    if style == 0:
        return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()
    if style == 1:
        return json.dumps(items).encode()
    return json.dumps(items, indent=style - 1, ensure_ascii=style % 2 == 0).encode()


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(p % (len(data) + 1) for p in points), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def true_depth(text: str) -> int:
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return depth


# -- _split and _columns ---------------------------------------------------------------------------------------------


@given(messages, st.integers(0, 4), st.data())
def test_split_json_array_cuts_whole_messages_off_a_prefix(items, style, data):
    text = array_text(items, style)
    begin = text.index(b"[") + 1
    size = data.draw(st.integers(begin, len(text)), label="received")
    buf = bytearray(text[:size])
    objects = data.draw(st.booleans(), label="objects")
    part = data.draw(st.none() | st.integers(1, 200), label="part size")
    split = _split_json_array(buf, begin, objects, part)
    if split is None:
        return
    got, seg, cutpos = split
    assert got and got == json.loads(b"[" + seg + b"]") == items[: len(got)]
    assert bytes(buf[begin:cutpos]) == seg + b","


@given(st.binary(max_size=300), st.booleans(), st.none() | st.integers(1, 100))
@example(b"[" * 2000 + b",", False, None)  # a message nested too deeply to parse: was RecursionError
@example(DEEP + b",", True, None)
def test_split_json_array_of_any_bytes_never_raises(data, objects, size):
    split = _split_json_array(bytearray(data), 0, objects, size)
    if split is not None:
        got, seg, cutpos = split
        assert got == json.loads(b"[" + seg + b"]")


@given(object_messages, st.integers(0, 4), st.integers(1, 400))
def test_proven_part_is_a_prefix_of_whole_messages(items, style, size):
    text = array_text(items, style)
    begin = text.index(b"[") + 1
    part = _proven_part(bytearray(text), begin, size)
    if part is not None:
        seg, cutpos = part
        assert json.loads(b"[" + seg + b"]") == items[: len(json.loads(b"[" + seg + b"]"))]
        assert text[begin:cutpos] == seg + b","


@given(messages, st.integers(0, 4))
def test_nesting_is_exact_or_unknown_at_every_cut(items, style):
    text = array_text(items, style)
    begin = text.index(b"[") + 1
    for i in range(begin, len(text) - 1):
        if text[i : i + 2] == b"},":
            depth = nesting(text[begin : i + 1])
            assert depth is None or depth == true_depth(text[begin : i + 1].decode())


@given(st.binary(max_size=200))
def test_nesting_of_any_bytes_never_raises(data):
    assert nesting(data) is None or isinstance(nesting(data), int)


@given(messages)
def test_columns_are_the_values_of_the_keys(items):
    cols = columns(items, KEYS)
    if not all(isinstance(m, dict) for m in items):
        assert cols is None
        return
    assert cols == {k: [m.get(k) for m in items] for k in KEYS if any(k in m for m in items)}


@given(st.binary(max_size=300) | messages.map(lambda items: array_text(items, 0)[1:-1]))
@example(DEEP)  # in the helper process a RecursionError ended the helper
def test_the_helpers_answer_never_raises(seg):
    answer = _answer(seg, KEYS)
    assert answer[0] in ("ok", "error")
    if answer[0] == "ok":
        assert answer[1] == len(json.loads(b"[" + seg + b"]"))


@given(st.lists(messages.map(lambda items: (items, array_text(items, 2))), min_size=1, max_size=4))
def test_joined_arrays_hold_every_message(parts):
    joined = _join_json_arrays([text for _, text in parts])
    assert json.loads(joined) == [m for items, _ in parts for m in items]


# -- one response, as the reader reads it ----------------------------------------------------------------------------


class Response:
    """What the reader uses of an httpx response: status, headers and the body in chunks."""

    def __init__(self, chunks: list[bytes], headers: dict[str, str], status: int = 200):
        self.status_code = status
        self.headers = httpx.Headers(headers)
        self._chunks = chunks

    def iter_bytes(self):
        yield from self._chunks

    iter_raw = iter_bytes


def reader(batch_bytes: int) -> StreamReader:
    return StreamReader("http://127.0.0.1:9/stream", client=object(), batch_bytes=batch_bytes)  # never sends


def read_response(resp: Response, batch_bytes: int = 16, skip: int = 0) -> list:
    s = _Session(offset="0001", initial="0001", skip=skip)
    s.content_type = "application/json"
    return list(reader(batch_bytes)._response_batches(s, resp, "0001"))


JSON_HEADERS = {"content-type": "application/json", "stream-next-offset": "0002"}


@given(messages, st.integers(0, 4), st.lists(st.integers(0, 10_000), max_size=8), st.integers(1, 80), st.data())
def test_a_json_body_in_any_chunks_gives_each_message_once(items, style, points, batch_bytes, data):
    text = array_text(items, style)
    skip = data.draw(st.integers(0, len(items)), label="skip")
    batches = read_response(Response(cut(text, points), JSON_HEADERS), batch_bytes, skip)
    assert [m for b in batches for m in b.items] == items[skip:]
    for b in batches:
        assert json.loads(b.data) == list(b.items)
        assert items[b.index : b.index + len(b.items)] == list(b.items)
    assert batches[-1].offset == "0002" and not batches[-1].partial


@given(
    st.binary(max_size=300) | messages.map(lambda items: array_text(items, 0)[:-1] + b"}"),
    st.lists(st.integers(0, 1000), max_size=6),
    st.integers(1, 80),
)
@example(b" ", [], 1)  # a body of whitespace: its batch's data was b" " (b"" says nothing was new)
@example(DEEP, [], 16)  # valid JSON too deep to parse: was RecursionError
@example(b"[" + DEEP + b"," + b"1" * 40 + b"]", [2500], 16)
@example(b'[{"a":1},' + DEEP, [], 4)
def test_a_json_body_of_any_bytes_raises_only_stream_errors(body, points, batch_bytes):
    try:
        batches = read_response(Response(cut(body, points), JSON_HEADERS), batch_bytes)
    except ParseError as exc:
        assert exc.offset == "0001" and exc.reason
        return
    for b in batches:
        assert json.loads(b.data) == list(b.items) if b.data else not b.items  # b"": nothing was new


@given(
    messages, st.sampled_from(["gzip", "deflate", "raw-deflate"]), st.lists(st.integers(0, 1000), max_size=6), st.data()
)
def test_a_compressed_body_in_any_chunks_or_cut_short(items, encoding, points, data):
    text = array_text(items, 1)
    wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
    compressor = zlib.compressobj(wbits=wbits)
    body = compressor.compress(text) + compressor.flush()
    headers = {**JSON_HEADERS, "content-encoding": "deflate" if encoding == "raw-deflate" else encoding}
    batches = read_response(Response(cut(body, points), headers))
    assert [m for b in batches for m in b.items] == items
    short = data.draw(st.integers(0, len(body) - 1), label="cut at")
    with pytest.raises(ParseError):
        read_response(Response(cut(body[:short], points), headers))
    # the same body, read whole (a response without Stream-Next-Offset in the headers' JSON path)
    s = _Session(offset="0001", initial="0001")
    assert reader(16)._read_body(s, Response([body], headers)) == text


@given(st.binary(max_size=200), st.sampled_from(["gzip", "deflate"]), st.lists(st.integers(0, 300), max_size=4))
def test_a_compressed_body_of_any_bytes_raises_only_stream_errors(body, encoding, points):
    headers = {**JSON_HEADERS, "content-encoding": encoding}
    try:
        read_response(Response(cut(body, points), headers))
    except StreamError:
        pass
    try:
        reader(16)._read_body(_Session(offset="0001", initial="0001"), Response([body], headers))
    except StreamError:
        pass


sse_payloads = st.one_of(
    messages.map(lambda items: array_text(items, 0)),
    messages.map(lambda items: b" " + array_text(items, 2) + b"\n"),
    st.binary(max_size=40),
    st.just(DEEP),
    st.just(b"\xef\xbb\xbf[1]"),  # a byte-order mark inside an event
    messages.map(lambda items: json.dumps(items).encode("utf-16")),
)
controls = st.one_of(
    st.fixed_dictionaries(
        {"streamNextOffset": st.sampled_from(["0002", "0003", "0000", "", "-1", "now"]) | st.text(max_size=4)},
        optional={
            "streamCursor": st.text(max_size=3) | st.integers(),
            "streamClosed": st.booleans(),
            "upToDate": st.booleans(),
        },
    ).map(lambda c: json.dumps(c).encode()),
    st.binary(max_size=40),
    st.just(DEEP),
)


@given(st.lists(st.tuples(st.sampled_from(["data", "control"]), sse_payloads | controls), max_size=8), st.booleans())
@example([("data", DEEP)], False)  # was RecursionError
@example([("control", DEEP)], False)
@example([("data", b"[1]"), ("data", b"\xef\xbb\xbf[2]"), ("control", b'{"streamNextOffset":"0002"}')], False)
@example([("data", b"[1]"), ("data", "[2]".encode("utf-16")), ("control", b'{"streamNextOffset":"0002"}')], False)
def test_sse_events_give_batches_whose_data_holds_their_items_or_stream_errors(events, b64):
    """The SSE path in JSON mode: data events are JSON arrays (base64 with the base64 encoding), a control
    event ends a batch with its offset."""
    import base64

    r = reader(16)
    s = _Session(offset="0001", initial="0001")
    s.content_type = "application/json"
    payloads: list[bytes] = []
    items: list = []
    try:
        for kind, data in events:
            if kind == "data":
                payloads.append(r._decode_sse_data(s, base64.b64encode(data) if b64 else data, b64, items))
            else:
                batch = r._batch_from_control(s, data, payloads, items, "0001")
                assert json.loads(batch.data) == list(batch.items) if batch.data else batch.items == []
                payloads, items = [], []
    except StreamError:
        pass
