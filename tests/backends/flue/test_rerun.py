"""``wfctl rerun`` on Flue 1.0.0-beta.9 (docs/architecture.md, "Flue 1.0"): the ``RunRecord``'s ``input`` (the
run's JSON body as Flue parsed it) posted again to ``/workflows/<workflowName>``.

The tests taking ``flue`` run twice, ``[real]`` against the real Flue peer (``tests/peers/flue``, its ``ticker``
workflow) and ``[fake]`` against ``tests/doubles/flue_server.py`` with the same ticker (the twin of
``test_real_flue.py``), so the fake's admissions are held to the real server's. What only the fake can show
(a run started without a body, a workflow since removed or whose schema changed, the raw Durable Streams mode)
follows. No fixed sleeps: runs are awaited through ``?meta`` with deadlines.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from tests.backends.flue.test_real_flue import TOKEN
from tests.doubles import flue_peer
from tests.doubles.flue_server import FakeFlue, RunContext

ENV = {"WFCTL_TOKEN": TOKEN}


@pytest.fixture(scope="module")
def real_server() -> Iterator[flue_peer.FlueServer]:
    with flue_peer.running(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def fake_server() -> Iterator[flue_peer.PeerClient]:
    with FakeFlue(token=TOKEN) as fake:
        fake.add_workflow("ticker", flue_peer.ticker_twin, validate=flue_peer.validate_twin)
        yield flue_peer.PeerClient(fake.url, TOKEN)


@pytest.fixture(scope="module", params=[pytest.param("real", marks=pytest.mark.live), "fake"])
def flue(request: pytest.FixtureRequest) -> flue_peer.PeerClient:
    return request.getfixturevalue(f"{request.param}_server")


def wf(cli, url: str, *args: str, env: dict[str, str] | None = None):
    return cli("--backend", "flue", "--url", url, *args, env=ENV if env is None else env)


def jsonl(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def posts(stderr: str) -> list[str]:
    """The POST requests of a ``--debug`` log."""
    return [line for line in stderr.splitlines() if line.startswith("> POST ")]


# -- real and fake ----------------------------------------------------------------------------------------------


def test_a_rerun_of_a_completed_run_completes_the_same_and_of_a_failed_run_fails_the_same(cli, flue):
    done = flue.start_run({"n": 2, "delayMs": 0, "note": "ünï"})
    failed = flue.start_run({"n": 1, "delayMs": 0, "fail": True})
    done_record, failed_record = flue.wait_finished(done, 60), flue.wait_finished(failed, 60)
    assert (done_record["status"], failed_record["status"]) == ("completed", "errored")

    r = wf(cli, flue.url, "rerun", done, failed, "--wait", "--timeout", "60", "-o", "jsonl")
    assert r.exit_code == 10, r.stderr  # the failed one failed again
    lines = jsonl(r.stdout)
    assert [(o["sourceRunId"], o["outcome"], o["workflowName"]) for o in lines] == [
        (done, "started", "ticker"),
        (failed, "started", "ticker"),
    ]
    again_done, again_failed = (o["runId"] for o in lines)
    assert again_done.startswith("run_") and again_done not in (done, failed)

    new_done, new_failed = flue.wait_finished(again_done, 60), flue.wait_finished(again_failed, 60)
    assert (new_done["status"], new_done["input"], new_done["result"]) == (
        "completed",
        done_record["input"],
        {"ticks": 2},
    )
    assert (new_failed["status"], new_failed["input"], new_failed["error"]) == (
        "errored",
        failed_record["input"],
        failed_record["error"],
    )
    got = wf(cli, flue.url, "get", again_done, "-o", "json")
    assert got.exit_code == 0, got.stderr
    assert (got.json()["input"], got.json()["output"]) == ({"n": 2, "delayMs": 0, "note": "ünï"}, {"ticks": 2})


def test_one_rerun_prints_the_new_run_and_exits_0(cli, flue):
    source = flue.start_run({"n": 1, "delayMs": 0})
    flue.wait_finished(source, 60)
    r = wf(cli, flue.url, "rerun", source, "-o", "json")
    assert r.exit_code == 0, r.stderr
    (outcome,) = r.json()
    assert (outcome["sourceRunId"], outcome["outcome"], outcome["message"]) == (source, "started", f"rerun of {source}")
    assert outcome["status"] in ("running", "completed")  # as ?meta said right after the admission
    assert flue.wait_finished(outcome["runId"], 60)["input"] == {"n": 1, "delayMs": 0}


def test_dry_run_and_an_unknown_run_start_nothing(cli, flue):
    source = flue.start_run({"n": 1, "delayMs": 0})
    flue.wait_finished(source, 60)
    unknown = "run_01M80QRREDC995ZW7SB6QN3197"

    r = wf(cli, flue.url, "--debug", "rerun", source, unknown, "--dry-run", "-o", "json")
    assert r.exit_code == 7, r.stderr
    assert [(o["sourceRunId"], o["runId"], o["outcome"]) for o in r.json()] == [
        (source, None, "would_start"),
        (unknown, None, "not_found"),
    ]
    assert r.json()[0]["message"] == "would start ticker with its recorded input"
    assert r.json()[1]["message"] == f"run {unknown}: unknown run, or its workflow does not export `runs` middleware"
    assert "dry run: 1 of 2 run(s) would be re-run; nothing was started" in r.stderr
    assert posts(r.stderr) == []

    alone = wf(cli, flue.url, "--debug", "rerun", unknown, "-o", "json")
    assert alone.exit_code == 3
    assert [o["outcome"] for o in alone.json()] == ["not_found"]
    assert posts(alone.stderr) == []


def test_a_refused_token_stops_before_anything_starts(cli, flue):
    source = flue.start_run({"n": 1, "delayMs": 0})
    flue.wait_finished(source, 60)
    r = wf(cli, flue.url, "--debug", "rerun", source, env={"WFCTL_TOKEN": "wrong"})
    assert r.exit_code == 4 and r.stdout == ""
    error = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert error == [
        f"error: Flue refused access to run {source}: HTTP 401: "
        '{"error":{"type":"unauthorized","message":"missing or bad token"}}'
    ]
    assert posts(r.stderr) == []


# -- the fake only ---------------------------------------------------------------------------------------------


def _echo(ctx: RunContext, input: Any) -> Any:  # noqa: A002 - Flue's word
    return {"got": input}


@pytest.fixture
def fake() -> Iterator[FakeFlue]:
    with FakeFlue(token=TOKEN) as server:
        server.add_workflow("echo", _echo)
        yield server


def test_a_run_started_without_a_body_is_rerun_without_one_and_null_as_null(cli, fake):
    bare = fake.start_run("echo")  # what POST /workflows/echo with no body does
    null = fake.start_run("echo", None)  # a body "null"
    fake.wait_until(lambda: fake.run(bare).status == fake.run(null).status == "completed")
    assert "input" not in fake.run(bare).record() and fake.run(null).record()["input"] is None

    r = wf(cli, fake.url, "rerun", bare, null, "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    new_bare, new_null = (o["runId"] for o in jsonl(r.stdout))
    fake.wait_until(lambda: fake.run(new_bare).status == fake.run(new_null).status == "completed")
    assert "input" not in fake.run(new_bare).record()
    assert fake.run(new_null).record()["input"] is None
    admissions = [q for q in fake.requests if q.method == "POST"]
    assert [(q.path, q.header("content-type")) for q in admissions[-2:]] == [
        ("/workflows/echo", None),
        ("/workflows/echo", "application/json"),
    ]


def test_a_workflow_since_removed_is_not_found_and_a_changed_schema_an_error(cli, fake):
    gone = fake.create_run("retired", {"x": 1})
    fake.finish(gone, result={"ok": True})
    fake.add_workflow("strict", _echo, validate=lambda input: [{"message": "Invalid key: x", "path": ["x"]}])
    strict = fake.create_run("strict", {"x": 1})
    fake.finish(strict, result={"ok": True})

    r = wf(cli, fake.url, "rerun", gone, strict, "-o", "json")
    assert r.exit_code == 7, r.stderr
    outcomes = r.json()
    assert [(o["sourceRunId"], o["runId"], o["outcome"]) for o in outcomes] == [
        (gone, None, "not_found"),
        (strict, None, "error"),
    ]
    assert outcomes[0]["message"] == "unknown workflow 'retired', or it is not exposed over HTTP"
    assert outcomes[1]["message"] == "Flue rejected the input of workflow 'strict': x: Invalid key: x"


def test_the_raw_durable_streams_mode_cannot_rerun(cli, fake):
    run_id = fake.create_run("echo", {"a": 1})
    r = wf(cli, fake.url + "/runs/{runId}", "rerun", run_id)
    assert r.exit_code == 6 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "error: the profile's url is a raw Durable Streams URL template ({runId}): its runs can be read, "
        "not started again"
    ]
