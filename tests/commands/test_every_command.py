"""Every command path against the in-memory backend."""

import json
import re

import pytest

from wfctl.app import normalize_args

M = ("--backend", "memory")


# -- argument normalisation -------------------------------------------------------------
def test_globals_hoisted_before_subcommand():
    assert normalize_args(["get", "R", "-o", "json", "-p", "x"]) == ["-o", "json", "-p", "x", "get", "R"]
    assert normalize_args(["-p", "x", "status", "R", "--wait"]) == ["-p", "x", "status", "R", "--wait"]
    assert normalize_args(["tail", "R", "--stream"]) == ["tail", "R", "--stream="]
    assert normalize_args(["tail", "--stream", "R"]) == ["tail", "--stream=", "R"]
    assert normalize_args(["tail", "R", "--stream=logs"]) == ["tail", "R", "--stream=logs"]
    assert normalize_args(["start", "wf", "--", "-o"]) == ["start", "wf", "--", "-o"]


# -- formats ---------------------------------------------------------------------------
@pytest.fixture
def world(memory_world):
    memory_world.add("r1", "completed", minutes=1, output={"ok": True})
    memory_world.add("r2", "failed", minutes=2, error="boom: bad input")
    memory_world.add("r3", "running", minutes=3)
    return memory_world


def test_plain_is_tab_separated_with_iso_times(cli, world):
    r = cli(*M, "list")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["r3", "demo", "running"]
    assert lines[0].split("\t")[3] == "2026-11-22T04:03:00.000Z"
    assert "\x1b" not in r.stdout


def test_id_and_jsonl(cli, world):
    ids = cli(*M, "list", "-o", "id")
    assert (ids.exit_code, ids.stdout.split()) == (0, ["r3", "r2", "r1"])
    lines = cli(*M, "list", "-o", "jsonl")
    assert lines.exit_code == 0
    rows = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [r["runId"] for r in rows] == ["r3", "r2", "r1"]


def test_fields_select_and_validate(cli, world):
    r = cli(*M, "list", "-o", "json", "--fields", "runId,status")
    assert json.loads(r.stdout)["data"][0] == {"runId": "r3", "status": "running"}
    r = cli(*M, "list", "--fields", "runId,status")
    assert r.stdout.splitlines()[0] == "r3\trunning"
    bad = cli(*M, "list", "--fields", "runId,nope")
    assert bad.exit_code == 2
    assert "unknown field 'nope'" in bad.stderr and "valid fields: runId" in bad.stderr
    assert bad.stdout == ""


def test_table_output_fixed_width(cli, world):
    r = cli(*M, "list", "-o", "table")
    assert r.exit_code == 0
    assert "RUN ID" in r.stdout and "✗ failed" in r.stdout
    assert all(len(line) <= 100 for line in r.stdout.splitlines())


def test_get_wait_prints_output_field(cli, world):
    world.add("r9", "running", script=["running", "completed"], output={"answer": 42})
    r = cli(*M, "get", "r9", "--wait", "--interval", "0.01", "-o", "json", "--fields", "output")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"output": {"answer": 42}}


def test_hostile_engine_text_is_neutralised(cli, memory_world):
    memory_world.add("evil", "failed", workflow="\x1b]0;pwned\x07[red]x", error="\x1b[2J[bold]gotcha\u202e")
    for fmt in ("table", "plain"):
        r = cli(*M, "get", "evil", "-o", fmt)
        assert r.exit_code == 0
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\u202e" not in r.stdout
        assert "\\x1b]0;pwned\\x07[red]x" in r.stdout
    j = cli(*M, "get", "evil", "-o", "json")
    assert json.loads(j.stdout)["workflowName"] == "\x1b]0;pwned\x07[red]x"
    assert "\x1b" not in j.stdout


