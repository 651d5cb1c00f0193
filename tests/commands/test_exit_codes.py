"""Exit codes decided in the README (Exit codes, Decisions): tail exits like status; status prints what it
found before the worst code; a dry-run cancel answers with the outcomes and the code of the real one; a "no"
at the prompt is quiet; a missing data directory is 3 everywhere."""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "workflow-sdk-demo"
RUNNING = "wrun_01M81013R4XC1AH1NY0GMYME33"
COMPLETED = "wrun_01M81014TS51H8GCDZKV8CP8WA"
MISSING = "wrun_01M81014YNKJFXJ0NSSJ1X6Y3Z"
M = ("--backend", "memory")
OUTCOME_KEYS = ["runId", "outcome", "message", "status"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(DEMO / ".workflow-data", tmp_path / "app" / ".workflow-data")
    return tmp_path / "app"


@pytest.fixture
def world(memory_world):
    memory_world.add("done", "completed", minutes=1)
    memory_world.add("live", "running", minutes=2)
    memory_world.add("bad", "failed", minutes=3)
    return memory_world


# -- tail exits like status ------------------------------------------------------------------------------------
@pytest.mark.parametrize("run,code", [("done", 0), ("bad", 10), ("live", 12)])
def test_tail_without_live_exits_by_the_run_state(cli, world, run, code):
    r = cli(*M, "tail", run, "-o", "jsonl")
    assert r.exit_code == code
    assert json.loads(r.stdout.splitlines()[-1])["kind"] == "end"


def test_tail_of_an_unfinished_local_run_exits_12(cli, project):
    r = cli("tail", RUNNING, "-o", "jsonl", cwd=project)
    assert r.exit_code == 12
    assert json.loads(r.stdout.splitlines()[-1]) == {
        "kind": "end",
        "runId": RUNNING,
        "status": "waiting",  # suspended in sleep('1h'): the SDK's "running" (docs/architecture.md, "Waiting runs")
        "offset": "evnt_01M81014S23CDRP0GP7WSYS1RT",
    }
    assert cli("tail", RUNNING, "--stream", "-o", "jsonl", cwd=project).exit_code == 12
    assert cli("tail", COMPLETED, cwd=project).exit_code == 0


# -- status of several runs, some missing ----------------------------------------------------------------------
def test_status_prints_what_it_found_then_exits_3(cli, world):
    r = cli(*M, "status", "done", "nope", "live")
    assert (r.exit_code, r.stdout, r.stderr) == (3, "done\tcompleted\nlive\trunning\n", "error: run nope not found\n")
    j = cli(*M, "status", "done", "nope", "-o", "json")
    assert j.exit_code == 3 and [d["runId"] for d in j.json()] == ["done"]  # an array: several ids were asked
    one = cli(*M, "status", "nope")
    assert (one.exit_code, one.stdout, one.stderr) == (3, "", "error: run nope not found\n")


def test_status_wait_waits_for_the_runs_it_found(cli, memory_world):
    memory_world.add("slow", "running", script=["running", "completed"])
    r = cli(*M, "status", "slow", "nope", "--wait", "--interval", "0.01")
    assert (r.exit_code, r.stdout) == (3, "slow\tcompleted\n")


def test_status_on_the_local_world(cli, project):
    r = cli("status", COMPLETED, MISSING, cwd=project)
    assert r.exit_code == 3 and r.stdout == f"{COMPLETED}\tcompleted\n"
    assert r.stderr.startswith(f"error: run {MISSING} not found in ")


# -- cancel --dry-run agrees with cancel -----------------------------------------------------------------------
@pytest.mark.parametrize("ids,code", [(("live", "nope"), 7), (("nope",), 3), (("live", "done"), 0)])
def test_dry_run_exits_like_the_real_cancel(cli, world, ids, code):
    dry = cli(*M, "cancel", *ids, "--dry-run", "-o", "json")
    assert dry.exit_code == code
    assert [list(o) for o in dry.json()] == [OUTCOME_KEYS] * len(ids)
    assert world.runs["live"].status == "running"
    real = cli(*M, "cancel", *ids, "-o", "json")
    assert real.exit_code == code
    assert [list(o) for o in real.json()] == [OUTCOME_KEYS] * len(ids)


def test_dry_run_outcomes(cli, world):
    dry = cli(*M, "cancel", "live", "done", "nope", "--dry-run", "-o", "json")
    assert dry.exit_code == 7  # one run not found: the bulk operation would partly fail
    assert dry.json() == [
        {"runId": "live", "outcome": "would_cancel", "message": None, "status": "running"},
        {"runId": "done", "outcome": "already_completed", "message": "run is completed", "status": "completed"},
        {"runId": "nope", "outcome": "not_found", "message": "run nope not found", "status": None},
    ]
    assert dry.stderr == (
        "dry run: 1 run(s) would be cancelled; 1 already finished, left as they are: done; 1 not found: nope\n"
    )


def test_bulk_dry_run_counts_only_what_it_would_cancel(cli, world):
    dry = cli(*M, "cancel", "--status", "running", "--status", "completed", "--dry-run", "-o", "json")
    assert dry.exit_code == 0
    assert [(o["runId"], o["outcome"]) for o in dry.json()] == [("live", "would_cancel"), ("done", "already_completed")]
    assert dry.stderr == "dry run: 1 run(s) would be cancelled; 1 already finished, left as they are: done\n"
    ids = cli(*M, "cancel", "--status", "running", "--status", "completed", "--dry-run", "-o", "id")
    assert ids.stdout == "live\n"  # like the real cancel's -o id: only the runs it cancels
    assert not [c for c in world.calls if c[0] == "cancel"]


def test_dry_run_on_the_local_world(cli, project):
    r = cli("cancel", RUNNING, MISSING, "--dry-run", "-o", "json", cwd=project)
    assert r.exit_code == 7
    assert [(o["runId"], o["outcome"]) for o in r.json()] == [(RUNNING, "would_cancel"), (MISSING, "not_found")]
    real = cli("cancel", COMPLETED, MISSING, "-o", "json", cwd=project)
    assert real.exit_code == 7 and [o["outcome"] for o in real.json()] == ["already_completed", "not_found"]


# -- answering no ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_answering_no_is_quiet_and_changes_nothing(cli, world, monkeypatch, answer):
    import wfctl.output

    monkeypatch.setattr(wfctl.output, "stream_is_tty", lambda s: True)
    r = cli(*M, "cancel", "--status", "running", "-o", "plain", input=answer)
    assert r.exit_code == 130
    assert r.stdout == ""
    assert r.stderr.endswith("Cancel 1 run(s)? [y/N] nothing cancelled\n") and "error:" not in r.stderr
    assert world.runs["live"].status == "running"
    assert not [c for c in world.calls if c[0] == "cancel"]


# -- a missing data directory: 3 from every command ------------------------------------------------------------
def test_a_missing_data_directory_is_3_everywhere(cli, tmp_path):
    for args in (("list",), ("get", RUNNING), ("config", "doctor")):
        r = cli(*args, cwd=tmp_path)
        assert r.exit_code == 3, (args, r.stderr)
    doctor = cli("config", "doctor", "-o", "json", cwd=tmp_path)
    assert doctor.exit_code == 3
    checks = doctor.json()
    assert checks[-1]["name"] == "data directory" and checks[-1]["ok"] is False
    gone = tmp_path / "gone"
    assert cli("--data-dir", str(gone), "list").exit_code == 3
    assert cli("--data-dir", str(gone), "config", "doctor").exit_code == 3


def test_a_data_directory_without_a_world_is_2_everywhere(cli, project):
    for args in (("list",), ("config", "doctor")):
        r = cli("--data-dir", str(project), *args)
        assert r.exit_code == 2, (args, r.stdout, r.stderr)
