"""``wfctl rerun`` and ``wfctl resume``: arguments, the bulk preview and its refusals, outcomes in every format,
exit codes, ``--wait`` — against the memory backend (with the two operations added here), and the sentence of
every engine that does not have them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.doubles.memory_backend import MemoryBackend
from tests.doubles.net import closed_port
from wfctl.backends.base import RERUN, RESUME, ResumeRequest
from wfctl.errors import NotFoundError, UnsupportedError, UsageError
from wfctl.model import TERMINAL, RerunOutcome, ResumeOutcome


class ControlBackend(MemoryBackend):
    """The memory backend with rerun and resume: a re-run copies the run's input into a new run scripted to
    end as the source did; runs whose id starts with ``enc`` have an unreadable input; ``frozen`` runs are
    refused by a version gate; a run's hooks are its ``extra["hooks"]`` tokens."""

    capabilities = MemoryBackend.capabilities | {RERUN, RESUME}

    def rerun(self, run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
        self.world.calls.append(("rerun", (tuple(run_ids), dry_run)))
        out = []
        for rid in run_ids:
            run = self.world.runs.get(rid)
            if run is None:
                out.append(RerunOutcome(rid, None, "not_found", "no such run"))
            elif rid.startswith("enc"):
                out.append(RerunOutcome(rid, None, "refused", f"run {rid} was not re-run: its input is encrypted"))
            elif rid.startswith("frozen"):
                out.append(RerunOutcome(rid, None, "refused", f"run {rid} is frozen", hint="thaw it first"))
            elif dry_run:
                out.append(RerunOutcome(rid, None, "would_start", "dry run", workflowName=run.workflowName))
            else:
                new_id = f"{rid}-again"
                end = run.status if run.status in TERMINAL else "completed"
                self.world.add(new_id, "pending", workflow=run.workflowName or "demo", input=run.input, script=[end])
                out.append(RerunOutcome(rid, new_id, "started", None, "pending", run.workflowName))
        return out

    def resume(self, run_id: str, request: ResumeRequest) -> ResumeOutcome:
        self.world.calls.append(("resume", (run_id, request)))
        run = self._run(run_id)
        if request.signal is not None:
            raise UnsupportedError("the memory backend has no signals")
        if run.status in TERMINAL:
            raise UsageError(f"run {run_id} is {run.status}")
        tokens = run.extra.get("hooks", [])
        if request.hook is None and len(tokens) != 1:
            raise UsageError(f"run {run_id} has {len(tokens)} pending hooks")
        token = request.hook or tokens[0]
        if token not in tokens:
            raise NotFoundError(f"run {run_id} has no pending hook with token {token!r}")
        outcome = "would_resume" if request.dry_run else "resumed"
        if not request.dry_run:
            self.world.scripts[run_id] = ["completed"]
        return ResumeOutcome(run_id, token, outcome, hookId="hook_1", delivered=not request.dry_run)


@pytest.fixture
def world(memory_world):
    from wfctl import backends

    ControlBackend.world = memory_world
    backends.register("memory", ControlBackend)
    memory_world.add("r-done", "completed", workflow="demo", minutes=1, input=["Ada"])
    memory_world.add("r-failed", "failed", workflow="demo", minutes=2, error="boom")
    memory_world.add("r-failed2", "failed", workflow="other", minutes=3, error="boom")
    memory_world.add("r-hook", "running", workflow="approval", minutes=4, extra={"hooks": ["approval:doc1"]})
    memory_world.add("r-two", "running", workflow="approval", minutes=5, extra={"hooks": ["a", "b"]})
    memory_world.add("enc-1", "completed", workflow="demo", minutes=6)
    memory_world.add("frozen-1", "completed", workflow="demo", minutes=7)
    return memory_world


def mem(cli, *args: str, input: str | None = None):
    return cli("--backend", "memory", *args, input=input)


def one_error(r, code: int, start: str) -> None:
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith(f"error: {start}"), r.stderr


# -- rerun: arguments ------------------------------------------------------------------------------------------


def test_rerun_needs_ids_or_a_filter_but_not_both(cli, world):
    one_error(mem(cli, "rerun"), 2, "nothing to re-run")
    one_error(mem(cli, "rerun", "r-done", "--status", "failed"), 2, "give run ids or a filter")
    one_error(mem(cli, "rerun", "r-done", "--timeout", "5"), 2, "--timeout applies only with --wait")
    one_error(mem(cli, "rerun", "r-done", "--wait", "--dry-run"), 2, "give --wait or --dry-run, not both")
    assert not [c for c in world.calls if c[0] == "rerun"]


# -- rerun: outcomes in every format ------------------------------------------------------------------------


def test_rerun_prints_one_line_per_source_run_with_the_new_id(cli, world):
    r = mem(cli, "rerun", "r-done", "r-failed", "-o", "plain")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["r-done\tr-done-again\tstarted\t", "r-failed\tr-failed-again\tstarted\t"]

    r = mem(cli, "rerun", "r-done", "-o", "jsonl")
    assert [json.loads(line) for line in r.stdout.splitlines()] == [
        {
            "sourceRunId": "r-done",
            "runId": "r-done-again",
            "outcome": "started",
            "message": None,
            "status": "pending",
            "workflowName": "demo",
        }
    ]
    r = mem(cli, "rerun", "r-done", "r-failed", "-o", "id")
    assert r.stdout.splitlines() == ["r-done-again", "r-failed-again"]
    r = mem(cli, "rerun", "r-done", "-o", "json", "--fields", "sourceRunId,runId")
    assert r.json() == [{"sourceRunId": "r-done", "runId": "r-done-again"}]
    r = mem(cli, "rerun", "r-done", "-o", "table")
    assert r.exit_code == 0 and r.stdout.split() == ["r-done", "→", "r-done-again", "started"]
    one_error(mem(cli, "rerun", "r-done", "--fields", "nope"), 2, "unknown field")


def test_rerun_exit_codes_say_what_did_not_start(cli, world):
    r = mem(cli, "rerun", "r-nope", "-o", "json")
    assert r.exit_code == 3 and r.json()[0]["outcome"] == "not_found"

    r = mem(cli, "rerun", "enc-1")  # one refused: the error line, exit 6
    one_error(r, 6, "run enc-1 was not re-run: its input is encrypted")
    r = mem(cli, "rerun", "frozen-1")
    one_error(r, 6, "run frozen-1 is frozen")
    assert "hint: thaw it first" in r.stderr

    r = mem(cli, "rerun", "enc-1", "frozen-1", "-o", "json")  # every one refused: 6
    assert r.exit_code == 6 and [o["outcome"] for o in r.json()] == ["refused", "refused"]
    r = mem(cli, "rerun", "r-done", "enc-1", "r-nope", "-o", "json")  # some did not start: 7
    assert r.exit_code == 7
    assert [(o["sourceRunId"], o["outcome"]) for o in r.json()] == [
        ("r-done", "started"),
        ("enc-1", "refused"),
        ("r-nope", "not_found"),
    ]


def test_rerun_wait_exits_by_the_new_runs_states(cli, world):
    r = mem(cli, "rerun", "r-done", "--wait", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert world.runs["r-done-again"].status == "completed"
    r = mem(cli, "rerun", "r-done", "r-failed", "--wait", "-o", "json")
    assert r.exit_code == 10, r.stderr  # the re-run of the failed run failed again
    r = mem(cli, "rerun", "r-done", "enc-1", "--wait", "-o", "json")
    assert r.exit_code == 7  # one did not start: that wins over the started one's state


# -- rerun: by filter, as bulk cancel ----------------------------------------------------------------------------


def test_bulk_rerun_previews_and_refuses_without_yes_off_a_terminal(cli, world):
    r = mem(cli, "rerun", "--status", "failed")
    assert r.exit_code == 2 and r.stdout == ""
    assert "2 run(s) match:" in r.stderr and "r-failed\t" in r.stderr and "r-failed2\t" in r.stderr
    assert "error: refusing to act on 2 run(s) without confirmation: not a terminal" in r.stderr
    r = mem(cli, "rerun", "--status", "failed", "-o", "json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "error: refusing to act on 2 run(s) without -y/--yes when the output is json" in r.stderr
    assert not [c for c in world.calls if c[0] == "rerun"]


def test_bulk_rerun_dry_run_and_yes(cli, world):
    r = mem(cli, "rerun", "--status", "failed", "--workflow", "demo", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert [(o["sourceRunId"], o["outcome"], o["runId"]) for o in r.json()] == [("r-failed", "would_start", None)]
    assert "dry run: 1 of 1 run(s) would be re-run; nothing was started" in r.stderr
    assert "r-failed-again" not in world.runs

    r = mem(cli, "rerun", "--status", "failed", "-y", "-o", "jsonl")
    assert r.exit_code == 0, r.stderr
    assert sorted(json.loads(line)["runId"] for line in r.stdout.splitlines()) == ["r-failed-again", "r-failed2-again"]

    r = mem(cli, "rerun", "--workflow", "nothing-like-it", "-y")
    assert r.exit_code == 0 and r.stdout == "" and "no runs match; nothing to re-run" in r.stderr


# -- resume ------------------------------------------------------------------------------------------------------


def test_resume_arguments(cli, world, tmp_path):
    one_error(mem(cli, "resume", "r-hook"), 2, "resume needs a payload: --data JSON or --data-file FILE")
    one_error(mem(cli, "resume", "r-hook", "--data", "{nope"), 2, "--data is not valid JSON")
    one_error(mem(cli, "resume", "r-hook", "--data", "1", "--data-file", "x"), 2, "give --data or --data-file")
    one_error(mem(cli, "resume", "r-hook", "--hook", "a", "--signal", "s", "--data", "1"), 2, "give --hook or --signal")
    one_error(mem(cli, "resume", "r-hook", "--data", "1", "--interval", "1s"), 2, "--interval applies only with --wait")
    one_error(mem(cli, "resume", "r-hook", "--data-file", str(tmp_path / "missing.json")), 2, "cannot read")
    assert not [c for c in world.calls if c[0] == "resume"]


def test_resume_outcome_in_every_format(cli, world, tmp_path):
    r = mem(cli, "resume", "r-hook", "--data", '{"approved": true}', "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["runId"], doc["hook"], doc["outcome"]) == ("r-hook", "approval:doc1", "resumed")
    assert set(doc) == {"runId", "hook", "outcome", "kind", "hookId", "delivered", "message"}
    request = [c for c in world.calls if c[0] == "resume"][-1][1][1]
    assert (request.data, request.has_data, request.hook) == ({"approved": True}, True, None)

    payload = tmp_path / "p.json"
    payload.write_text('[1, "two"]')
    r = mem(cli, "resume", "r-hook", "--hook", "approval:doc1", "--data-file", str(payload), "-o", "plain")
    assert r.exit_code == 0 and r.stdout == "r-hook\tapproval:doc1\tresumed\n"
    assert [c for c in world.calls if c[0] == "resume"][-1][1][1].data == [1, "two"]
    r = mem(cli, "resume", "r-hook", "--data", "null", "--dry-run", "-o", "table")
    assert r.exit_code == 0 and r.stdout == 'would resume r-hook: hook "approval:doc1"\n'
    r = mem(cli, "resume", "r-hook", "--data", "1", "-o", "id")
    assert r.stdout == "r-hook\n"


def test_resume_errors_and_wait(cli, world):
    one_error(mem(cli, "resume", "r-hook", "--hook", "other", "--data", "1"), 3, "run r-hook has no pending hook")
    one_error(mem(cli, "resume", "r-two", "--data", "1"), 2, "run r-two has 2 pending hooks")
    one_error(mem(cli, "resume", "r-done", "--data", "1"), 2, "run r-done is completed")
    one_error(mem(cli, "resume", "r-nope", "--data", "1"), 3, "run r-nope not found")
    r = mem(cli, "resume", "r-hook", "--data", "1", "--wait", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert world.runs["r-hook"].status == "completed"


# -- engines that have neither say why -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "argv", "sentence"),
    [
        (
            "workflow-runs-v2",
            ("rerun", "r1"),
            "workflow-runs v2 has only GET /api/v2/workflow-runs/{id}: it cannot start",
        ),
        ("workflow-runs-v2", ("resume", "r1", "--data", "1"), "workflow-runs v2 has only GET"),
        ("workflow-runs-v1", ("resume", "r1", "--data", "1"), "workflow-runs v1 has no endpoint to deliver input"),
        ("flue", ("resume", "r1", "--data", "1"), "Flue 1.0 has no endpoint to deliver data or a signal"),
    ],
)
def test_engines_without_the_operation_exit_6_with_a_sentence(cli, backend, argv, sentence):
    r = cli("--backend", backend, "--url", f"http://127.0.0.1:{closed_port()}", *argv)
    one_error(r, 6, sentence)
