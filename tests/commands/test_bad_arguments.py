"""Arguments as user input: bad bytes, control characters, huge values, zero and negative numbers and
durations are usage errors (exit 2, never 1); every duration option takes the same forms; an option without
its value says what it takes; options that do not apply are refused, not ignored (README, Commands)."""

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "workflow-sdk-demo"
RUNNING = "wrun_01M81013R4XC1AH1NY0GMYME33"  # demoWorkflow, sleeping in the recording
M = ("--backend", "memory")
DURATION_HINT = "hint: a number of seconds (2, 0.5) or a duration with units: 500ms, 1s, 10m, 2h, 1d, 1h30m"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(DEMO / ".workflow-data", tmp_path / "app" / ".workflow-data")
    return tmp_path / "app"


@pytest.fixture
def world(memory_world):
    memory_world.add("r1", "completed", minutes=1)
    memory_world.add("r2", "running", minutes=2)
    return memory_world


def lines(r):
    return r.stderr.splitlines()


# -- bytes, control characters, sizes --------------------------------------------------------------------------
def test_undecodable_bytes_are_a_usage_error(cli, world):
    r = cli(*M, "list", "--since", "\udcff")  # how Python hands over the byte 0xff from argv
    assert r.exit_code == 2
    assert lines(r) == [
        "error: argument 5 ('\\xff') is not valid UTF-8 text",
        "hint: arguments are UTF-8 text; check the shell's locale (LANG, LC_ALL)",
    ]
    assert cli(*M, "get", "wrun_\udcfe").exit_code == 2


def test_paths_may_hold_any_bytes(cli, tmp_path):
    r = cli("--data-dir", str(tmp_path / "d\udcff"), "list")
    assert r.exit_code == 3  # looked for, not refused as text
    assert "does not exist" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--workflow", "a\x07b"),
        ("cancel", "r2", "--reason", "x\x1b[2J"),
        ("-p", "a\x00b", "list"),
        ("tail", "r2", "--type", "\x9bstep"),
    ],
)
def test_control_characters_are_a_usage_error(cli, world, args):
    r = cli(*M, *args)
    assert r.exit_code == 2
    assert lines(r)[0].startswith("error: argument ") and "contains a control character" in lines(r)[0]


def test_huge_values(cli, world, project):
    r = cli(*M, "get", "w" * 600)
    assert (r.exit_code, lines(r)[0]) == (2, f"error: invalid run id '{'w' * 40}'…: 600 characters; at most 512")
    r = cli(*M, "list", "--workflow", "w" * 5000)
    assert (r.exit_code, lines(r)[0]) == (2, "error: invalid --workflow: 5000 characters; at most 1024")
    r = cli(*M, "list", "--limit", "9" * 40)
    assert (r.exit_code, lines(r)[0]) == (2, "error: invalid --limit '" + "9" * 40 + "': not a whole number")
    r = cli(*M, "list", "--limit", "9" * 20)
    assert (r.exit_code, lines(r)[0]) == (2, "error: invalid --limit 99999999999999999999: at most 1000000")
    r = cli(*M, "status", "r2", "--wait", "--interval", "9" * 30)
    assert (r.exit_code, lines(r)[0]) == (2, f"error: invalid --interval '{'9' * 30}': at most 1h")
    r = cli(*M, "list", "--since", "99999999d")
    assert (r.exit_code, lines(r)) == (
        2,
        [
            "error: invalid --since '99999999d': at most 36600d",
            "hint: use a duration ago (30m, 2h, 7d) or an RFC 3339 time (2026-11-22T04:00:00Z)",
        ],
    )
    # an id longer than any the local world can hold is one it does not know: 3, not a crash
    r = cli("get", "w" * 300, cwd=project)
    assert (r.exit_code, lines(r)) == (3, [f"error: run {'w' * 80} not found"])


@pytest.mark.parametrize(
    "args,first",
    [
        (("list", "--limit", "0"), "error: invalid --limit 0: must be at least 1"),
        (("list", "--limit", "-3"), "error: invalid --limit -3: must be at least 1"),
        (("cancel", "--status", "running", "--limit", "0"), "error: invalid --limit 0: must be at least 1"),
        (("tail", "r2", "--last", "0"), "error: invalid --last 0: must be at least 1"),
        (("dashboard", "--recent", "0"), "error: invalid --recent 0: must be at least 1"),
        (("status", "r2", "--wait", "--interval", "0"), "error: invalid --interval '0': must be more than 0"),
        (("status", "r2", "--wait", "--interval", "-1s"), "error: invalid --interval '-1s': must be more than 0"),
        (("get", "r2", "--wait", "--timeout", "0s"), "error: invalid --timeout '0s': must be more than 0"),
        (("tail", "r2", "--interval", "0ms"), "error: invalid --interval '0ms': must be more than 0"),
        (("list", "--since", "0"), "error: invalid --since '0': must be more than 0"),
    ],
)
def test_zero_and_negative_limits_and_intervals(cli, world, args, first):
    r = cli(*M, *args)
    assert (r.exit_code, lines(r)[0]) == (2, first)
    assert not [c for c in world.calls if c[0] in ("list", "cancel")]


