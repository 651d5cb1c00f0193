"""Property-based tests (Hypothesis) of the SSE parser (wfctl/sse.py), which reads the Durable Streams live mode
and the workflow-runs v1 execute stream.

Properties: the events of a stream do not depend on how it is cut into chunks (byte by byte, at a CRLF, inside
the byte-order mark); they are those of a plain reading of the WHATWG event-stream format (written here, over
the whole stream at once); events written in the format with any line endings and comments read back as
written; the parser never raises and holds no more than it was fed. The budget: the Hypothesis profile
(tests/conftest.py; CONTRIBUTING.md, "Fuzzing").
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from wfctl.sse import SSEParser

TOKENS = [
    b"data:",
    b"data: ",
    b"data",
    b"event:",
    b"event: update",
    b"event:control",
    b": comment",
    b":",
    b"id: 7",
    b"retry: 10",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\r\r",
    b"\xef\xbb\xbf",
    b"\xef",
    b" ",
    b"x",
    b"{}",
    b"\xff\xfe",
    b"\xc3\xa9",
]
streams = st.lists(st.sampled_from(TOKENS) | st.binary(max_size=6), max_size=40).map(b"".join) | st.binary(max_size=200)


def reference(stream: bytes) -> list[tuple[str, bytes]]:
    """The WHATWG event-stream format over a whole stream (the part after the last line ending is not a line)."""
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    lines = re.split(rb"\r\n|\r|\n", stream)[:-1]
    events, event, data = [], b"", []
    for line in lines:
        if not line:
            if data:
                events.append((event.decode("utf-8", "replace") or "message", b"\n".join(data)))
            event, data = b"", []
        elif not line.startswith(b":"):
            name, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value
    return events


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(p % (len(data) + 1) for p in points), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def parse(chunks: list[bytes]) -> list[tuple[str, bytes]]:
    parser = SSEParser()
    events = []
    fed = 0
    for chunk in chunks:
        events += parser.feed(chunk)
        fed += len(chunk)
        assert 0 <= parser.pending_bytes <= fed
    return events


@given(streams, st.lists(st.integers(0, 1000), max_size=10))
@example(b"data: a\r\n\r\n", [8])  # a CRLF cut between its CR and LF
@example(b"\xef\xbb\xbfdata: a\n\n", [1, 2])  # the byte-order mark cut
@example(b"\xefdata: a\n\n", [1])  # a lone first byte of a byte-order mark
@example(b"data: a\r", [8, 8, 8])  # empty chunks after a final CR
def test_events_do_not_depend_on_chunk_boundaries(stream, points):
    whole = parse([stream])
    assert whole == reference(stream)
    assert parse(cut(stream, points)) == whole


@given(streams)
def test_byte_by_byte_equals_at_once(stream):
    assert parse([stream[i : i + 1] for i in range(len(stream))]) == parse([stream])


events = st.lists(
    st.tuples(
        st.sampled_from(["", "message", "data", "control", "é"]),
        st.lists(
            st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), min_size=1, max_size=3
        ),
    ),
    max_size=5,
)


@given(events, st.sampled_from([b"\n", b"\r", b"\r\n"]), st.booleans(), st.lists(st.integers(0, 1000), max_size=6))
def test_written_events_read_back(written, eol, comments, points):
    out = b""
    for event, lines in written:
        if comments:
            out += b": keep-alive" + eol
        if event:
            out += b"event: " + event.encode() + eol
        for line in lines:
            out += b"data: " + line + eol
        out += eol
    expected = [(event or "message", b"\n".join(lines)) for event, lines in written]
    assert parse(cut(out, points)) == expected
