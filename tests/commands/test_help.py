"""Help that teaches: examples on every command, option values and duration formats in the help, the global
options on every subcommand's help, ``RUN_ID`` in usage lines, whole-sentence summaries, and a ``--version``
and ``--help`` that import nothing heavy (README, Commands)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    "get",
    "list",
    "status",
    "cancel",
    "wake",
    "resume",
    "tail",
    "dashboard",
    "start",
    "rerun",
    "completion",
    "config view",
    "config use",
    "config set",
    "config profiles",
    "config path",
    "config doctor",
]


def help_of(cli, command: str) -> str:
    r = cli(*command.split(), "--help")
    assert r.exit_code == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "completion"])
def test_every_command_shows_two_or_three_examples(cli, command):
    text = help_of(cli, command)
    examples = text.split("Examples:\n", 1)[1].rstrip("\n").splitlines()
    assert 2 <= len(examples) <= 3
    assert all(line.startswith("    wfctl ") or line.startswith('    $EDITOR "$(wfctl') for line in examples)


@pytest.mark.parametrize("command", COMMANDS)
def test_subcommand_help_lists_the_global_options(cli, command):
    text = help_of(cli, command)
    section = text.split("Global options (before or after the command):\n", 1)[1]
    for option in (
        "-p, --profile NAME",
        "-o, --output table|plain|json|jsonl|id",
        "--color auto|always|never",
        "--time relative|iso|local",
        "--fields FIELD,...",
        "--data-dir DIR",
        "-y, --yes",
    ):
        assert option in section


def test_option_values_show_their_choices(cli):
    text = help_of(cli, "")  # the root help
    assert "-o, --output table|plain|json|jsonl|id" in text
    assert "--color auto|always|never" in text and "--time relative|iso|local" in text
    assert "<str>" not in text and "<int>" not in text and "<float>" not in text
    for command in COMMANDS:
        assert "<str>" not in help_of(cli, command) and "<float>" not in help_of(cli, command)
    assert "--sort desc|asc" in help_of(cli, "list")


@pytest.mark.parametrize(
    "command,default", [("status", "2s"), ("get", "1s"), ("tail", "1s"), ("dashboard", "2s"), ("start", "1s")]
)
def test_durations_say_their_format_and_default(cli, command, default):
    text = " ".join(help_of(cli, command).split())
    assert "--interval DURATION" in text
    assert (
        "Format: a number of seconds (2, 0.5) or a duration with units: 500ms, 1s, 10m, 2h, 1d, 1h30m. "
        f"[default: {default}]"
    ) in text


def test_timeout_and_since_say_their_format(cli):
    status = " ".join(help_of(cli, "status").split())
    assert (
        "--timeout DURATION Give up waiting after this long (exit 124) [default: wait without limit]. Format:" in status
    )
    listing = " ".join(help_of(cli, "list").split())
    assert (
        "--since WHEN Created after. Format: a duration ago (30m, 2h, 7d) or an RFC 3339 time (2026-11-22T04:00:00Z)."
    ) in listing


@pytest.mark.parametrize(
    "command,usage",
    [
        ("get", "Usage: wfctl get [OPTIONS] RUN_ID"),
        ("tail", "Usage: wfctl tail [OPTIONS] RUN_ID"),
        ("wake", "Usage: wfctl wake [OPTIONS] RUN_ID"),
        ("status", "Usage: wfctl status [OPTIONS] RUN_ID..."),
        ("cancel", "Usage: wfctl cancel [OPTIONS] [RUN_ID...]"),
        ("start", "Usage: wfctl start [OPTIONS] WORKFLOW"),
        ("rerun", "Usage: wfctl rerun [OPTIONS] [RUN_ID...]"),
        ("resume", "Usage: wfctl resume [OPTIONS] RUN_ID"),
        ("config set", "Usage: wfctl config set [OPTIONS] KEY VALUE"),
        ("config use", "Usage: wfctl config use [OPTIONS] PROFILE"),
    ],
)
def test_usage_lines_name_arguments_plainly(cli, command, usage):
    text = help_of(cli, command)
    assert text.splitlines()[0] == usage
    assert "{" not in text.splitlines()[0]


def test_command_summaries_are_whole_sentences(cli):
    text = help_of(cli, "")
    block = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    summaries: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name, _, rest = line.strip().partition(" ")
            summaries[name] = rest.strip()
        else:
            summaries[name] += " " + line.strip()
    assert summaries["completion"] == (
        "Print the completion script for a shell (e.g. wfctl completion bash > /etc/bash_completion.d/wfctl)."
    )
    assert all(s.endswith(".") and "..." not in s for s in summaries.values()), summaries


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import sys\nfrom wfctl.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\n'.join(sorted(sys.modules)))" % (args,)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stderr.split())


def test_version_answers_before_anything_heavy_is_imported():
    modules = _modules_after(["--version"])
    assert not {m for m in modules if m.split(".")[0] in ("typer", "rich", "httpx", "click")}
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "wfctl.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout.startswith("wfctl ")
    assert not [line for line in out.stderr.splitlines() if "typer" in line or "rich" in line or "httpx" in line]


def test_help_imports_no_backend_httpx_or_rich():
    modules = _modules_after(["--help"]) | _modules_after(["tail", "--help"])
    heavy = {
        m
        for m in modules
        if m.split(".")[0] in ("httpx", "rich", "cbor2", "psycopg")
        # wfctl.backends itself is the registry (names only); no backend module may load
        or m.startswith(("wfctl.backends.", "wfctl.render", "wfctl.http"))
    }
    assert heavy == set()


def test_every_command_has_its_module_and_only_its_module_is_imported():
    """A command line naming a command imports only that command's module (docs/architecture.md, "Start-up");
    the whole application (help, unknown commands, completion) has every command of COMMAND_MODULES."""
    from wfctl.app import COMMAND_MODULES, app

    names = [info.name for info in app.registered_commands] + [info.name for info in app.registered_groups]
    assert names == list(COMMAND_MODULES)
    assert {c.split()[0] for c in COMMANDS} == set(COMMAND_MODULES)
    for name in ("status", "config"):
        modules = _modules_after([name, "--help"])
        loaded = {m.rsplit(".", 1)[1] for m in modules if m.startswith("wfctl.commands.")}
        # commands.completion is the exception: the global options complete their values through it
        assert loaded & set(COMMAND_MODULES.values()) - {"completion"} == {COMMAND_MODULES[name]}, name
    whole = _modules_after(["--help"])
    assert {f"wfctl.commands.{module}" for module in COMMAND_MODULES.values()} <= whole
