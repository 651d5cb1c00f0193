"""The Flue backend against a REAL Flue 1.0.0-beta.9 server, and the same test bodies against the fake.

``tests/peers/flue`` is a project-written Flue app (``@flue/cli``, ``@flue/runtime``, ``@flue/sdk`` at exactly
1.0.0-beta.9) with one workflow, ``ticker``: ``n`` log events ``delayMs`` apart, an optional ``fail``, and an
optional file ``gate`` that holds the run before tick ``gateAt`` until the test creates the file — so a run
stays active exactly as long as a test needs, with no timing guess. ``tests/doubles/flue_peer.py`` builds it
(``flue build`` under Node 24 from PyPI, bound to 127.0.0.1) and starts it on a free port.

Every test taking the ``flue`` fixture runs twice: ``[real]`` against that server and ``[fake]`` against
``tests/doubles/flue_server.py`` given a Python twin of the same ticker (``flue_peer.ticker_twin``), over HTTP both. So
the fake the rest of the Flue tests rely on is held to what the real server does. Tests only on the real
server: the official SDK as an oracle, and the loopback binding.

Under ``CI=true`` a missing peer (Node 24, or the peer's node_modules) fails these tests (``peer_missing``).
No fixed sleeps: runs are awaited through ``?meta`` with deadlines, live tails are released through the gate
once the client printed what precedes it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.doubles import flue_peer, wfapp
from tests.doubles.flue_server import FakeFlue, format_offset

pytestmark = [pytest.mark.live]

TOKEN = "peer-token-5b1e"
ENV = {"WFCTL_TOKEN": TOKEN}
UNKNOWN_RUN = "run_01M80QRREDC995ZW7SB6QN3197"
NOT_FOUND = "unknown run, or its workflow does not export `runs` middleware"
UNAUTHORIZED = 'HTTP 401: {"error":{"type":"unauthorized","message":"missing or bad token"}}'


# ----------------------------------------------------------------------------------------------------------
# the two servers
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_server() -> Iterator[flue_peer.FlueServer]:
    with flue_peer.running(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def fake_server() -> Iterator[flue_peer.PeerClient]:
    # Flue's own timings: 30 s long-poll window, a heartbeat every 15 s
    with FakeFlue(token=TOKEN, long_poll_timeout=30.0, heartbeat=15.0) as fake:
        fake.add_workflow("ticker", flue_peer.ticker_twin, validate=flue_peer.validate_twin)
        yield flue_peer.PeerClient(fake.url, TOKEN)


@pytest.fixture(scope="module", params=["real", "fake"])
def flue(request: pytest.FixtureRequest) -> flue_peer.PeerClient:
    return request.getfixturevalue(f"{request.param}_server")


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


def wf(cli, server: flue_peer.PeerClient, *args: str, env: dict[str, str] | None = None):
    return cli("--backend", "flue", "--url", server.url, *args, env=ENV if env is None else env)


def jsonl(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def events_of(stdout: str) -> list[dict]:
    return [d for d in jsonl(stdout) if d["kind"] == "event"]


def finished(server: flue_peer.PeerClient, n: int, **extra: Any) -> tuple[str, dict]:
    """A ticker run of ``n`` ticks (``n + 2`` events), awaited; returns (run id, RunRecord)."""
    run_id = server.start_run({"n": n, "delayMs": 0, **extra})
    return run_id, server.wait_finished(run_id, timeout=60)


def stream_reads(stderr: str, server: flue_peer.PeerClient, run_id: str) -> list[dict[str, str]]:
    """The query of every event-stream read in a ``--debug`` log (``?meta`` reads left out), in order."""
    reads = []
    for match in re.finditer(rf"^> GET {re.escape(server.url)}/runs/{re.escape(run_id)}(\?\S*)?$", stderr, re.M):
        query = dict(parse_qsl(urlsplit(match.group(0)[6:]).query, keep_blank_values=True))
        if "meta" not in query:
            reads.append(query)
    return reads


def assert_complete(events: list[dict], run_id: str, count: int) -> None:
    """Exactly the run's ``count`` events, each once, in stream order, each with its own Flue offset."""
    assert [e["index"] for e in events] == list(range(count))
    assert [e["offset"] for e in events] == [format_offset(i) for i in range(count)]
    assert {e["runId"] for e in events} == {run_id}
    assert all(e["data"]["eventIndex"] == e["index"] and e["data"]["v"] == 3 for e in events)
    assert events[0]["type"] == "run_start" and events[-1]["type"] == "run_end"
    for e in events[1:-1]:
        i = e["index"] - 1
        assert (e["type"], e["data"]["level"], e["data"]["message"], e["data"]["attributes"]) == (
            "log",
            "info",
            f"tick {i}",
            {"i": i},
        )


