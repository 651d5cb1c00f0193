"""Flue event blocks: the ``-o jsonl`` fast path of ``wfctl tail``.

When the caller takes blocks (``TailRequest.batches``), the Flue backend checks a whole stream batch column by
column (:func:`wfctl.backends.flue._event_block`) and yields one :class:`FlueEventBatch`, whose JSON lines
carry each event's own JSON text as ``data``. These tests hold it to the event-by-event path: the same events,
the same JSON documents, the same offsets and stop rules, and a fall back to that path whenever a batch needs
it (repeats, other runs, a version warning, text that cannot be split provably). The end-to-end tests read
the Durable Streams reference server through the CLI and compare ``-o jsonl`` (blocks) with ``-o json``
(events one by one).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.doubles.ds_server import require_server
from wfctl.backends.flue import FlueEventBatch, _event_block, _raw_objects, _Seen
from wfctl.output import to_json_text
from wfctl.render.flue import batch_lines

RUN = "run_blocks"
TS = "2026-11-22T04:20:58.479Z"


def log(i: int, **extra: Any) -> dict:
    return {
        "type": "log",
        "level": "info",
        "message": f"m{i}",
        "runId": RUN,
        "v": 3,
        "eventIndex": i,
        "timestamp": TS,
        **extra,
    }


def compact(items: list[Any]) -> bytes:
    """The array text a JavaScript server sends (JSON.stringify of each message, joined by commas)."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


def block_of(
    items: list[Any],
    data: bytes | None = None,
    *,
    offsets: list[str] | None = None,
    start: str = "0_0",
    end: str = "0_9",
    types: frozenset[str] | None = None,
    seen: _Seen | None = None,
    check_version: bool = True,
):
    return _event_block(
        RUN, items, compact(items) if data is None else data, offsets, start, end, types, seen or _Seen(), check_version
    )


def event_lines(batch: FlueEventBatch) -> str:
    """The lines the event-by-event path writes for the same events."""
    return "".join(to_json_text({"kind": "event", **e.to_json()}) + "\n" for e in batch.events())


