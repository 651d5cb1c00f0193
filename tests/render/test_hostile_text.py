"""Hostile engine text through every renderer: one run whose names, statuses, errors, values, steps, sleeps,
hooks, streams, attributes, events, wake message and cancel message are all escape sequences, controls and
Rich markup (``World.add_hostile`` in tests/doubles/memory_backend.py), shown by every command in every format and at
every width. README, "Output": engine text prints literally and neutralised, and names are shortened only at
the Workflow SDK's own separator (``//``).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.doubles.memory_backend import HOSTILE, HOSTILE_WORKFLOW, strings
from wfctl.output import clean

M = ("--backend", "memory")
NOW = "2026-11-22T04:30:00.000Z"
ESCAPED = clean(HOSTILE)  # what a terminal gets instead: visible \xNN escapes
RAW = ("\x1b", "\x07", "\x9b", "\u202e")

#: command -> (arguments, exit code): the run failed (10); its cancel is refused by the engine (5).
COMMANDS = {
    "get": (("get", "wrun_hostile"), 0),
    "list": (("list",), 0),
    "status": (("status", "wrun_hostile"), 10),
    "tail": (("tail", "wrun_hostile"), 10),
    "dashboard": (("dashboard", "--once"), 0),
    "outcomes": (("cancel", "wrun_hostile"), 5),
    "wake": (("wake", "wrun_hostile"), 0),
}
FORMATS = ("table", "plain", "json", "jsonl", "id")


@pytest.fixture
def hostile(memory_world, monkeypatch):
    from tests.doubles.memory_backend import MemoryBackend
    from wfctl.backends.base import WAKE

    monkeypatch.setattr(MemoryBackend, "capabilities", MemoryBackend.capabilities | {WAKE})
    memory_world.add_hostile()
    memory_world.cancel_errors.add("wrun_hostile")
    memory_world.add("r2", "completed", workflow="demoWorkflow")
    return memory_world


def markup_fragments(text: str) -> list[str]:
    """Pieces of a markup tag left over once the whole tags are taken out (a name cut inside a tag)."""
    rest = re.sub(r"\[/?(bold )?red\]", "", text)
    return re.findall(r"red\]|\[/?(?:bold )?red(?![a-z\]])", rest)


#: Every command in every format; tables (the only output that depends on the width) at three widths.
CASES = [
    (command, fmt, width)
    for command in sorted(COMMANDS)
    for fmt in FORMATS
    for width in (("60", "80", "160") if fmt == "table" else ("80",))
]


@pytest.mark.parametrize("command,fmt,width", CASES, ids=["-".join(case) for case in CASES])
def test_every_view_neutralises_hostile_text(cli, hostile, command, fmt, width):
    args, code = COMMANDS[command]
    r = cli(*M, *args, "-o", fmt, env={"COLUMNS": width, "WFCTL_NOW": NOW})
    assert r.exit_code == code, r.stderr
    for stream in (r.stdout, r.stderr):
        assert not any(ch in stream for ch in RAW), "a raw control character reached the terminal"
    if fmt in ("json", "jsonl"):
        docs = [json.loads(r.stdout)] if fmt == "json" else [json.loads(line) for line in r.stdout.splitlines()]
        assert any(HOSTILE in text for text in strings(docs)), "JSON carries the engine's text exactly"
    elif fmt != "table" or width == "160":
        # Where nothing wraps, no line holds a piece of a tag: names are shortened only at "//", and text
        # that gives way ends in "…". (At 60 and 80 columns, an id too long for its column wraps inside
        # it, every character kept; such a wrap may fall inside a tag.)
        assert markup_fragments(r.stdout) == []
    if fmt == "plain":
        assert "…" not in r.stdout, "plain output is for programs: never shortened"
    if fmt == "table" and command not in ("wake", "tail"):
        # Tables fit the terminal; wake's sentence and tail's lines are printed whole (the terminal wraps them).
        assert all(len(line) <= int(width) for line in r.stdout.splitlines())


def test_list_shortens_names_only_at_the_sdks_separator(cli, hostile):
    r = cli(*M, "list", "-o", "table", env={"COLUMNS": "200", "WFCTL_NOW": NOW})
    assert r.stdout.splitlines()[2] == (
        "wrun_hostile   [bold red]alarm[/bold red]/" + ESCAPED + "   ✗ failed      25m ago       5.0s"
    )
    # plain and JSON carry the name as the engine gave it
    plain = cli(*M, "list", "-o", "plain", env={"WFCTL_NOW": NOW}).stdout
    assert plain.splitlines()[0].split("\t")[:3] == ["wrun_hostile", clean(HOSTILE_WORKFLOW), "failed"]
    doc = cli(*M, "list", "-o", "json").json()
    assert doc["data"][0]["workflowName"] == HOSTILE_WORKFLOW


def test_a_name_gives_way_with_an_ellipsis_never_as_a_fragment(cli, hostile):
    r = cli(*M, "list", "-o", "table", env={"COLUMNS": "80", "WFCTL_NOW": NOW})
    assert r.stdout == (
        "RUN ID         WORKFLOW                                    STATUS        CREATED\n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        "wrun_hostile   [bold red]alarm[/bold red]/\\x1b]0;pwned\\…   ✗ failed      25m ago\n"
        "r2             demoWorkflow                                ✓ completed   30m ago\n"
    )


def test_status_keeps_the_engines_word_apart(cli, hostile):
    r = cli(*M, "status", "wrun_hostile", "r2", "-o", "table", env={"COLUMNS": "80", "WFCTL_NOW": NOW})
    assert r.exit_code == 10
    assert r.stdout == (
        "wrun_hostile  ✗ failed     (FAILED \\x1b]0;pwned\\x0…  boom \\x1b]0;pwned\\x07[red]…\n"
        "r2            ✓ completed                            finished 29m ago           \n"
    )


def test_outcomes_and_wake_exactly(cli, hostile):
    r = cli(*M, "cancel", "wrun_hostile", "-o", "plain")
    assert (r.exit_code, r.stdout) == (5, f"wrun_hostile\terror\trefused: {ESCAPED}\n")
    r = cli(*M, "wake", "wrun_hostile", "--dry-run", "-o", "json")
    assert r.json()["correlationIds"] == ["wait_" + HOSTILE]
    r = cli(*M, "wake", "wrun_hostile", "-o", "table")
    assert (r.exit_code, r.stdout, r.stderr) == (
        0,
        f"stopped 1 sleep of wrun_hostile: wait_{ESCAPED}\n",
        f"woke: {ESCAPED}\n",
    )


def test_tail_plain_and_jsonl_carry_the_whole_data(cli, hostile):
    r = cli(*M, "tail", "wrun_hostile", "-o", "plain")
    lines = r.stdout.splitlines()
    assert lines[3] == (
        "2026-11-22T04:05:00.000Z\trun_failed\t\t\t"
        '{"\\u001b]0;pwned\\u0007[red]x[/red] \\u001b[2J\\u202e\\u009b31m":'
        '"\\u001b]0;pwned\\u0007[red]x[/red] \\u001b[2J\\u202e\\u009b31m"}'
    )
    r = cli(*M, "tail", "wrun_hostile", "-o", "jsonl")
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert events[1]["type"] == "step_failed " + HOSTILE and events[1]["data"] == {"error": {"message": HOSTILE}}
    assert events[-1] == {"kind": "end", "runId": "wrun_hostile", "status": "failed", "offset": "3"}


def test_get_table_shows_everything_literally(cli, hostile):
    r = cli(*M, "get", "wrun_hostile", "-o", "table", "-v", env={"COLUMNS": "200", "WFCTL_NOW": NOW})
    out = r.stdout
    for shown in (
        f"Workflow     [bold red]alarm[/bold red]/{ESCAPED}",
        "Failed       2026-11-22T04:05:05.000Z",
        f"[E{ESCAPED}] boom {ESCAPED}",
        f"    at {ESCAPED}",
        f"wait_{ESCAPED}",
        f"token:{ESCAPED}",
        f"ns {ESCAPED}",
        f"engine{ESCAPED}  {ESCAPED}",
        f"[red]s[/red]/{ESCAPED}  step {ESCAPED}",
    ):
        assert shown in out, shown


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", ["get", "list", "status", "dashboard"])
def test_what_a_waiting_run_waits_for_is_neutralised_too(cli, memory_world, command, fmt):
    """A hook token (and the state a run waits in) is engine text, in every view of a waiting run."""
    from datetime import datetime, timezone

    from wfctl.model import WaitingFor

    until = datetime(2026, 11, 23, tzinfo=timezone.utc)
    memory_world.add(
        "wrun_waiting",
        "waiting",
        waitingFor=WaitingFor("hook", until, "hook_1", HOSTILE, HOSTILE, f"resumeHook({json.dumps(HOSTILE)})"),
    )
    args = {"get": ("get", "wrun_waiting"), "status": ("status", "wrun_waiting")}.get(command, (command,))
    args += ("--once",) if command == "dashboard" else ()
    for width in ("60", "80", "160") if fmt == "table" else ("80",):
        r = cli(*M, *args, "-o", fmt, env={"COLUMNS": width, "WFCTL_NOW": NOW})
        assert r.exit_code == (12 if command == "status" else 0), r.stderr
        assert not any(ch in r.stdout for ch in RAW), (command, fmt, width)
        if fmt == "json":
            doc = r.json()
            found = doc["recent"][0] if command == "dashboard" else doc["data"][0] if command == "list" else doc
            assert found["waitingFor"]["token"] == found["waitingFor"]["name"] == HOSTILE  # JSON escapes it
        if fmt == "table" and command == "get" and width == "160":
            assert ESCAPED in r.stdout
