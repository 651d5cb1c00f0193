"""Hostile engine text through every real backend's ``get`` and ``tail``, put where each engine itself keeps it.

tests/render/test_hostile_text.py shows one hostile run through every view of the memory backend; this file
puts the same kind of text into each engine's own store the way the engine writes it, and reads it back with
wfctl: escape sequences (OSC, CSI), C0 and C1 controls, DEL, bidi overrides and isolates, U+2028/U+2029, Rich
markup, a huge string, and NUL and lone surrogates where the engine can carry them (JSON can: ``"\\ud800"``).

* **Workflow SDK local world**, 4.x and 5.0: the real example app runs ``failingWorkflow(text)`` (its step throws
  ``FatalError("boom: " + text)``), so the input, the step's error and the run's error are the engine's own.
* **Workflow SDK Postgres world**: the same run through the app on world-postgres (rows in the real schema).
* **Temporal**: the real dev server; ``wfctl-fail`` fails with the text as its message, a run waits on a
  signal after a signal with a hostile name and argument, with a hostile memo.
* **Flue**: the real Flue peer carries text in a run's input (its ticker's ``gate`` path); the contract fake
  carries it everywhere else (log messages and attributes, the failure).
* **Durable Streams** (raw mode, ``url`` with ``{runId}``): events appended to the reference server.
* **workflow-runs** v1 and v2: the contract fake (workflow name, inputs, step names, outputs, state names).

For each: ``get`` (table and ``-o json``) and ``tail`` (table, plain and ``-o jsonl``) with their exact exit
codes; no raw control character on stdout or stderr; tables and plain lines show the text neutralised
(``wfctl.output.clean``); JSON carries it exactly; one line per event (lines as a terminal and ``str.splitlines``
count them). README, "Output".
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterator

import pytest

from tests.ci_rule import peer_missing
from tests.doubles.memory_backend import strings
from tests.doubles.net import wait_until
from wfctl.output import clean

#: Escape sequences, C0/C1 controls, DEL, bidi override and isolate, line/paragraph separators, markup.
HOSTILE = "\x1b]0;pwned\x07[red]x[/red] \x1b[2J\u202e\x9b31m\x01\x08\x7f \u2028 \u2029 \u2066 \r"
#: What only some engines can carry: NUL and a lone surrogate (PostgreSQL's jsonb refuses both).
JSON_ONLY = "\x00 \ud800"
#: A huge string: no view may choke on it, and JSON carries it whole.
HUGE = "H" * 60_000
#: Never on a terminal: every C0 control but tab and newline, DEL, C1, the separators, bidi, lone surrogates.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: The first hostile piece, neutralised: what a table or a plain line shows, as text or inside JSON.
SHOWN = (clean("\x1b]0;pwned\x07"), "\\u001b]0;pwned\\u0007")


def carries(doc: Any, text: str) -> bool:
    return any(text in s for s in strings(doc))


def assert_safe(r: Any) -> None:
    for name, stream in (("stdout", r.stdout), ("stderr", r.stderr)):
        found = RAW.search(stream)
        assert found is None, f"a raw {found.group(0)!r} reached {name}" if found else ""


def lines_of(stdout: str) -> list[str]:
    """Lines as ``str.splitlines`` cuts them (a line end there is U+2028 too); the same as a terminal's."""
    lines = stdout.splitlines()
    assert lines == stdout.rstrip("\n").split("\n") if stdout else lines == []
    return lines