class LiveTail:
    """``wfctl --debug tail ...`` in a subprocess: its stdout read line by line as it comes (the test opens a
    run's gate once the client printed everything before it), its stderr (the HTTP exchanges) in a file."""

    def __init__(self, server: flue_peer.PeerClient, *args: str):
        fd, name = tempfile.mkstemp(prefix="wfctl-tail-", suffix=".log")
        os.close(fd)
        self._err_path = Path(name)
        argv = [
            sys.executable,
            "-c",
            "from wfctl.cli import main; main()",
            "--backend",
            "flue",
            "--url",
            server.url,
            "--debug",
            "tail",
            *args,
            "-o",
            "jsonl",
        ]
        with open(self._err_path, "ab") as err:  # O_APPEND: reading it meanwhile never moves the writer
            self.proc = subprocess.Popen(
                argv, env={**os.environ, **ENV}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True
            )
        self.lines: list[dict] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(json.loads(line))
                self._cond.notify_all()

    def wait_events(self, count: int, timeout: float = 60.0) -> list[dict]:
        """Until the client printed ``count`` events (it cannot print more while the run waits at its gate)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"the tail printed {len(self.lines)} of {count} lines "
                        f"(exit {self.proc.poll()}):\n{self.stderr()[-3000:]}"
                    )
                self._cond.wait(min(left, 0.5))
            return list(self.lines)

    def finish(self, timeout: float = 90.0) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the tail did not end within {timeout}s:\n{self.stderr()[-3000:]}") from None
        self._reader.join(timeout=10)
        return code

    def stderr(self) -> str:
        return self._err_path.read_text(errors="replace")

    def live_reads(self, server: flue_peer.PeerClient, run_id: str) -> list[dict[str, str]]:
        return [q for q in stream_reads(self.stderr(), server, run_id) if "live" in q]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err_path.unlink(missing_ok=True)


@pytest.fixture
def live_tails() -> Iterator[list[LiveTail]]:
    started: list[LiveTail] = []
    yield started
    for tail in started:
        tail.close()


# ----------------------------------------------------------------------------------------------------------
# get / status / start
# ----------------------------------------------------------------------------------------------------------


def test_get_maps_the_run_record(cli, flue):
    run_id, record = finished(flue, 3)
    r = wf(cli, flue, "get", run_id, "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert {k: doc[k] for k in ("runId", "backend", "workflowName", "workflowId", "status", "rawStatus")} == {
        "runId": run_id,
        "backend": "flue",
        "workflowName": "ticker",
        "workflowId": None,
        "status": "completed",
        "rawStatus": "completed",
    }
    assert (doc["input"], doc["output"], doc["error"]) == ({"n": 3, "delayMs": 0}, {"ticks": 3}, None)
    assert (doc["createdAt"], doc["startedAt"]) == (record["startedAt"], record["startedAt"])
    assert (doc["completedAt"], doc["updatedAt"]) == (record["endedAt"], record["endedAt"])
    assert doc["extra"] == {"isError": False, "durationMs": record["durationMs"]}
    assert (doc["steps"], doc["waits"], doc["hooks"], doc["streams"]) == ([], [], [], [])


def test_status_exit_codes_follow_the_flue_status(cli, flue, tmp_path):
    gate = tmp_path / "gate"
    held = flue.start_run({"n": 1, "delayMs": 0, "gate": str(gate), "gateAt": 1})
    done, _ = finished(flue, 2)
    failed, _ = finished(flue, 1, fail=True)

    r = wf(cli, flue, "status", held, "-o", "json")
    assert r.exit_code == 12, r.stderr
    doc = r.json()
    assert (doc["runId"], doc["status"], doc["rawStatus"], doc["completedAt"], doc["error"]) == (
        held,
        "running",
        "active",
        None,
        None,
    )
    r = wf(cli, flue, "status", done)
    assert (r.exit_code, r.stdout.split()) == (0, [done, "completed"])
    r = wf(cli, flue, "status", failed, "-o", "json")
    assert r.exit_code == 10, r.stderr
    doc = r.json()
    assert (doc["status"], doc["rawStatus"]) == ("failed", "errored")
    assert doc["error"] == {"message": "requested failure", "code": "Error", "stack": None}

    gate.touch()
    r = wf(cli, flue, "status", held, "--wait", "--interval", "0.05", "--timeout", "60", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["status"], r.json()["rawStatus"]) == ("completed", "completed")


@pytest.mark.parametrize("fail", [False, True], ids=["completed", "failed"])
def test_start_wait_exits_by_the_final_state(cli, flue, fail):
    body = {"n": 2, "delayMs": 1, **({"fail": True} if fail else {})}
    r = wf(
        cli,
        flue,
        "start",
        "ticker",
        "--input-json",
        json.dumps(body),
        "--wait",
        "--interval",
        "0.05",
        "--timeout",
        "60",
        "-o",
        "json",
    )
    assert r.exit_code == (10 if fail else 0), r.stderr
    doc = r.json()
    assert re.fullmatch(r"run_[0-9A-HJKMNP-TV-Z]{26}", doc["runId"])
    assert (doc["workflowName"], doc["input"]) == ("ticker", body)
    if fail:
        assert (doc["status"], doc["rawStatus"], doc["output"]) == ("failed", "errored", None)
        assert doc["error"] == {"message": "requested failure", "code": "Error", "stack": None}
    else:
        assert (doc["status"], doc["rawStatus"], doc["output"], doc["error"]) == (
            "completed",
            "completed",
            {"ticks": 2},
            None,
        )
    assert flue.meta(doc["runId"])["status"] == ("errored" if fail else "completed")


def test_start_errors(cli, flue):
    r = wf(cli, flue, "start", "nope", "--input-json", "{}")
    assert r.exit_code == 3 and "unknown workflow 'nope'" in r.stderr, r.stderr
    r = wf(cli, flue, "start", "ticker", "--input-json", '{"n": "x"}')
    assert r.exit_code == 2 and 'n: Invalid type: Expected number but received "x"' in r.stderr, r.stderr
    r = wf(cli, flue, "start", "ticker", "--input-json", '{"n": 1}', env={})
    assert r.exit_code == 4 and UNAUTHORIZED in r.stderr, r.stderr


# ----------------------------------------------------------------------------------------------------------
# auth, unknown runs
# ----------------------------------------------------------------------------------------------------------


def test_401_without_and_with_a_bad_token(cli, flue):
    run_id, _ = finished(flue, 1)
    for env in ({}, {"WFCTL_TOKEN": "wrong-token-93c"}):
        for command in (("get", run_id), ("status", run_id), ("tail", run_id), ("tail", run_id, "--live")):
            r = wf(cli, flue, *command, env=env)
            assert r.exit_code == 4, (env, command, r.stderr)
            assert UNAUTHORIZED in r.stderr and "WFCTL_TOKEN" in r.stderr
            assert "wrong-token-93c" not in r.stderr + r.stdout and "Traceback" not in r.stderr
            assert r.stdout == ""


def test_unknown_run_exits_3(cli, flue):
    for command in (("get",), ("status",), ("tail",), ("tail", "--live"), ("status", "--wait")):
        r = wf(cli, flue, command[0], UNKNOWN_RUN, *command[1:])
        assert r.exit_code == 3, (command, r.stderr)
        assert NOT_FOUND in r.stderr and "Traceback" not in r.stderr
        assert r.stdout == ""


# ----------------------------------------------------------------------------------------------------------
# tail: catch-up and resume
# ----------------------------------------------------------------------------------------------------------


def test_catch_up_over_several_hundred_events_in_pages_of_100(cli, flue):
    run_id, _ = finished(flue, 348)  # 350 events: Flue serves pages of 100, 100, 100, 50
    r = wf(cli, flue, "tail", run_id, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    lines = jsonl(r.stdout)
    assert_complete(lines[:-1], run_id, 350)
    assert lines[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": format_offset(349)}
    assert lines[-2]["data"]["result"] == {"ticks": 348} and lines[-2]["data"]["isError"] is False

    debug = wf(cli, flue, "--debug", "tail", run_id, "-o", "jsonl")
    assert (debug.exit_code, debug.stdout) == (0, r.stdout)
    reads = stream_reads(debug.stderr, flue, run_id)
    assert [q["offset"] for q in reads] == ["-1", format_offset(99), format_offset(199), format_offset(299)]
    assert not any("live" in q for q in reads)  # a finished run is replayed, not followed


@pytest.mark.parametrize("cut", [0, 57, 99, 100, 150, 198])
def test_offset_resume_gives_exactly_the_events_after_it(cli, flue, cut):
    run_id, _ = finished(flue, 198)  # 200 events, two pages
    full = events_of(wf(cli, flue, "tail", run_id, "-o", "jsonl").stdout)
    assert_complete(full, run_id, 200)
    r = wf(cli, flue, "tail", run_id, "--offset", full[cut]["offset"], "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    lines = jsonl(r.stdout)
    assert lines[:-1] == full[cut + 1 :]  # the same events, byte for byte, none twice, none missing
    assert lines[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": format_offset(199)}


def test_offset_resume_at_the_end_prints_no_event(cli, flue):
    run_id, _ = finished(flue, 2)
    r = wf(cli, flue, "tail", run_id, "--offset", format_offset(3), "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    # nothing after it: the end line gives back the offset resumed from, so a script looping on it stays put
    assert jsonl(r.stdout) == [{"kind": "end", "runId": run_id, "status": "completed", "offset": format_offset(3)}]
    r = wf(cli, flue, "tail", run_id, "--offset", format_offset(4), "-o", "jsonl")
    assert r.exit_code == 2 and f"is beyond the end of run {run_id}'s events" in r.stderr, r.stderr


# ----------------------------------------------------------------------------------------------------------
# tail: following a live run
# ----------------------------------------------------------------------------------------------------------

# (tail flags, the live mode wfctl must use): --live long-polls, --sse opts in to SSE, and an active run is
# followed (long-poll) even without --live
MODES = {"long-poll": (("--live",), "long-poll"), "sse": (("--live", "--sse"), "sse"), "implicit": ((), "long-poll")}


@pytest.mark.parametrize(
    "mode,fail", [("long-poll", False), ("sse", False), ("implicit", False), ("long-poll", True), ("sse", True)]
)
def test_tail_live_follows_the_run_to_its_end(flue, tmp_path, live_tails, mode, fail):
    flags, live = MODES[mode]
    gate = tmp_path / "gate"
    # 3 ticks, the gate, then 247 ticks at once: what follows the gate crosses Flue's 100-event batches
    run_id = flue.start_run({"n": 250, "delayMs": 0, "gate": str(gate), "gateAt": 3, "fail": fail})
    flue.wait_offset(run_id, format_offset(3))  # at the gate: the tail's catch-up ends there, then it follows
    tail = LiveTail(flue, run_id, *flags)
    live_tails.append(tail)
    before = tail.wait_events(4)  # run_start and 3 ticks: all there is until the gate opens
    assert [e["index"] for e in before] == [0, 1, 2, 3]
    gate.touch()
    code = tail.finish()
    stderr = tail.stderr()
    assert code == (10 if fail else 0), stderr[-3000:]
    lines = tail.lines
    assert_complete(lines[:-1], run_id, 252)
    run_end = lines[-2]["data"]
    if fail:
        assert (run_end["isError"], run_end["error"], run_end["result"]) == (
            True,
            {"name": "Error", "message": "requested failure"},
            None,
        )
    else:
        assert (run_end["isError"], run_end["result"]) == (False, {"ticks": 250})
    assert lines[-1] == {
        "kind": "end",
        "runId": run_id,
        "status": "failed" if fail else "completed",
        "offset": format_offset(251),
    }
    reads = stream_reads(stderr, flue, run_id)
    assert reads[0] == {"offset": "-1"}  # the catch-up first
    assert reads[1:] and all(q.get("live") == live for q in reads[1:]), reads
    assert reads[1]["offset"] == format_offset(3)  # live from where the catch-up ended
    assert flue.meta(run_id)["status"] == ("errored" if fail else "completed")


@pytest.mark.parametrize("mode", ["long-poll", "sse"])
def test_live_resume_from_an_offset_gives_exactly_the_rest(flue, tmp_path, live_tails, mode):
    flags, live = MODES[mode]
    gate = tmp_path / "gate"
    run_id = flue.start_run({"n": 120, "delayMs": 0, "gate": str(gate), "gateAt": 6})
    flue.wait_offset(run_id, format_offset(6))  # at the gate
    tail = LiveTail(flue, run_id, "--offset", format_offset(2), *flags)
    live_tails.append(tail)
    before = tail.wait_events(4)  # events 3..6: the ticks 2..5 before the gate
    assert [e["index"] for e in before] == [3, 4, 5, 6]
    gate.touch()
    code = tail.finish()
    assert code == 0, tail.stderr()[-3000:]
    events = tail.lines[:-1]
    assert [e["index"] for e in events] == list(range(3, 122))  # nothing at or before the offset, nothing twice
    assert [e["offset"] for e in events] == [format_offset(i) for i in range(3, 122)]
    assert tail.lines[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": format_offset(121)}
    reads = stream_reads(tail.stderr(), flue, run_id)
    assert reads[0] == {"offset": format_offset(2)}
    assert reads[1:] and all(q.get("live") == live for q in reads[1:]), reads
    assert reads[1]["offset"] == format_offset(6)


# ----------------------------------------------------------------------------------------------------------
# the wire, as wfctl relies on it (the fake's quirks held to the real server)
# ----------------------------------------------------------------------------------------------------------


def test_the_wire_pages_offsets_closure_and_errors(flue):
    run_id, _ = finished(flue, 148)  # 150 events
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=flue.url, headers=auth, timeout=30) as http:
        first = http.get(f"/runs/{run_id}", params={"offset": "-1"})
        assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
        assert len(first.json()) == 100 and first.json()[-1]["eventIndex"] == 99
        assert first.headers["stream-next-offset"] == format_offset(99)
        assert "stream-up-to-date" not in first.headers and "stream-closed" not in first.headers
        second = http.get(f"/runs/{run_id}", params={"offset": format_offset(99)})
        assert [e["eventIndex"] for e in second.json()] == list(range(100, 150))
        assert second.headers["stream-next-offset"] == format_offset(149)
        assert (second.headers["stream-up-to-date"], second.headers["stream-closed"]) == ("true", "true")
        last = http.get(f"/runs/{run_id}", params={"offset": "-1", "tail": "2"})
        assert [e["eventIndex"] for e in last.json()] == [148, 149]
        # at the tail of a closed stream: an empty page echoing the offset, and an immediate 204 when live
        empty = http.get(f"/runs/{run_id}", params={"offset": format_offset(149)})
        assert (empty.status_code, empty.json(), empty.headers["stream-next-offset"]) == (200, [], format_offset(149))
        poll = http.get(f"/runs/{run_id}", params={"offset": format_offset(149), "live": "long-poll"})
        assert poll.status_code == 204 and poll.headers["stream-closed"] == "true"
        assert poll.headers["stream-next-offset"] == format_offset(149)
        head = http.head(f"/runs/{run_id}")
        assert head.status_code == 200 and head.headers["stream-next-offset"] == format_offset(149)
        assert head.headers["stream-closed"] == "true"
        bad = http.get(f"/runs/{run_id}", params={"offset": "abc"})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request"
        assert bad.json()["error"]["details"] == "Invalid offset format."
        post = http.post(f"/runs/{run_id}")
        assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")
        assert post.json()["error"]["type"] == "method_not_allowed"
        unknown = http.get(f"/runs/{UNKNOWN_RUN}", params={"meta": ""})
        assert unknown.status_code == 404 and unknown.json() == {
            "error": {
                "type": "run_not_found",
                "message": f'Run "{UNKNOWN_RUN}" was not found.',
                "details": "Verify the run id is correct and its history is still available.",
            }
        }
        anonymous = httpx.get(f"{flue.url}/runs/{run_id}", params={"meta": ""})
        assert anonymous.status_code == 401
        assert anonymous.json() == {"error": {"type": "unauthorized", "message": "missing or bad token"}}


def test_doctor_recognizes_the_server(cli, flue):
    r = wf(cli, flue, "config", "doctor")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert re.search(r"^ok +reachable +" + re.escape(flue.url), r.stdout, re.M), r.stdout
    assert re.search(r"^ok +version +run API of Flue 1\.0 beta\.3–beta\.9", r.stdout, re.M), r.stdout


# ----------------------------------------------------------------------------------------------------------
# the real server only
# ----------------------------------------------------------------------------------------------------------


def _sdk_read(server: flue_peer.FlueServer, run_id: str, offset: str = "-1") -> dict:
    proc = subprocess.run(
        [wfapp.node24(), "sdk-read.mjs", server.url, run_id, offset],
        cwd=flue_peer.PEER_DIR,
        env={**os.environ, "FLUE_PEER_TOKEN": TOKEN, "NODE_NO_WARNINGS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_tail_and_get_agree_with_the_official_sdk(cli, real_server):
    """@flue/sdk 1.0.0-beta.9 as the oracle: runs.events() and runs.get() against wfctl's tail and get."""
    run_id, _ = finished(real_server, 130, fail=True)
    oracle = _sdk_read(real_server, run_id)
    r = wf(cli, real_server, "tail", run_id, "-o", "jsonl")
    assert r.exit_code == 10, r.stderr
    assert [e["data"] for e in events_of(r.stdout)] == oracle["events"]
    resumed = _sdk_read(real_server, run_id, format_offset(41))
    r = wf(cli, real_server, "tail", run_id, "--offset", format_offset(41), "-o", "jsonl")
    assert [e["data"] for e in events_of(r.stdout)] == resumed["events"] == oracle["events"][42:]
    record = oracle["record"]
    doc = wf(cli, real_server, "get", run_id, "-o", "json").json()
    assert (doc["runId"], doc["workflowName"], doc["rawStatus"], doc["input"]) == (
        record["runId"],
        record["workflowName"],
        record["status"],
        record["input"],
    )
    assert (doc["startedAt"], doc["completedAt"]) == (record["startedAt"], record["endedAt"])
    assert doc["error"] == {"message": record["error"]["message"], "code": record["error"]["name"], "stack": None}
    assert doc["extra"] == {"isError": record["isError"], "durationMs": record["durationMs"]}


