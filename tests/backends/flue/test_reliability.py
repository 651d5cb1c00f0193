"""``wfctl tail`` on Flue runs whose server misbehaves: the stream must arrive exactly once, in order.

* Dropped connections and a restart: ``wfctl tail --live -o jsonl`` on a Flue run whose server drops the
  connection every few hundred events and restarts once: all 20,000 events arrive exactly once, in order, and
  the exit code matches the run's final status. wfctl runs as a real subprocess against the fake Flue server
  (tests/doubles/flue_server.py) over real HTTP. The run emits its events over time (the ``burst`` workflow:
  batches of 40 log events every 20 ms), so the tail catches up and then follows live; the server cuts a
  response once at least 250 events were served since the last cut (bodies cut short, responses cut after
  their headers, SSE data events whose control never comes) and is restarted once (stop, which aborts every
  open connection, then start on the same port) when 10,000 events have been served.
* Malformed answers (a body that is not JSON with valid HTTP framing, an SSE control event that is not JSON):
  the reader raises its parse error at once and ``tail`` reads again from the last offset delivered in full,
  at most ``PARSE_REREADS`` times, with one ``warning:`` line naming that offset each time. Damage that
  strikes once leaves the output identical to a clean run; damage that persists ends with exit code 5, one
  ``error:`` line, and what was printed before it printed once. Against the fake Flue server (pages of 100
  events) and the Durable Streams reference server (raw mode: one large gzip answer, truncated after wfctl
  printed part of it).

Synchronisation is by conditions with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.doubles.ds_server import require_server
from tests.doubles.flue_server import FakeFlue, format_offset
from wfctl.backends.flue import PARSE_REREADS

TOKEN = "reliability-token"
TOTAL = 20_000  # run_start + 19,998 logs + run_end
WFCTL = str(Path(sys.executable).with_name("wfctl"))


@pytest.mark.parametrize("mode,fail", [("long-poll", False), ("sse", True)], ids=["long-poll-completed", "sse-failed"])
def test_live_tail_survives_drops_and_a_restart(tmp_path: Path, mode: str, fail: bool):
    assert os.path.exists(WFCTL), f"wfctl is not installed next to {sys.executable}"
    fake = FakeFlue(token=TOKEN, drop_every=250, long_poll_timeout=1.0, heartbeat=0.5)
    restarted = threading.Event()
    marks: dict[str, int] = {}
    restart_error: list[BaseException] = []
    proc = None
    try:
        run_id = fake.start_run("burst", {"count": TOTAL - 2, "batch": 40, "pauseMs": 20, "fail": fail})
        # the tail starts once the run is under way, so it catches up first and then follows
        fake.wait_until(lambda: len(fake.run(run_id).events) >= 500, timeout=30, message="500 events")
        out = (tmp_path / "out.jsonl").open("wb")
        err = (tmp_path / "err.txt").open("wb")
        args = [WFCTL, "--backend", "flue", "--url", fake.url, "tail", run_id, "--live", "-o", "jsonl"]
        if mode == "sse":
            args.append("--sse")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WFCTL_")}
        env.update(
            WFCTL_TOKEN=TOKEN, WFCTL_CONFIG=str(tmp_path / "config.toml"), WFCTL_CACHE_DIR=str(tmp_path / "cache")
        )
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)

        def restart_midway() -> None:
            try:
                fake.wait_until(lambda: fake.events_served >= TOTAL // 2, timeout=60, message="half the events")
                marks["before"] = len(fake.requests)
                fake.restart()
                marks["after"] = len(fake.requests)
                restarted.set()
            except BaseException as exc:  # noqa: BLE001 - reported below
                restart_error.append(exc)

        restarter = threading.Thread(target=restart_midway, daemon=True)
        restarter.start()
        code = proc.wait(timeout=180)
        restarter.join(timeout=10)
        out.close()
        err.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        fake.close()

    stderr = (tmp_path / "err.txt").read_text(errors="replace")
    assert not restart_error, restart_error
    assert restarted.is_set(), "the server was never restarted"
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    events = [line for line in lines if line["kind"] == "event"]
    indexes = [e["index"] for e in events]
    assert len(indexes) == len(set(indexes)), "an event was printed twice"
    assert indexes == list(range(TOTAL)), "events missing or out of order"
    assert [e["offset"] for e in events[:3]] == [format_offset(i) for i in range(3)]
    assert events[-1]["type"] == "run_end" and events[-1]["data"]["isError"] is fail
    end = lines[-1]
    assert end["kind"] == "end" and end["status"] == ("failed" if fail else "completed")
    assert end["offset"] == format_offset(TOTAL - 1)
    assert code == (10 if fail else 0), stderr
    # the faults really happened while wfctl was following
    assert fake.drops >= 20, fake.drops
    live = [r for r in fake.requests_to(f"/runs/{run_id}") if ("live", mode) in r.query]
    assert live, "wfctl never followed the run live"
    assert len(fake.requests) > marks["after"], "wfctl never came back after the restart"
    assert "Traceback" not in stderr


# ----------------------------------------------------------------------------------------------------------
# malformed answers: read again from the last good offset, a bounded number of times
# ----------------------------------------------------------------------------------------------------------


def _jsonl(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def _finished_run(fake: FakeFlue, n: int) -> str:
    run_id = fake.create_run("manual", {"n": n})
    fake.emit_many(run_id, [{"type": "log", "level": "info", "message": f"line {i}"} for i in range(n)])
    fake.finish(run_id, result={"lines": n})
    return run_id


@pytest.fixture
def fake():
    with FakeFlue(token=TOKEN, long_poll_timeout=0.5, heartbeat=0.2) as server:
        yield server


def _tail(cli, url: str, *args: str):
    return cli("--backend", "flue", "--url", url, "tail", *args, env={"WFCTL_TOKEN": TOKEN})


def test_malformed_page_once_is_read_again_and_the_output_is_that_of_a_clean_run(cli, fake):
    run_id = _finished_run(fake, 348)  # run_start + 348 logs + run_end: pages of 100
    clean = _tail(cli, fake.url, run_id, "-o", "jsonl")
    assert clean.exit_code == 0 and clean.stderr == ""
    fake.damage(run_id, after=199, count=1)  # the page that starts with event 200
    before = len(fake.requests_to(f"/runs/{run_id}"))
    r = _tail(cli, fake.url, run_id, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == clean.stdout  # nothing lost, nothing twice, the same lines and offsets
    last_good = format_offset(199)
    assert _warnings(r.stderr) == [
        f"warning: malformed event stream for run {run_id} after offset {last_good} (invalid JSON body "
        + r.stderr.split("(invalid JSON body ", 1)[1].split("); reading again", 1)[0]
        + f"); reading again from offset {last_good} (1/{PARSE_REREADS})"
    ]
    assert len(r.stderr.splitlines()) == 1 and fake.damage_served == 1
    reads = [
        dict(q.query).get("offset") for q in fake.requests_to(f"/runs/{run_id}")[before:] if ("meta", "") not in q.query
    ]
    assert reads == ["-1", format_offset(99), last_good, last_good, format_offset(299)]
    lines = _jsonl(r.stdout)
    assert [e["index"] for e in lines[:-1]] == list(range(350)) and lines[-1]["status"] == "completed"


def test_malformed_page_every_time_exits_5_and_what_was_printed_is_printed_once(cli, fake):
    run_id = _finished_run(fake, 348)
    fake.damage(run_id, after=199, count=100)
    r = _tail(cli, fake.url, run_id, "-o", "jsonl")
    assert r.exit_code == 5
    lines = _jsonl(r.stdout)
    assert [e["kind"] for e in lines] == ["event"] * 200  # no end line
    assert [e["index"] for e in lines] == list(range(200))  # the pages before the damage, each event once
    assert [e["offset"] for e in lines] == [format_offset(i) for i in range(200)]
    last_good = format_offset(199)
    warnings = _warnings(r.stderr)
    assert len(warnings) == PARSE_REREADS
    assert all(
        f"after offset {last_good} " in w and w.endswith(f"reading again from offset {last_good} ({i}/{PARSE_REREADS})")
        for i, w in enumerate(warnings, 1)
    )
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"malformed event stream for run {run_id} after offset {last_good}" in errors[0]
    assert f"still malformed after {PARSE_REREADS} re-reads" in errors[0]
    assert fake.damage_served == PARSE_REREADS + 1 and "Traceback" not in r.stderr


def test_malformed_sse_control_event_once_is_read_again_while_following(cli, fake):
    run_id = fake.create_run("manual", {})
    fake.emit_many(run_id, [{"type": "log", "level": "info", "message": f"early {i}"} for i in range(5)])

    def sse_reads() -> int:
        return sum(1 for q in fake.requests_to(f"/runs/{run_id}") if ("live", "sse") in q.query)

    def drive() -> None:
        fake.wait_until(lambda: sse_reads() >= 1, timeout=20, message="the tail to follow over SSE")
        fake.damage(run_id, kind="control", count=1)
        fake.emit_many(run_id, [{"type": "log", "level": "info", "message": f"live {i}"} for i in range(7)])
        fake.wait_until(
            lambda: fake.damage_served == 1 and sse_reads() >= 2,
            timeout=20,
            message="the tail to read again after the malformed control event",
        )
        fake.emit_many(run_id, [{"type": "log", "level": "info", "message": f"late {i}"} for i in range(3)])
        fake.finish(run_id, result={"ok": True})

    errors: list[BaseException] = []

    def driver() -> None:
        try:
            drive()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=driver, daemon=True)
    thread.start()
    r = _tail(cli, fake.url, run_id, "--live", "--sse", "-o", "jsonl")
    thread.join(timeout=30)
    assert not errors, errors
    assert r.exit_code == 0, r.stderr
    clean = _tail(cli, fake.url, run_id, "-o", "jsonl")
    assert r.stdout == clean.stdout
    assert [e["index"] for e in _jsonl(r.stdout)[:-1]] == list(range(17))
    warnings = _warnings(r.stderr)
    assert len(warnings) == 1 and f"after offset {format_offset(5)} (invalid SSE control event" in warnings[0]


@pytest.fixture(scope="module")
def ds():
    yield from require_server(long_poll_timeout_ms=300)


def _large_stream(ds, n: int) -> tuple[str, str, int]:
    """A closed JSON stream of ``n`` FlueEvents (several MB); its run id and the size of its gzip answer."""
    path = ds.new_path("/v1/stream/runs/")
    run_id = path.rsplit("/", 1)[1]
    ds.create(path)
    for start in range(0, n, 5000):
        ds.append_json(
            path,
            [
                {
                    "type": "log",
                    "level": "info",
                    "message": f"line {i} " + "x" * (i % 97),
                    "runId": run_id,
                    "v": 3,
                    "eventIndex": i,
                    "timestamp": "2026-11-22T04:20:58.479Z",
                }
                for i in range(start, min(n, start + 5000))
            ],
        )
    ds.close_stream(path)
    with (
        httpx.Client() as client,
        client.stream(
            "GET", ds.stream_url(path), params={"offset": "-1"}, headers={"Accept-Encoding": "gzip"}
        ) as answer,
    ):
        assert answer.headers.get("content-encoding") == "gzip"
        compressed = len(b"".join(answer.iter_raw()))
    assert compressed > 256 << 10  # two thirds of it hold more than the reader's 1 MiB: delivered in parts
    return path, run_id, compressed


@pytest.mark.live
def test_reference_server_answer_cut_once_after_parts_were_printed_is_read_again(cli, ds):
    """One gzip answer holds the whole stream; cut (with valid framing) after wfctl printed some of its
    parts. wfctl reads again from -1, drops the events it printed, and prints the rest: the output is that
    of a clean run."""
    n = 40_000
    path, run_id, compressed = _large_stream(ds, n)
    url = f"{ds.url}/v1/stream/runs/{{runId}}"
    clean = _tail(cli, url, run_id, "-o", "jsonl")
    assert clean.exit_code == 0 and clean.stderr == ""
    ds.inject_fault(path, method="GET", truncateBodyBytes=compressed * 2 // 3, count=1)
    r = _tail(cli, url, run_id, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == clean.stdout
    lines = _jsonl(r.stdout)
    assert [e["index"] for e in lines[:-1]] == list(range(n)) and lines[-1]["status"] == "completed"
    warnings = _warnings(r.stderr)
    assert len(warnings) == 1 and len(r.stderr.splitlines()) == 1
    assert "after offset -1 (damaged gzip body" in warnings[0]
    assert warnings[0].endswith(f"reading again from offset -1 (1/{PARSE_REREADS})")


@pytest.mark.live
def test_reference_server_answer_cut_every_time_exits_5_and_printed_events_are_not_repeated(cli, ds):
    n = 40_000
    path, run_id, compressed = _large_stream(ds, n)
    ds.inject_fault(path, method="GET", truncateBodyBytes=compressed * 2 // 3, count=50)
    try:
        r = _tail(cli, f"{ds.url}/v1/stream/runs/{{runId}}", run_id, "-o", "jsonl")
    finally:
        ds.clear_faults()
    assert r.exit_code == 5
    lines = _jsonl(r.stdout)
    indexes = [e["index"] for e in lines]
    assert {e["kind"] for e in lines} == {"event"}
    assert 0 < len(indexes) < n and indexes == list(range(len(indexes)))  # a prefix, each event once
    assert len(_warnings(r.stderr)) == PARSE_REREADS
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "after offset -1: damaged gzip body" in errors[0]