def test_color_flags(cli, world):
    always = cli(*M, "list", "-o", "table", "--color", "always")
    never = cli(*M, "list", "-o", "table", "--color", "never")
    forced = cli(*M, "list", "-o", "table", env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert [r.exit_code for r in (always, never, forced)] == [0, 0, 0]
    assert "\x1b[" in always.stdout and "\x1b[" in forced.stdout
    assert "\x1b[" not in never.stdout and "r3" in never.stdout
    # the same table, colours aside
    assert re.sub("\x1b\\[[0-9;]*m", "", always.stdout) == never.stdout


def test_cursor_goes_to_stderr(cli, world):
    r = cli(*M, "list", "--limit", "2", "-o", "json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["hasMore"] is True and doc["cursor"] == "r2"
    assert "--cursor 'r2'" in r.stderr
    r2 = cli(*M, "list", "--limit", "2", "--cursor", "r2", "-o", "id")
    assert (r2.exit_code, r2.stdout.split()) == (0, ["r1"])
    every = cli(*M, "list", "--limit", "1", "--all", "-o", "json")
    assert every.exit_code == 0
    assert [d["runId"] for d in json.loads(every.stdout)["data"]] == ["r3", "r2", "r1"]


# -- status semantics ------------------------------------------------------------------
@pytest.mark.parametrize(
    "status,code", [("completed", 0), ("failed", 10), ("cancelled", 11), ("running", 12), ("pending", 12)]
)
def test_status_exit_codes(cli, memory_world, status, code):
    memory_world.add("r", status)
    r = cli(*M, "status", "r")
    assert r.exit_code == code
    assert r.stdout == f"r\t{status}\n"


def test_status_wait_until_terminal(cli, memory_world):
    memory_world.add("r", "pending", script=["running", "running", "failed"])
    r = cli(*M, "status", "r", "--wait", "--interval", "0.01")
    assert r.exit_code == 10
    assert r.stdout == "r\tfailed\n"


def test_status_wait_timeout_leaves_run(cli, memory_world):
    memory_world.add("r", "running")
    r = cli(*M, "status", "r", "--wait", "--timeout", "0.05", "--interval", "0.01")
    assert r.exit_code == 124
    assert r.stderr.startswith("error: timed out") and "left untouched" in r.stderr
    assert memory_world.runs["r"].status == "running"


def test_status_unknown_run_exits_3(cli, memory_world):
    r = cli(*M, "status", "nope")
    assert r.exit_code == 3
    assert r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr


def test_bad_run_id(cli, memory_world):
    r = cli(*M, "get", "a/b")
    assert r.exit_code == 2 and r.stderr.startswith("error: invalid run id 'a/b'\n")
    r = cli(*M, "get", "a\x1bb")
    assert r.exit_code == 2
    assert r.stderr == "error: argument 4 ('a\\x1bb') contains a control character (\\x1b)\n"


# -- cancel ----------------------------------------------------------------------------
def test_cancel_ids_outcomes_and_partial_exit(cli, world):
    world.cancel_errors.add("r3")
    r = cli(*M, "cancel", "r3", "r1", "zz", "-o", "json")
    assert r.exit_code == 7
    assert [(o["runId"], o["outcome"]) for o in json.loads(r.stdout)] == [
        ("r3", "error"),
        ("r1", "already_completed"),
        ("zz", "not_found"),
    ]


def test_bulk_cancel_refuses_off_tty_without_yes(cli, world):
    r = cli(*M, "cancel", "--status", "running")
    assert r.exit_code == 2
    assert "refusing" in r.stderr and "-y" in r.stderr
    assert world.runs["r3"].status == "running"
    assert not [c for c in world.calls if c[0] == "cancel"]


def test_bulk_cancel_dry_run_and_yes(cli, world):
    dry = cli(*M, "cancel", "--status", "running", "--dry-run", "-o", "id")
    assert dry.exit_code == 0 and dry.stdout.split() == ["r3"]
    assert world.runs["r3"].status == "running"
    done = cli(*M, "cancel", "--status", "running", "-y", "-o", "json")
    assert done.exit_code == 0
    assert json.loads(done.stdout) == [{"runId": "r3", "outcome": "cancelled", "message": None, "status": "cancelled"}]
    assert "1 run(s) match" in done.stderr


def test_bulk_cancel_prompt_on_tty(cli, world, monkeypatch):
    import wfctl.output

    monkeypatch.setattr(wfctl.output, "stream_is_tty", lambda s: True)
    no = cli(*M, "cancel", "--status", "running", "-o", "plain", input="n\n")
    assert no.exit_code == 130 and world.runs["r3"].status == "running"
    assert no.stderr.endswith("[y/N] nothing cancelled\n") and "error:" not in no.stderr
    yes = cli(*M, "cancel", "--status", "running", "-o", "plain", input="y\n")
    assert yes.exit_code == 0 and world.runs["r3"].status == "cancelled"
    assert "[y/N]" in yes.stderr


def test_cancel_reason_limit(cli, world):
    r = cli(*M, "cancel", "r3", "--reason", "x" * 501)
    assert r.exit_code == 2 and "500" in r.stderr
    assert world.runs["r3"].status == "running"


def test_unsupported_operation_exit_6(cli, world, monkeypatch):
    from tests.doubles.memory_backend import MemoryBackend

    monkeypatch.setattr(MemoryBackend, "capabilities", MemoryBackend.capabilities - {"wake"})
    monkeypatch.setattr(
        MemoryBackend, "unsupported_reasons", {"wake": "the memory backend has no sleeps to wake"}, raising=False
    )
    r = cli(*M, "wake", "r3")
    assert r.exit_code == 6
    assert r.stderr == "error: the memory backend has no sleeps to wake\n"


# -- tail ------------------------------------------------------------------------------
def test_tail_jsonl_end_line_and_exit_code(cli, memory_world):
    memory_world.add("r", "running", script=["running", "completed"])
    r = cli(*M, "tail", "r", "--live", "-o", "jsonl")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[0]["kind"] == "event" and lines[0]["type"] == "run_created"
    assert lines[-1] == {"kind": "end", "runId": "r", "status": "completed", "offset": lines[-2]["offset"]}
    assert r.exit_code == 0
    resumed = cli(*M, "tail", "r", "--offset", "1", "-o", "jsonl")
    assert [json.loads(line)["index"] for line in resumed.stdout.splitlines()[:-1]] == [2, 3]


# -- start -----------------------------------------------------------------------------
def test_start_input_parsing_and_wait(cli, memory_world):
    r = cli(*M, "start", "wf", "--input", "a=1", "--input", "b=x", "--wait", "--interval", "0.01", "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["input"] == {"a": 1, "b": "x"} and doc["status"] == "completed"
    bad = cli(*M, "start", "wf", "--input-json", "{nope")
    assert bad.exit_code == 2 and "not valid JSON" in bad.stderr


# -- dashboard -------------------------------------------------------------------------
def test_dashboard_once_json(cli, world):
    r = cli(*M, "dashboard", "--once", "-o", "json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["counts"]["failed"] == 1 and doc["total"] == 3
    table = cli(*M, "dashboard", "--once", "-o", "table")
    assert table.exit_code == 0
    assert "Runs by status" in table.stdout and "boom: bad input" in table.stdout


# -- errors ----------------------------------------------------------------------------
def test_internal_error_is_one_line_and_debug_shows_traceback(cli, memory_world, monkeypatch):
    from tests.doubles.memory_backend import MemoryBackend

    def broken(self, run_id):
        raise RuntimeError("kaput")

    monkeypatch.setattr(MemoryBackend, "get_run", broken)
    r = cli(*M, "get", "x")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == "error: internal error: RuntimeError: kaput"
    assert "Traceback" not in r.stderr
    d = cli(*M, "get", "x", "--debug")
    assert "Traceback" in d.stderr


def test_usage_error_format(cli):
    r = cli("list", "--limit", "abc")
    assert r.exit_code == 2
    assert r.stderr == "error: invalid --limit 'abc': not a whole number\nhint: a whole number from 1 to 1000000\n"
    r = cli("list", "--bogus")
    assert r.exit_code == 2
    assert r.stderr == "error: No such option: --bogus\nhint: see 'wfctl list --help'\n"