def docs(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_batch_of_logs_is_one_block_with_the_event_paths_bytes():
    items = [log(i) for i in range(5)]
    block, run_end = block_of(items)
    assert run_end is None and len(block) == 5 and block.raw is not None
    lines = batch_lines(block)
    assert lines == event_lines(block)  # JSON.stringify text is wfctl's compact text, byte for byte
    got = docs(lines)
    assert [d["data"] for d in got] == items
    assert [d["offset"] for d in got] == ["0_0"] * 4 + ["0_9"]  # the batch's start, its end on the last
    assert block.last_offset == "0_9"
    assert {d["time"] for d in got} == {TS} and {d["stepId"] for d in got} == {None}
    events = block.events()
    assert [e.index for e in events] == list(range(5)) and [e.batch_end for e in events] == [False] * 4 + [True]


def test_exact_offsets_are_kept():
    items = [log(i) for i in range(3)]
    block, _ = block_of(items, offsets=["0_1", "0_2", "0_3"])
    assert [d["offset"] for d in docs(batch_lines(block))] == ["0_1", "0_2", "0_3"]
    assert block.last_offset == "0_3"


@pytest.mark.parametrize(
    "items,why",
    [
        ([log(0, message="a},{b"), log(1)], "a '},{' inside a string"),
        ([log(0, messages=[{"a": 1}, {"b": 2}]), log(1)], "an array of objects inside a message"),
        ([log(0, message='},{"type":"log"'), log(1), log(2)], "a forged boundary inside a string"),
    ],
)
def test_text_that_cannot_be_split_provably_is_encoded_again(items, why):
    block, _ = block_of(items)
    assert block.raw is None, why
    assert [d["data"] for d in docs(batch_lines(block))] == items
    assert batch_lines(block) == event_lines(block)


def test_whitespace_between_messages_is_fine_but_line_breaks_are_not():
    items = [log(0), log(1), log(2)]
    spaced = b"[" + b" , ".join(compact([i])[1:-1] for i in items) + b"]"
    block, _ = block_of(items, spaced)
    assert block.raw is not None and [d["data"] for d in docs(batch_lines(block))] == items
    pretty = json.dumps(items, indent=2).encode()
    block, _ = block_of(items, pretty)
    assert block.raw is None and len(batch_lines(block).splitlines()) == 3
    assert _raw_objects(b"[]", 0) is None and _raw_objects(b"[1,2]", 2) is None


def test_data_is_the_message_as_the_server_sent_it():
    # a producer that spaced its JSON: the text is passed through (same JSON value)
    item = log(0)
    text = json.dumps([item]).encode()  # ", " and ": "
    block, _ = block_of([item], text)
    line = batch_lines(block)
    assert '"data":{"type": "log"' in line and docs(line)[0]["data"] == item


def test_hostile_text_is_escaped_in_passed_through_data():
    item = log(0, message="\x1b]0;pwned\x07 \u009b31m \u202eevil \u2028")
    block, _ = block_of([item])
    line = batch_lines(block)
    assert block.raw is not None
    for raw in ("\x1b", "\x07", "\u009b", "\u202e", "\u2028"):
        assert raw not in line
    assert "\\u009b" in line and "\\u202e" in line and "\\u2028" in line
    assert docs(line)[0]["data"] == item
    assert line == event_lines(block)


@pytest.mark.parametrize(
    "items,seen,reason",
    [
        ([log(0), log(0)], None, "a repeat inside the batch"),
        ([log(5), log(6)], {5}, "an event seen before"),
        ([log(0), {**log(1), "runId": "run_other"}], None, "an event of another run"),
        ([log(0), {k: v for k, v in log(1).items() if k != "eventIndex"}], None, "an event without an index"),
        ([log(0), {**log(1), "v": 4}], None, "a version to warn about"),
        ([log(0), ["not", "an", "object"]], None, "a message that is not an object"),
        ([log(0), {**log(1), "eventIndex": [1]}], None, "an unhashable index"),
    ],
)
def test_batches_that_need_the_event_by_event_path_are_left_alone(items, seen, reason):
    window = _Seen()
    for key in seen or ():
        window.add(key)
    before = (set(window.current), set(window.previous))
    assert block_of(items, seen=window) is None, reason
    assert (window.current, window.previous) == before, "nothing is remembered"


def test_version_is_checked_until_warned_once():
    items = [log(0), {**log(1), "v": 4}]
    assert block_of(items, check_version=False) is not None
    no_version = [{k: v for k, v in log(i).items() if k != "v"} for i in range(2)]
    assert block_of(no_version) is not None  # FlueEvents without "v" are not warned about


def test_blocks_remember_their_keys():
    window = _Seen(size=4)
    assert block_of([log(0), log(1)], seen=window) is not None
    assert block_of([log(1), log(2)], seen=window) is None
    assert block_of([log(2), log(3)], seen=window) is not None
    assert window.previous == {0, 1, 2, 3} and window.current == set()  # a full generation is rotated


def test_run_end_stops_the_block_and_what_follows_is_not_shown_or_remembered():
    end = {
        "type": "run_end",
        "runId": RUN,
        "isError": False,
        "result": {"ok": True},
        "v": 3,
        "eventIndex": 2,
        "timestamp": TS,
    }
    items = [log(0), log(1), end, log(3)]
    window = _Seen()
    block, run_end = block_of(items, seen=window)
    assert run_end == end and [e.type for e in block.events()] == ["log", "log", "run_end"]
    # the run_end is not the batch's last message: every event carries the start offset
    assert [d["offset"] for d in docs(batch_lines(block))] == ["0_0"] * 3
    assert 3 not in window.current
    filtered, run_end = block_of(items, types=frozenset({"log"}), seen=_Seen())
    assert run_end == end and [d["index"] for d in docs(batch_lines(filtered))] == [0, 1]


def test_type_filter_keeps_offsets_of_the_events_kept():
    items = [log(0), {**log(1), "type": "idle"}, log(2), {**log(3), "type": "idle"}]
    block, _ = block_of(items, types=frozenset({"log"}))
    got = docs(batch_lines(block))
    assert [d["index"] for d in got] == [0, 2] and [d["offset"] for d in got] == ["0_0", "0_0"]
    block, _ = block_of(items, types=frozenset({"idle"}))
    assert [d["offset"] for d in docs(batch_lines(block))] == ["0_0", "0_9"]
    block, _ = block_of(items, types=frozenset({"tool"}))
    assert len(block) == 0 and batch_lines(block) == ""


def test_step_ids_names_and_times():
    items = [
        {
            "type": "tool_start",
            "toolCallId": "call_1",
            "toolName": "bash",
            "args": {},
            "runId": RUN,
            "v": 3,
            "eventIndex": 0,
            "timestamp": "2026-11-22T05:20:58.4791+01:00",
        },
        {"type": "task", "taskId": "t1", "agent": "helper", "runId": RUN, "v": 3, "eventIndex": 1},
        {"type": "turn", "turnId": "turn_7", "runId": RUN, "v": 3, "eventIndex": 2, "timestamp": TS},
        log(3),
    ]
    block, _ = block_of(items)
    events = block.events()
    assert [(e.stepId, e.stepName) for e in events] == [
        ("call_1", "bash"),
        ("t1", "helper"),
        ("turn_7", None),
        (None, None),
    ]
    got = docs(batch_lines(block))
    assert [d["stepId"] for d in got] == ["call_1", "t1", "turn_7", None]
    assert [d["time"] for d in got] == ["2026-11-22T04:20:58.479Z", None, TS, TS]
    assert batch_lines(block) == event_lines(block)


# ----------------------------------------------------------------------------------------------------------
# end to end: the reference server, the CLI, blocks against events one by one
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ds():
    yield from require_server(long_poll_timeout_ms=300)


def tricky(run_id: str, i: int, every: int = 97) -> dict:
    """Of every ``every`` messages, three are ones the fast path must not split, or must escape."""
    event = {
        "type": "log",
        "level": "info",
        "message": f"m{i}",
        "runId": run_id,
        "v": 3,
        "eventIndex": i,
        "timestamp": TS,
    }
    kind = i % every
    if kind == 1:
        event["message"] = "a},{b \u202e\u009b"
    elif kind == 2:
        event.update(type="tool", toolCallId=f"c{i}", toolName="bash", result=[{"x": 1}, {"y": "é"}])
    elif kind == 3:
        event["attributes"] = {"big": 12345678901234567890, "f": 0.1, "neg": -0.0, "t": True}
    return event


def test_jsonl_blocks_match_events_one_by_one_on_the_reference_server(cli, ds, monkeypatch):
    from wfctl.backends import flue

    split: list[bool] = []

    def raw_objects(data: bytes, n: int) -> list[str] | None:
        pieces = real(data, n)
        split.append(pieces is not None)
        return pieces

    real = flue._raw_objects
    monkeypatch.setattr(flue, "_raw_objects", raw_objects)
    from wfctl.durable_streams import _columns as json_columns

    sent: list[bool] = []  # parts decoded by the helper process (True) or, with no room there, here
    real_submit = json_columns.ColumnHelper.submit
    monkeypatch.setattr(
        json_columns.ColumnHelper, "submit", lambda self, seg: sent.append(real_submit(self, seg)) or sent[-1]
    )
    path = ds.new_path("/v1/stream/runs/")
    run_id = path.rsplit("/", 1)[1]
    ds.create(path)
    total = 30_000  # ~4 MB: one response delivered in many partial batches
    for start in range(0, total, 5_000):
        ds.append_json(path, [tricky(run_id, i, every=4_999) for i in range(start, start + 5_000)])
    ds.append_json(
        path,
        {
            "type": "run_end",
            "runId": run_id,
            "isError": False,
            "result": None,
            "v": 3,
            "eventIndex": total,
            "timestamp": TS,
        },
        close=True,
    )
    url = f"{ds.url}/v1/stream/runs/{{runId}}"
    lines = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "jsonl")
    assert lines.exit_code == 0, lines.stderr
    assert split.count(True) > 10 and split.count(False) >= 6, "both ways of writing data were taken"
    from wfctl.durable_streams._columns import _cpus

    if _cpus() >= 2:  # (one CPU: no helper)
        assert sent and sent[0], "the helper process decoded parts (the first one always goes there)"
    whole = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "json")
    assert whole.exit_code == 0, whole.stderr
    got = [json.loads(line) for line in lines.stdout.splitlines()]
    doc = json.loads(whole.stdout)
    assert [d for d in got if d["kind"] == "event"] == [{"kind": "event", **d} for d in doc["items"]]
    assert [d["index"] for d in doc["items"]] == list(range(total + 1))
    assert got[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": doc["offset"]}
    for raw in ("\u202e", "\u009b"):
        assert raw not in lines.stdout
    # a printed offset resumes after it, with nothing lost and nothing repeated
    middle = got[total // 2]
    rest = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "jsonl", "--offset", middle["offset"])
    indexes = [d["index"] for d in map(json.loads, rest.stdout.splitlines()) if d["kind"] == "event"]
    assert indexes == sorted(indexes) and indexes[-1] == total and indexes[0] <= middle["index"] + 1
    # --type through parts decoded by the helper: the lines are those of the whole stream, filtered
    tools = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "jsonl", "--type", "tool")
    assert [json.loads(line) for line in tools.stdout.splitlines()][:-1] == [
        d for d in got if d["kind"] == "event" and d["type"] == "tool"
    ]