@pytest.mark.slow
def test_live_tails_outlast_the_30s_long_poll_window_and_sse_heartbeats(real_server, tmp_path, live_tails):
    """A run that stays quiet longer than Flue's 30 s long-poll window (204, then wfctl polls again with the
    cursor) while an SSE tail of it receives only heartbeats and keep-alive controls (no reconnect)."""
    gate = tmp_path / "gate"
    run_id = real_server.start_run({"n": 6, "delayMs": 0, "gate": str(gate), "gateAt": 3, "gateTimeoutMs": 180_000})
    real_server.wait_offset(run_id, format_offset(3))
    sse = LiveTail(real_server, run_id, "--live", "--sse")
    live_tails.append(sse)
    sse.wait_events(4)
    poll = LiveTail(real_server, run_id, "--live")
    live_tails.append(poll)
    poll.wait_events(4)
    wfapp.wait_until(
        lambda: len(poll.live_reads(real_server, run_id)) >= 2,
        timeout=120,
        interval=0.2,
        message="Flue's long-poll window to pass and wfctl to poll again",
    )
    gate.touch()
    assert (poll.finish(), sse.finish()) == (0, 0), poll.stderr()[-2000:] + sse.stderr()[-2000:]
    for tail in (poll, sse):
        assert_complete(tail.lines[:-1], run_id, 8)
        assert tail.lines[-1] == {"kind": "end", "runId": run_id, "status": "completed", "offset": format_offset(7)}
    polls = poll.live_reads(real_server, run_id)
    assert [q["live"] for q in polls] == ["long-poll"] * len(polls)
    assert polls[0]["offset"] == polls[1]["offset"] == format_offset(3)  # the 204 moved nothing
    assert "cursor" in polls[1]  # Flue's Stream-Cursor echoed
    assert [(q["live"], q["offset"]) for q in sse.live_reads(real_server, run_id)] == [("sse", format_offset(3))]


def test_the_peer_listens_on_the_loopback_only(real_server):
    """dist/server.mjs is patched to pass hostname 127.0.0.1 (Flue's build listens on every interface)."""
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) == real_server.port:
                listening.append(address)
    if not Path("/proc/net/tcp").exists():  # not Linux: the build output still says so
        assert flue_peer._LISTEN_PATCHED in flue_peer.SERVER_ENTRY.read_text()
        return
    assert listening == ["0100007F"], listening