def check_views(
    cli: Any,
    base: tuple[str, ...],
    run_id: str,
    *,
    env: dict[str, str] | None = None,
    get_code: int = 0,
    tail_code: int = 10,
    get_exact: tuple[str, ...] = (),
    tail_exact: tuple[str, ...] = (),
    shown_in_get: bool = True,
    shown_in_tail: bool = True,
) -> tuple[dict, list[dict]]:
    """get (table, json) and tail (jsonl, plain, table) of one run: exit codes, nothing raw, JSON exact, one line
    per event. Returns the ``get -o json`` document and the ``tail -o jsonl`` lines."""
    env = {"COLUMNS": "200", **(env or {})}

    r = cli(*base, "get", run_id, "-o", "json", env=env)
    assert r.exit_code == get_code, r.stderr
    assert r.stderr == ""
    assert_safe(r)
    doc = r.json()
    for text in get_exact:
        assert carries(doc, text), f"get -o json lost {text[:80]!r}"

    r = cli(*base, "get", run_id, "-o", "table", env=env)
    assert r.exit_code == get_code, r.stderr
    assert_safe(r)
    if shown_in_get:
        assert any(form in r.stdout for form in SHOWN)

    r = cli(*base, "tail", run_id, "-o", "jsonl", env=env)
    assert r.exit_code == tail_code, r.stderr
    assert_safe(r)
    items = [json.loads(line) for line in lines_of(r.stdout)]
    assert items[-1]["kind"] == "end" and items[-1]["runId"] == run_id
    events = [item for item in items if item["kind"] == "event"]
    assert len(events) == len(items) - 1 and events
    for text in tail_exact:
        assert carries(events, text), f"tail -o jsonl lost {text[:80]!r}"

    for fmt in ("plain", "table"):
        r = cli(*base, "tail", run_id, "-o", fmt, env=env)
        assert r.exit_code == tail_code, (fmt, r.stderr)
        assert_safe(r)
        lines = lines_of(r.stdout)
        assert len(lines) == len(events), f"tail -o {fmt}: {len(lines)} lines for {len(events)} events"
        if shown_in_tail:
            assert any(form in r.stdout for form in SHOWN), fmt
    return doc, events


# ==========================================================================================================
# the memory backend: the text every engine below can carry, lone surrogates included
# ==========================================================================================================


def test_memory_backend_lone_surrogates_and_separators(cli, memory_world):
    """A lone surrogate used to end every view with "internal error: UnicodeEncodeError" (exit 1), and
    U+2028 in a table or plain line was a line end to programs that read it."""
    text = HOSTILE + JSON_ONLY + HUGE
    memory_world.add("r1", "failed", error="boom " + text, output={"text": text}, input=[text])
    # the memory backend's events are its own (no engine text): the run's views carry it
    doc, _ = check_views(cli, ("--backend", "memory"), "r1", get_exact=(text,), shown_in_tail=False)
    assert doc["error"]["message"] == "boom " + text and doc["output"] == {"text": text}
    r = cli("--backend", "memory", "get", "r1", "-o", "plain")
    assert r.exit_code == 0
    assert "\\ud800" in r.stdout and "\\u2028" in r.stdout
    assert_safe(r)


# ==========================================================================================================
# Workflow SDK local world: the real example apps (4.x and 5.0)
# ==========================================================================================================


@pytest.fixture(scope="module", params=["4.x", "5.0"])
def sdk_app(request: pytest.FixtureRequest) -> Any:
    from tests.doubles.wfapp import APP_DIR, APP_V5_DIR, WorkflowApp, node_available

    if not node_available():
        peer_missing("node and npm (the Workflow SDK example apps)")
    app = WorkflowApp(APP_DIR if request.param == "4.x" else APP_V5_DIR)
    app.build()
    return app


@pytest.mark.live
@pytest.mark.slow
def test_local_world_failing_workflow_with_hostile_input(cli, sdk_app, tmp_path):
    text = HOSTILE + JSON_ONLY + HUGE
    # Node writes the world's files as UTF-8, where a lone surrogate has no encoding: the engine stores U+FFFD.
    stored = text.replace("\ud800", "\ufffd")
    with sdk_app.start(data_dir=tmp_path / ".workflow-data") as server:
        run_id = server.start_run("failingWorkflow", [text])
        server.wait_for_status(run_id, "failed", timeout=60)
        env = {"WORKFLOW_LOCAL_DATA_DIR": str(server.data_dir), "WFCTL_APP_URL": server.url}
        doc, events = check_views(cli, (), run_id, env=env, get_exact=(stored,), tail_exact=("boom: " + stored,))
    assert (doc["status"], doc["input"], doc["error"]["message"]) == ("failed", [stored], "boom: " + stored)
    assert [(s["status"], s["error"]["message"]) for s in doc["steps"]] == [("failed", "boom: " + stored)]
    assert [e["type"] for e in events][-1] == "run_failed"


# ==========================================================================================================
# Workflow SDK Postgres world: the real app on world-postgres
# ==========================================================================================================