def test_type_filter_and_last_through_blocks(cli, ds):
    path = ds.new_path("/v1/stream/runs/")
    run_id = path.rsplit("/", 1)[1]
    ds.create(path)
    ds.append_json(path, [tricky(run_id, i) for i in range(300)])
    url = f"{ds.url}/v1/stream/runs/{{runId}}"
    r = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "jsonl", "--type", "tool")
    assert [d["index"] for d in map(json.loads, r.stdout.splitlines()) if d["kind"] == "event"] == [2, 99, 196, 293]
    r = cli("--backend", "flue", "--url", url, "tail", run_id, "-o", "jsonl", "--last", "3")
    assert [d["index"] for d in map(json.loads, r.stdout.splitlines()) if d["kind"] == "event"] == [297, 298, 299]


def test_keys_written_with_escapes_are_still_found():
    items = [{k: v for k, v in log(i).items() if k not in ("runId", "timestamp")} for i in range(3)]
    items[1]["runId"] = "run_other"
    escaped = compact(items).replace(b'"runId"', b'"\\u0072unId"')
    assert b'"runId"' not in escaped
    assert block_of(items, escaped) is None  # another run's event, though its key is spelled with an escape
    items[1]["runId"] = RUN
    items[2]["timestamp"] = TS
    escaped = compact(items).replace(b'"runId"', b'"\\u0072unId"').replace(b'"timestamp"', b'"\\u0074imestamp"')
    block, _ = block_of(items, escaped)
    assert [d["time"] for d in docs(batch_lines(block))] == [None, None, TS]