def test_an_unknown_id_is_3(cli, world, project):
    assert cli(*M, "get", "nope").exit_code == 3
    r = cli("get", "wrun_01M81014YNKJFXJ0NSSJ1X6Y3Z", cwd=project)
    assert (r.exit_code, lines(r)[0]) == (
        3,
        f"error: run wrun_01M81014YNKJFXJ0NSSJ1X6Y3Z not found in {(project / '.workflow-data').resolve()}",
    )


# -- durations: one declaration, the same forms everywhere ------------------------------------------------------
def test_every_duration_option_is_declared_once():
    from typer.main import get_command

    from wfctl.app import app
    from wfctl.commands.options import Duration, When

    root = get_command(app)
    seen = {}
    for name, command in root.commands.items():
        for param in command.params:
            if param.name in ("interval", "timeout"):
                assert isinstance(param.type, Duration), (name, param.name)
                seen.setdefault(param.name, []).append(name)
            if param.name in ("since", "until"):
                assert isinstance(param.type, When), (name, param.name)
    assert sorted(seen["interval"]) == ["dashboard", "get", "rerun", "resume", "start", "status", "tail"]
    assert sorted(seen["timeout"]) == ["get", "rerun", "resume", "start", "status"]


@pytest.mark.parametrize(
    "value,seconds",
    [("2", 2.0), ("0.5", 0.5), ("1s", 1.0), ("500ms", 0.5), ("10m", 600.0), ("1h30m", 5400.0), ("2H", 7200.0)],
)
def test_duration_forms(value, seconds):
    from wfctl.commands.options import Duration

    assert Duration().convert(value, None, None) == seconds


@pytest.mark.parametrize(
    "command", [("status", "r1", "--wait"), ("get", "r1", "--wait"), ("tail", "r1"), ("start", "wf", "--wait")]
)
@pytest.mark.parametrize("value", ["2", "1s", "500ms", "10m"])
def test_interval_takes_every_form_on_every_command(cli, world, command, value):
    r = cli(*M, *command, "--interval", value)
    assert r.exit_code == 0, r.stderr


def test_tail_interval_1s_on_the_local_world(cli, project):
    r = cli("tail", "wrun_01M81014TS51H8GCDZKV8CP8WA", "--interval", "1s", "-o", "jsonl", cwd=project)
    assert r.exit_code == 0, r.stderr


def test_bad_duration(cli, world):
    r = cli(*M, "status", "r1", "--wait", "--timeout", "soon")
    assert (r.exit_code, lines(r)) == (2, ["error: invalid --timeout 'soon': not a duration", DURATION_HINT])


# -- options without their value -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args,expected",
    [
        (("get", "RUN", "-o"), ["error: option -o needs a value", "hint: one of: table, plain, json, jsonl, id"]),
        (
            ("get", "RUN", "--output"),
            ["error: option --output needs a value", "hint: one of: table, plain, json, jsonl, id"],
        ),
        (("get", "RUN", "--time"), ["error: option --time needs a value", "hint: one of: relative, iso, local"]),
        (
            ("list", "--fields"),
            ["error: option --fields needs a value", "hint: comma-separated field names, e.g. runId,status,createdAt"],
        ),
        (("-o",), ["error: option -o needs a value", "hint: one of: table, plain, json, jsonl, id"]),
        (
            ("get", "RUN", "-o", "--quiet"),
            ["error: option -o needs a value", "hint: one of: table, plain, json, jsonl, id"],
        ),
        (("list", "--color"), ["error: option --color needs a value", "hint: one of: auto, always, never"]),
        (
            ("tail", "RUN", "--last"),
            [
                "error: option --last needs a value",
                "hint: --last N: Only the last N events (with --stream: --start-index -N).",
            ],
        ),
        (
            ("tail", "RUN", "--last", "--live"),
            [
                "error: option --last needs a value (it was followed by the option --live)",
                "hint: a whole number from 1 to 1000000",
            ],
        ),
        (
            ("status", "RUN", "--wait", "--timeout"),
            [
                "error: option --timeout needs a value",
                "hint: --timeout DURATION: Give up waiting after this long (exit 124) "
                "[default: wait without limit]. Format: a number of seconds (2, 0.5) "
                "or a duration with units: 500ms, 1s, 10m, 2h, 1d, 1h30m.",
            ],
        ),
    ],
)
def test_an_option_without_its_value_says_what_it_takes(cli, args, expected):
    r = cli(*args)
    assert (r.exit_code, lines(r)) == (2, expected)
    assert "No such command" not in r.stderr and "Missing command" not in r.stderr