@pytest.mark.live
@pytest.mark.slow
def test_postgres_world_failing_workflow_with_hostile_input(cli, pg_server, world_template):
    import psycopg

    from tests.doubles.pg_peer import require_node_world
    from tests.doubles.wfapp import WorkflowApp

    require_node_world()
    name = f"hostile_{uuid.uuid4().hex[:10]}"
    pg_server.create_database(name, owner="world", template=world_template)
    dsn = pg_server.dsn(dbname=name)
    text = HOSTILE + HUGE

    def status(run_id: str) -> str | None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute("SELECT status::text FROM workflow.workflow_runs WHERE id = %s", [run_id]).fetchone()
        return row[0] if row else None

    try:
        world = {"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres", "WORKFLOW_POSTGRES_URL": dsn}
        with WorkflowApp().start(env=world) as server:
            run_id = server.start_run("failingWorkflow", [text])
            wait_until(lambda: status(run_id) == "failed", 60, message=f"{run_id} to fail")
            doc, events = check_views(
                cli,
                ("--dsn", dsn),
                run_id,
                env={"WFCTL_WORLD": "postgres"},
                get_exact=("boom: " + text,),
                tail_exact=("boom: " + text,),
            )
    finally:
        pg_server.drop_database(name)
    assert (doc["status"], doc["input"], doc["error"]["message"]) == ("failed", [text], "boom: " + text)
    assert [e["type"] for e in events][-1] == "run_failed"


# ==========================================================================================================
# Temporal: the real dev server and the temporalio worker
# ==========================================================================================================


@pytest.mark.live
def test_temporal_failure_message_signal_and_memo(cli, temporal_peer):
    base = ("--backend", "temporal", "--url", temporal_peer.http_url)
    # A failure's message is a protobuf string: NUL yes, a lone surrogate no (the SDK cannot encode it). Payloads
    # are JSON bytes (temporalio writes "\ud800" as an escape): the input carries a lone surrogate as it is.
    message = HOSTILE + "\x00" + HUGE
    text = HOSTILE + JSON_ONLY + HUGE
    failed = temporal_peer.start_workflow("wfctl-fail", {"message": message, "note": text}, memo={"note": HOSTILE})
    temporal_peer.wait_status(failed.workflow_id, "Failed")
    doc, events = check_views(cli, base, failed.workflow_id, get_exact=(message, text), tail_exact=(message, text))
    assert doc["status"] == "failed" and doc["error"]["message"] == message
    assert doc["input"] == {"message": message, "note": text}
    assert [e["type"] for e in events][-1] == "WorkflowExecutionFailed"
    assert carries(doc, HOSTILE)  # the memo

    waiting = temporal_peer.start_workflow("wfctl-wait-signal", {"who": HOSTILE}, memo={HOSTILE: HOSTILE})
    temporal_peer.wait_status(waiting.workflow_id, "Running")
    temporal_peer.signal(waiting.workflow_id, "sig " + HOSTILE, {"arg": HOSTILE + JSON_ONLY})

    def signalled() -> bool:
        r = cli(*base, "tail", waiting.workflow_id, "-o", "jsonl")
        return any(json.loads(line).get("type") == "WorkflowExecutionSignaled" for line in r.stdout.splitlines())

    wait_until(signalled, 30, message="the hostile signal in the history")
    doc, events = check_views(
        cli, base, waiting.workflow_id, get_code=0, tail_code=12, get_exact=(HOSTILE,),
        tail_exact=("sig " + HOSTILE, HOSTILE + JSON_ONLY),
    )  # fmt: skip
    assert doc["status"] == "running"
    temporal_peer.signal(waiting.workflow_id, "approve", "done")
    temporal_peer.wait_status(waiting.workflow_id, "Completed")


# ==========================================================================================================
# Flue: the real peer (text in a run's input) and the contract fake (text everywhere)
# ==========================================================================================================

FLUE_TOKEN = "hostile-token-9c2d"


@pytest.fixture(scope="module")
def flue_real() -> Iterator[Any]:
    from tests.doubles import flue_peer

    with flue_peer.running(FLUE_TOKEN) as server:
        yield server


@pytest.mark.live
def test_flue_real_peer_hostile_input(cli, flue_real, tmp_path):
    # the ticker's gate is a file path: a hostile one never exists, so the run fails "gate never opened" at once
    text = HOSTILE + JSON_ONLY + HUGE
    run_id = flue_real.start_run({"n": 1, "delayMs": 0, "gate": text, "gateAt": 1, "gateTimeoutMs": 0})
    record = flue_real.wait_finished(run_id, timeout=60)
    assert record["status"] == "errored", record["status"]
    base = ("--backend", "flue", "--url", flue_real.url)
    doc, events = check_views(cli, base, run_id, env={"WFCTL_TOKEN": FLUE_TOKEN}, get_exact=(text,), tail_exact=(text,))
    assert doc["status"] == "failed" and doc["input"]["gate"] == text
    assert [e["type"] for e in events] == ["run_start", "log", "run_end"]


