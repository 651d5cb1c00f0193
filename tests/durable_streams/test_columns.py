"""Tests of wfctl.durable_streams._columns (the top-level check of a cut, columns, the helper process) and of the
stream reader's ``columns`` mode against the Durable Streams reference server: large JSON answers decoded
on the helper process give the same messages, offsets and order as decoding them here, survive cut and
damaged bodies, and survive the helper dying mid-answer."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.ds_server import require_server, wait_for
from wfctl.durable_streams import Backoff, ParseError, StreamReader  # noqa: E402
from wfctl.durable_streams._columns import ColumnHelper, _cpus, columns, nesting  # noqa: E402
from wfctl.durable_streams._split import _proven_part  # noqa: E402

KEYS = ("runId", "eventIndex", "v", "type", "timestamp", "toolCallId")


# ----------------------------------------------------------------------------------------------------------
# nesting: the cheap top-level check
# ----------------------------------------------------------------------------------------------------------


def _true_depth(text: str) -> int:
    """Open containers at the end of ``text`` (a valid JSON prefix), by a plain scanner."""
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


def _messages(seed: int, n: int, brackets: bool) -> list[Any]:
    rnd = random.Random(seed)
    pieces = ["a", "b c", "é", "✓", "\\", '"', "\\\\", '\\"', "\n", ",", ":", "\u2028"]
    if brackets:
        pieces += ["{", "}", "[", "]", "},{"]

    def value(level: int) -> Any:
        kind = rnd.randrange(6 if level < 3 else 3)
        if kind == 0:
            return rnd.randrange(-5, 10**6)
        if kind == 1:
            return "".join(rnd.choice(pieces) for _ in range(rnd.randrange(4)))
        if kind == 2:
            return rnd.choice([None, True, False, 1.5])
        if kind == 3:
            return [value(level + 1) for _ in range(rnd.randrange(3))]
        return {f"k{j}": value(level + 1) for j in range(rnd.randrange(3))}

    return [{"eventIndex": i, "type": "log", "data": value(0)} for i in range(n)]


@pytest.mark.parametrize("seed", range(12))
def test_nesting_is_exact_or_unknown_at_every_cut(seed):
    """At every "}," of a JSON array text, nesting() is either None or the true depth (0: the text before
    is a sequence of whole messages); it is never wrong, with escapes, brackets and quotes in strings."""
    brackets = seed % 2 == 1  # brackets inside strings: the check may not decide
    msgs = _messages(seed, 40, brackets)
    text = json.dumps(msgs, ensure_ascii=seed % 4 < 2, separators=(",", ":"))
    data = text.encode()
    known = 0
    for i in range(1, len(data) - 1):
        if data[i : i + 2] != b"},":
            continue
        seg = data[1 : i + 1]
        depth = nesting(seg)
        if depth is not None:
            known += 1
            assert depth == _true_depth(seg.decode()), seg[-80:]
            if depth == 0:
                assert json.loads(b"[" + seg + b"]") == msgs[: len(json.loads(b"[" + seg + b"]"))]
    if not brackets:
        assert known == text.count("},")  # without brackets in strings it decides every cut


def test_nesting_cases():
    assert nesting(b'{"a":1},{"b":2}') == 0
    assert nesting(b'{"a":{"b":1}') == 1
    assert nesting(b'{"a":[{"b":1}') == 2
    assert nesting(b'{"s":"x\\"y","t":"\\\\"}') == 0  # escaped quote, escaped backslash before a quote
    assert nesting(b'{"s":"}","a":{"b":1}') is None  # a bracket inside a string: cannot tell
    assert nesting(b'{"s":"\\u007d"}') == 0  # an escaped bracket is no bracket


def test_columns():
    items = [{"eventIndex": 1, "type": "log", "v": 3}, {"eventIndex": 2, "type": None}, {"runId": "r"}]
    assert columns(items, KEYS) == {
        "runId": [None, None, "r"],
        "eventIndex": [1, 2, None],
        "v": [3, None, None],
        "type": ["log", None, None],
    }
    assert columns([{"a": 1}, 2], KEYS) is None
    assert columns([{"a": 1}, "ab"], KEYS) is None
    assert columns([], KEYS) == {}


# ----------------------------------------------------------------------------------------------------------
# the helper process
# ----------------------------------------------------------------------------------------------------------


def _seg(items: list[Any]) -> bytes:
    return json.dumps(items, separators=(",", ":")).encode()[1:-1]


def test_helper_answers_in_order_and_reports_damage():
    parts = [[{"eventIndex": i + 10 * k, "type": f"t{k}"} for i in range(10)] for k in range(5)]
    with ColumnHelper(KEYS, depth=8, min_cpus=1) as helper:
        for part in parts:
            assert helper.submit(_seg(part))
        assert helper.submit(b'{"eventIndex":1},{"eventIndex":')  # damaged
        assert helper.pending == 6
        for part in parts:
            seg, answer = helper.result()
            assert seg == _seg(part)
            assert answer == ("ok", 10, columns(part, KEYS))
        seg, answer = helper.result()
        assert answer[0] == "error" and "Expecting value" in answer[1]
        assert helper.pending == 0
        proc = helper._proc
    assert proc.poll() is not None  # closed: the process has ended
    assert helper.max_rss and 1 << 20 < helper.max_rss < 1 << 30  # its peak memory, reported at the end


def test_helper_takes_at_most_depth_parts():
    with ColumnHelper(KEYS, depth=2, min_cpus=1) as helper:
        assert helper.submit(b'{"eventIndex":1}') and helper.submit(b'{"eventIndex":2}')
        assert not helper.submit(b'{"eventIndex":3}')  # the caller decodes this one itself
        wait_for(helper.ready, timeout=10, message="the first answer")
        assert helper.result()[1] == ("ok", 1, {"eventIndex": [1]})


def test_helper_that_dies_gives_its_parts_back():
    with ColumnHelper(KEYS, depth=8, min_cpus=1) as helper:
        assert helper.submit(b'{"eventIndex":1}')
        assert helper.result()[1] == ("ok", 1, {"eventIndex": [1]})
        assert helper.submit(b'{"eventIndex":2}')
        os.kill(helper._proc.pid, signal.SIGKILL)
        helper._proc.wait()
        assert not helper.submit(b'{"eventIndex":3}') and helper.broken  # the caller decodes it
        assert helper.ready()
        seg, answer = helper.result()  # answered before the end, or given back
        assert seg == b'{"eventIndex":2}' and answer in (None, ("ok", 1, {"eventIndex": [2]}))
        assert helper.pending == 0 and not helper.ready()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_no_helper_on_one_cpu():
    """Pinned to one CPU, the parts are decoded in-process: a helper would only add work."""
    import subprocess

    code = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "from wfctl.durable_streams._columns import ColumnHelper; h = ColumnHelper(('a',)); "
        "print(h.broken, h.submit(b'{}'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


# ----------------------------------------------------------------------------------------------------------
# the reader's columns mode, on the reference server
# ----------------------------------------------------------------------------------------------------------

FAST = Backoff(initial=0.01, multiplier=2.0, max_delay=0.2)


@pytest.fixture(scope="module")
def server():
    yield from require_server()


def nested_events(n: int) -> list[dict]:
    """Nested objects (inner "}," before most cuts), escapes and non-ASCII, no bracket inside a string:
    the cheap check decides every cut."""
    return [
        {
            "type": "tool" if i % 3 else "log",
            "eventIndex": i,
            "v": 3,
            "toolCallId": f"c{i // 3}",
            "message": f'tick {i} "q" \\ é ✓',
            "attributes": {
                "n": {"x": i},
                "list": [{"a": 1}, {"b": i}],
                "h": hashlib.sha256(str(i).encode()).hexdigest(),
            },
        }
        for i in range(n)
    ]


def new_stream(server, events: list[dict]) -> str:
    path = server.new_path()
    assert server.create(path, content_type="application/json").status_code == 201
    server.append_json(path, events)
    return path


def read_all(server, path: str, cols: Any, rereads: list | None = None, **kw: Any) -> tuple[list, list]:
    """Read the whole stream; with ``rereads`` (a list), a ParseError is recorded there and the stream read
    again from its offset, skipping the messages it says were delivered (as ``wfctl tail`` does)."""
    batches = []
    kw.setdefault("batch_bytes", 4096)
    with StreamReader(server.stream_url(path), backoff=FAST, **kw) as r:
        offset, skip = "-1", 0
        while True:
            gen = r.read(offset, None, columns=cols, skip=skip)
            try:
                for batch in gen:
                    batches.append(batch)
                break
            except ParseError as e:
                if rereads is None or len(rereads) >= 5:
                    raise
                rereads.append(e)
                offset, skip = e.offset, e.delivered
            finally:
                gen.close()
    items = [item for b in batches for item in (b.items or [])]
    return items, batches


@pytest.mark.live
def test_columns_mode_reads_the_same_stream(server, monkeypatch):
    from wfctl.durable_streams import _columns as ds

    events = nested_events(3000)
    path = new_stream(server, events)
    submitted = []
    original = ColumnHelper.submit
    monkeypatch.setattr(ds.ColumnHelper, "submit", lambda self, seg: submitted.append(len(seg)) or original(self, seg))
    plain_items, plain = read_all(server, path, None)
    items, batches = read_all(server, path, KEYS)
    assert items == plain_items == events
    assert [(b.offset, b.partial, b.index, len(b.items)) for b in batches] == [
        (b.offset, b.partial, b.index, len(b.items)) for b in plain
    ]
    assert [b.data for b in batches] == [b.data for b in plain]
    with_columns = [b for b in batches if b.columns is not None]
    if _cpus() >= 2:  # (on one CPU there is no helper: everything is decoded here)
        assert submitted and with_columns  # the helper decoded parts
    for b in with_columns:
        assert b.columns == columns(json.loads(b.data), KEYS)


@pytest.mark.live
def test_columns_mode_reads_strings_with_brackets(server):
    """Texts the cheap check cannot decide (brackets inside strings) are cut by parsing, as without it."""
    events = [
        {"eventIndex": i, "type": "log", "message": f"}},{{ [{i}] {{", "a": {"b": [{"c": i}]}} for i in range(2000)
    ]
    path = new_stream(server, events)
    items, batches = read_all(server, path, KEYS)
    assert items == events
    assert len(batches) > 5


@pytest.mark.live
@pytest.mark.parametrize(
    "fault",
    [
        {"truncateBodyBytes": 30_000, "count": 1},
        {"corruptBody": True, "count": 1},
        {"dropConnection": True, "count": 1},
    ],
    ids=["cut", "corrupt", "drop"],
)
def test_columns_mode_survives_faults(server, fault):
    """A dropped connection is retried by the reader; a damaged body (cut with valid framing, or corrupted)
    is a ParseError after which the caller reads again, skipping what it has."""
    events = nested_events(3000)
    path = new_stream(server, events)
    server.inject_fault(path, method="GET", **fault)
    rereads: list = []
    items, batches = read_all(server, path, KEYS, rereads=rereads)
    assert items == events  # everything, in order, nothing twice
    assert len(rereads) == (0 if "dropConnection" in fault else 1)


@pytest.mark.live
def test_columns_mode_persistent_damage_is_a_parse_error(server):
    events = nested_events(3000)
    path = new_stream(server, events)
    server.inject_fault(path, method="GET", truncateBodyBytes=40_000, count=50)
    delivered: list = []
    with StreamReader(server.stream_url(path), backoff=FAST, batch_bytes=4096, max_retries=5) as r:
        with pytest.raises(ParseError) as e:
            for batch in r.read("-1", None, columns=KEYS):
                delivered.extend(batch.items)
    assert delivered == events[: len(delivered)]  # a prefix, once
    assert (e.value.offset, e.value.delivered) == ("-1", len(delivered))


@pytest.mark.live
def test_columns_mode_survives_the_helper_dying(server, monkeypatch):
    """The helper is killed after a few parts: the parts it held are decoded here, nothing is lost."""
    from wfctl.durable_streams import _columns as ds

    events = nested_events(3000)
    path = new_stream(server, events)
    original = ColumnHelper.submit
    count = [0]

    def submit(self, seg):
        count[0] += 1
        if count[0] == 5 and self._proc is not None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        return original(self, seg)

    monkeypatch.setattr(ds.ColumnHelper, "submit", submit)
    items, _ = read_all(server, path, KEYS)
    assert count[0] >= 5 or _cpus() < 2
    assert items == events


def test_proven_part_tries_earlier_cuts():
    msgs = nested_events(50)
    text = bytearray(json.dumps(msgs, ensure_ascii=False, separators=(",", ":")).encode())
    for size in range(200, 3000, 37):
        part = _proven_part(text, 1, size)
        if part is None:
            continue
        seg, cut = part
        got = json.loads(b"[" + seg + b"]")
        assert got == msgs[: len(got)] and text[cut - 1 : cut] == b","


@pytest.mark.live
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc (Linux)")
def test_ctrl_c_ends_wfctl_and_its_helper(server, tmp_path):
    """Ctrl-C on ``wfctl tail --live -o jsonl`` during a large catch-up: wfctl exits 130 and its helper
    process does not outlive it."""
    import subprocess
    import threading

    if _cpus() < 2:
        pytest.skip("no helper process on one CPU")
    path = new_stream(server, nested_events(30_000))
    url = f"{server.url}{path.rsplit('/', 1)[0]}/{{runId}}"
    env = {**os.environ, "NO_COLOR": "1", "WFCTL_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from wfctl.cli import main; main()",
            "--backend",
            "flue",
            "--url",
            url,
            "tail",
            path.rsplit("/", 1)[1],
            "--live",
            "-o",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    lines = [0]

    def drain() -> None:
        for _ in proc.stdout:
            lines[0] += 1

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        helper = int(
            wait_for(lambda: lines[0] and children.read_text().split(), timeout=30, message="the helper process")[0]
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)

    def gone() -> bool:
        try:
            return Path(f"/proc/{helper}/stat").read_text().split(") ", 1)[1][0] in "ZX"
        except (OSError, IndexError):
            return True

    wait_for(gone, timeout=10, message="the helper's end")
