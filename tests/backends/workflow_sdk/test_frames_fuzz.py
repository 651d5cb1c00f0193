"""Property-based tests (Hypothesis) of the frame readers: the Workflow SDK's stream chunk frames
(wfctl/backends/workflow_sdk/streams.py, :class:`StreamDecoder`: ``[u32be length][payload]``, a frame may span
chunks, or legacy newline-delimited devalue text) and the Vercel world's v4 event frames
(wfctl/backends/workflow_sdk/vercel.py: ``u32be metaLen | CBOR meta | u32be bodyLen | body``), and the stream
offsets and names ``tail --stream`` reads.

Properties: frames cut at any chunk boundaries decode to the values the whole stream holds; whatever bytes a
stream holds, the decoder returns strict JSON values and never raises; the v4 reader raises only the
``ValueError`` its caller turns into an exit-5 line, and reads back what :func:`encode_frame` wrote. The budget:
the Hypothesis profile (tests/conftest.py; CONTRIBUTING.md, "Fuzzing").
"""

from __future__ import annotations

import json
import struct
from datetime import timedelta, timezone

import cbor2
from hypothesis import example, given
from hypothesis import strategies as st

from tests.backends.workflow_sdk.test_values_fuzz import json_values, strict_json, stringify
from wfctl.backends.workflow_sdk import streams
from wfctl.backends.workflow_sdk.streams import StreamDecoder, chunk_offset, decode_stream_chunk
from wfctl.backends.workflow_sdk.vercel import decode_frames, encode_frame, event_from_frame


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def devl(value) -> bytes:
    return b"devl" + json.dumps(stringify(value)).encode()


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` cut at the given positions (any order, repeats allowed: empty chunks)."""
    bounds = [0, *sorted(p % (len(data) + 1) for p in points), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def decode_chunks(chunks: list[bytes]) -> list:
    decoder = StreamDecoder()
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


# -- stream chunk frames -------------------------------------------------------------------------------------------


@given(st.lists(json_values, max_size=6), st.lists(st.integers(0, 10_000), max_size=12))
@example([1], [1])  # a chunk of 1-3 bytes at the start of a frame: was returned as {"$bytes"} and the rest lost
@example([1, "two"], [13, 14])
def test_frames_cut_at_any_chunk_boundaries_decode_to_the_same_values(items, points):
    data = b"".join(frame(devl(v)) for v in items)
    assert decode_stream_chunk(data) == items
    assert decode_chunks(cut(data, points)) == items


@given(st.lists(json_values, min_size=1, max_size=4))
def test_frames_fed_byte_by_byte(items):
    data = b"".join(frame(devl(v)) for v in items)
    assert decode_chunks([data[i : i + 1] for i in range(len(data))]) == items


@given(st.lists(json_values, min_size=1, max_size=6))
def test_legacy_chunks_of_devalue_lines(items):
    """The legacy format: each chunk newline-delimited devalue text, self-contained."""
    lines = [json.dumps(stringify(v)).encode() for v in items]
    assert decode_stream_chunk(b"\n".join(lines) + b"\n") == items
    assert decode_chunks([line + b"\n" for line in lines]) == items


@given(
    st.lists(st.binary(max_size=40) | st.sampled_from([b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x05devl"]), max_size=8)
)
@example([b"\x00\x00\x00"])
@example([b"\x05\xf5\xe0\xff"])  # a length just under the bound: waits for more, then flushes as bytes
@example([b"\xff\xff\xff\xff\x00"])
def test_any_chunks_decode_to_strict_json_without_raising(chunks):
    for value in decode_chunks(chunks):
        strict_json(value)


def test_many_frames_in_one_chunk_decode_in_linear_time():
    """100,000 frames in one chunk: each frame is read in place (cutting the rest off after every frame copied
    the buffer once per frame)."""
    import time

    data = frame(b"devl[1]") * 100_000
    started = time.process_time()
    assert decode_stream_chunk(data) == [1] * 100_000
    assert time.process_time() - started < 10  # ~0.3 s; quadratic copying took minutes


# -- stream offsets and names --------------------------------------------------------------------------------------


@given(st.text(max_size=40) | st.builds(lambda a, b: f"chnk_{a}#{b}", st.text(max_size=30), st.text(max_size=30)))
@example("chnk_01ARZ3NDEKTSV4RRFFQ69G5FAV#²")  # a digit int() cannot read: was ValueError
@example("chnk_01ARZ3NDEKTSV4RRFFQ69G5FAV#" + "9" * 5000)  # beyond int()'s 4300 digits: was ValueError
@example("chnk_01ARZ3NDEKTSV4RRFFQ69G5FAV#٣")
def test_chunk_offsets_never_raise(offset):
    parsed = chunk_offset(offset)
    if offset:
        assert parsed is not None and parsed[0] == offset.partition("#")[0] and parsed[1] >= 0
    else:
        assert parsed is None


@given(st.integers(0, 10**9))
def test_chunk_offset_round_trip(k):
    assert chunk_offset(f"chnk_X#{k}") == ("chnk_X", k)


@given(st.text(max_size=30), st.text(max_size=40))
def test_stream_names_and_namespaces(namespace, name):
    run_id = "wrun_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    assert streams.stream_namespace(run_id, streams.stream_name(run_id, namespace)) == (namespace or None)
    streams.stream_namespace(run_id, name)  # never raises
    streams.stream_namespace(run_id, streams.stream_base(run_id) + "_" + name)


# -- Vercel v4 event frames ----------------------------------------------------------------------------------------

_tz = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60))
metas = st.dictionaries(
    st.sampled_from(["eventType", "eventId", "runId", "correlationId", "createdAt", "eventData", "x"]),
    st.none()
    | st.text(max_size=12)
    | st.integers()
    | st.sampled_from(["run_created", "step_completed", "run_failed", "step_failed", "hook_received", "wait_created"])
    | st.datetimes(timezones=st.just(timezone.utc))
    | st.dictionaries(st.text(max_size=6), st.text(max_size=6) | st.binary(max_size=10), max_size=3),
    max_size=6,
).filter(lambda m: m.get("_end") != 1)


@given(
    st.lists(st.tuples(metas, st.binary(max_size=60)), max_size=5),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
def test_v4_frames_read_back_what_encode_frame_wrote(frames, end):
    end = {**end, "_end": 1}
    data = b"".join(encode_frame(meta, body) for meta, body in frames) + encode_frame(end)
    read, sentinel = decode_frames(data)
    assert sentinel == end
    assert [body for _, body in read] == [body for _, body in frames]
    assert [sorted(meta) for meta, _ in read] == [sorted(meta) for meta, _ in frames]
    # cut anywhere before the end frame is complete: no sentinel, or a ValueError (exit 5 for the caller)
    for size in range(0, len(data), max(1, len(data) // 7)):
        try:
            _, sentinel = decode_frames(data[:size])
        except ValueError:
            continue
        assert sentinel is None


@given(st.lists(st.tuples(metas, st.binary(max_size=60)), max_size=4))
def test_v4_frames_decode_to_events(frames):
    data = b"".join(encode_frame(meta, body) for meta, body in frames) + encode_frame({"_end": 1})
    for meta, body in decode_frames(data)[0]:
        event_from_frame(meta, body)


@given(
    st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda meta, body: frame(meta) + frame(body),
            st.binary(max_size=30) | st.sampled_from([b"\x1c", b"\x81", b"\xff", b"\xd8\x01\x63abc"]),
            st.binary(max_size=20),
        ),
    )
)
@example(frame(b"\x1c") + frame(b""))
def test_v4_frames_of_any_bytes_raise_only_value_error(data):
    try:
        decode_frames(data)
    except ValueError:
        pass


@given(st.binary(max_size=200))
def test_v4_frame_meta_from_any_cbor_map_makes_an_event(data):
    try:
        meta = cbor2.loads(data)
    except Exception:  # noqa: BLE001 - only maps cbor2 reads are of interest here
        return
    if isinstance(meta, dict):
        event_from_frame(meta, data)