@pytest.mark.live
def test_flue_fake_hostile_logs_attributes_and_failure(cli):
    from tests.doubles.flue_server import FakeFlue, RunContext, WorkflowFailure

    text = HOSTILE + JSON_ONLY + HUGE

    def hostile(ctx: RunContext, input: Any) -> Any:  # noqa: A002 - Flue's word
        ctx.log(text, level="warn", **{HOSTILE: text})
        ctx.log("second " + HOSTILE, level=HOSTILE)
        raise WorkflowFailure(text, name="Error " + HOSTILE)

    with FakeFlue(token=FLUE_TOKEN) as fake:
        fake.add_workflow("hostile", hostile)
        run_id = fake.start_run("hostile", {"q": text})
        from tests.doubles.flue_peer import PeerClient

        PeerClient(fake.url, FLUE_TOKEN).wait_finished(run_id, timeout=30)
        base = ("--backend", "flue", "--url", fake.url)
        doc, events = check_views(
            cli, base, run_id, env={"WFCTL_TOKEN": FLUE_TOKEN}, get_exact=(text, "Error " + HOSTILE),
            tail_exact=(text, "second " + HOSTILE),
        )  # fmt: skip
    assert doc["status"] == "failed" and doc["error"]["message"] == text and doc["input"] == {"q": text}
    assert [e["type"] for e in events] == ["run_start", "log", "log", "run_end"]


# ==========================================================================================================
# Durable Streams reference server, raw mode
# ==========================================================================================================


@pytest.fixture(scope="module")
def ds() -> Iterator[Any]:
    from tests.doubles.ds_server import require_server

    yield from require_server(long_poll_timeout_ms=300)


@pytest.mark.live
def test_durable_streams_raw_hostile_events(cli, ds):
    path = ds.new_path("/v1/stream/runs/")
    run_id = path.rsplit("/", 1)[1]
    text = HOSTILE + JSON_ONLY + HUGE
    stamp = "2026-11-22T04:20:58.479Z"
    ds.create(path)
    events = [
        {"type": "run_start", "runId": run_id, "v": 3, "eventIndex": 0, "timestamp": stamp, "input": text},
        {"type": "log", "runId": run_id, "v": 3, "eventIndex": 1, "timestamp": stamp, "level": HOSTILE,
         "message": text, "attributes": {HOSTILE: text}},
        {"type": HOSTILE, "runId": run_id, "v": 3, "eventIndex": 2, "timestamp": stamp, HOSTILE: text},
    ]  # fmt: skip
    ds.append_json(path, events)
    end = {"type": "run_end", "runId": run_id, "v": 3, "eventIndex": 3, "timestamp": stamp, "isError": True,
           "error": {"name": HOSTILE, "message": text}}  # fmt: skip
    ds.append_json(path, end, close=True)
    base = ("--backend", "flue", "--url", f"{ds.url}/v1/stream/runs/{{runId}}")
    doc, tailed = check_views(
        cli, base, run_id, get_code=0, tail_code=10, tail_exact=(text, "level"), shown_in_get=False
    )
    assert doc["status"] == "completed"  # a closed stream, read by HEAD alone
    assert [e["type"] for e in tailed] == ["run_start", "log", HOSTILE, "run_end"]


# ==========================================================================================================
# workflow-runs v1 and v2: the contract fake
# ==========================================================================================================


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_workflow_runs_hostile_text(cli, version):
    from tests.doubles.workflow_runs import FakeWorkflowRuns

    text = HOSTILE + JSON_ONLY + HUGE
    with FakeWorkflowRuns(token="t0k") as fake:
        if version == "v1":
            run_id = fake.add_run(
                workflow_name="wf " + HOSTILE,
                status="failed",
                inputs={HOSTILE: text},
                activities=[{"stepName": "step " + HOSTILE, "status": "failed", "outputs": {"e": text}}],
            )
            # tail follows the run's activity runs: their outputs are the events' data
            get_exact: tuple[str, ...] = (text, "wf " + HOSTILE, "step " + HOSTILE)
            tail_exact: tuple[str, ...] = (text,)
        else:
            run_id = fake.add_v2_run("FAILED", current_state_name="state " + HOSTILE + HUGE)
            get_exact = tail_exact = ("state " + HOSTILE + HUGE,)
        base = ("--backend", f"workflow-runs-{version}", "--url", fake.url)
        doc, events = check_views(
            cli, base, run_id, env={"WFCTL_TOKEN": "t0k"}, get_exact=get_exact, tail_exact=tail_exact
        )
    assert doc["status"] == "failed"