# -- options that do not apply are refused ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ("tail", "r2", "--stream", "--last", "2"),
            ["error: --last counts events; with --stream use --start-index", "hint: --start-index -2"],
        ),
        (
            ("tail", "r2", "--start-index", "1"),
            [
                "error: --start-index applies only with --stream",
                "hint: --start-index picks stream chunks; for events use --last N",
            ],
        ),
        (
            ("tail", "r2", "--stream", "--type", "x"),
            ["error: --type selects events; a stream has chunks, not typed events", "hint: drop --type"],
        ),
        (
            ("tail", "r2", "--stream", "--start-index", "1", "--offset", "3"),
            ["error: give --start-index or --offset, not both"],
        ),
        (
            ("status", "r2", "--timeout", "5m"),
            ["error: --timeout applies only with --wait", "hint: add --wait, or drop --timeout"],
        ),
        (
            ("get", "r2", "--interval", "5"),
            ["error: --interval applies only with --wait", "hint: add --wait, or drop --interval"],
        ),
        (
            ("dashboard", "--once", "--interval", "5"),
            [
                "error: --interval applies only with a live dashboard",
                "hint: --once prints one snapshot; drop --interval",
            ],
        ),
    ],
)
def test_options_that_do_not_apply_are_refused(cli, world, args, expected):
    r = cli(*M, *args)
    assert (r.exit_code, lines(r), r.stdout) == (2, expected, "")


def test_local_world_refuses_a_bogus_offset_and_an_unknown_type(cli, project):
    r = cli("tail", RUNNING, "--offset", "bogus", cwd=project)
    assert (r.exit_code, lines(r)) == (
        2,
        [
            "error: invalid --offset 'bogus': event offsets look like evnt_<26 characters>",
            "hint: use an offset wfctl printed: the 'offset' of a -o jsonl line, or the one printed when a tail is "
            "interrupted",
        ],
    )
    r = cli("tail", RUNNING, "--stream", "--offset", "evnt_01M81013WBR6AQ01MVPAMHA8W5", cwd=project)
    assert (r.exit_code, lines(r)[0]) == (
        2,
        "error: invalid --offset 'evnt_01M81013WBR6AQ01MVPAMHA8W5': stream offsets look like chnk_<26 characters>[#N]",
    )
    r = cli("tail", RUNNING, "--type", "step_complete", cwd=project)
    assert (r.exit_code, lines(r)[0]) == (
        2,
        "error: --type 'step_complete' matches no event type of the Workflow SDK (local world) backend",
    )
    assert lines(r)[1].startswith("hint: event types: attr_set, hook_conflict, ")
    ok = cli("tail", RUNNING, "--type", "step_*", "-o", "jsonl", cwd=project)
    types = [line.split('"type":"')[1].split('"')[0] for line in ok.stdout.splitlines() if '"kind":"event"' in line]
    assert ok.exit_code == 12 and types == ["step_created", "step_started", "step_completed"]


def test_printed_offsets_are_accepted(cli, project):
    first = cli("tail", RUNNING, "-o", "jsonl", cwd=project)
    offset = [line for line in first.stdout.splitlines() if '"kind":"event"' in line][1].split('"offset":"')[1][:31]
    again = cli("tail", RUNNING, "--offset", offset, "-o", "jsonl", cwd=project)
    assert again.exit_code == 12 and again.stdout.count('"kind":"event"') == first.stdout.count('"kind":"event"') - 2


def test_list_query_without_a_query_language_is_refused(cli, project):
    r = cli("list", "--query", "WorkflowType = 'x'", cwd=project)
    assert (r.exit_code, lines(r), r.stdout) == (
        6,
        [
            "error: --query: the Workflow SDK (local world) backend has no query language",
            "hint: filter with --status, --workflow, --search, --since and --until",
        ],
        "",
    )


def test_a_data_dir_without_a_world_is_refused(cli, project):
    r = cli("--data-dir", str(project), "list")  # the project, not its .workflow-data
    assert (r.exit_code, lines(r), r.stdout) == (
        2,
        [
            f"error: {project} (flag --data-dir) holds no Workflow SDK local world: it has none of runs, events, "
            "steps, streams, hooks, waits, version.txt, .locks",
            f"hint: did you mean {project / '.workflow-data'}?",
        ],
        "",
    )
    empty = project / "empty"
    empty.mkdir()
    r = cli("--data-dir", str(empty), "list", "-o", "json")  # an empty directory: a world not written to yet
    assert (r.exit_code, r.json()["data"]) == (0, [])
