"""Completion scripts, the run-id cache, and what TAB answers (README, "Install"); the shells themselves:
tests/commands/test_completion_shells.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wfctl import cache
from wfctl.app import completion_script as script
from wfctl.render import RUN_FIELDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_match_generator(cli, shell):
    r = cli("completion", shell)
    assert r.exit_code == 0
    committed = (ROOT / "completions" / f"wfctl.{shell}").read_text()
    assert r.stdout == committed == script(shell), (
        f"completions/wfctl.{shell} drifted: regenerate with 'wfctl completion {shell} > completions/wfctl.{shell}'"
    )


def test_zsh_script_has_compdef_on_its_first_line():
    # compinit registers a file of $fpath only if its first line is "#compdef NAME"
    assert script("zsh").startswith("#compdef wfctl\n")


def test_completion_unknown_shell(cli):
    r = cli("completion", "tcsh")
    assert r.exit_code == 2 and "bash, zsh or fish" in r.stderr


def test_listing_fills_run_id_cache(cli, memory_world):
    memory_world.add("wrun_1", "completed")
    memory_world.add("wrun_2", "running", minutes=1)
    cli("--backend", "memory", "list")
    assert cache.read() == ["wrun_2", "wrun_1"]
    assert cache.complete("wrun_1") == ["wrun_1"]


# -- answering TAB (the protocol of the scripts; the shells themselves: tests/commands/test_completion_shells.py) --


def tab(shell: str, *words: str, env: dict[str, str] | None = None) -> list[str]:
    """What wfctl answers a script of ``shell``: bash sends the line, zsh and fish the words (command word first)."""
    import typer

    from wfctl.app import app
    from wfctl.commands.completion import answer

    return answer(typer.main.get_command(app), shell, list(words), env={} if env is None else env).splitlines()


@pytest.fixture
def profiles(config_file):
    config_file.write_text('current_profile = "ops"\n[profiles.ops]\nbackend = "temporal"\n[profiles.dev]\n')
    cache.remember(["wrun_B", "wrun_A"])


def test_tab_values_and_descriptions(profiles):
    assert tab("zsh", "wfctl", "config", "use", "") == ["plain", "ops\tcurrent, temporal", "dev"]
    assert tab("fish", "wfctl", "get", "x", "--co") == [
        "plain",
        "--color\tColour in tables [default: auto; NO_COLOR, FORCE_COLOR]",
    ]
    assert tab("bash", "wfctl get x --co") == ["plain", "--color"]  # bash shows no descriptions
    assert tab("zsh", "wfctl", "get", "") == ["plain", "wrun_B", "wrun_A"]  # most recent first
    assert tab("zsh", "wfctl", "status", "wrun_A", "") == ["plain", "wrun_B"]  # not the ids already given
    assert tab("zsh", "wfctl", "tail", "--stream", "") == ["plain", "wrun_B", "wrun_A"]  # bare --stream is a flag
    assert tab("zsh", "wfctl", "tail", "--", "") == ["plain", "wrun_B", "wrun_A"]
    assert tab("zsh", "wfctl", "config", "set", "time", "") == ["plain", "relative", "iso", "local"]
    assert tab("zsh", "wfctl", "config", "set", "tok")[1:] == [
        "token\tbearer token (the file must be mode 0600)",
        "token_env\tname of the environment variable holding the token",
    ]
    assert tab("zsh", "wfctl", "list", "--sort", "") == ["plain", "desc", "asc"]
    assert tab("zsh", "wfctl", "--backend", "w") == ["plain", "workflow-sdk", "workflow-runs-v1", "workflow-runs-v2"]


def test_tab_fields_follow_the_command():
    assert tab("zsh", "wfctl", "status", "x", "--fields", "runId,s") == ["plain", "runId,status", "runId,startedAt"]
    assert tab("zsh", "wfctl", "tail", "x", "--stream", "--fields", "") == ["plain", "index", "data", "offset"]
    assert tab("zsh", "wfctl", "cancel", "--fields", "o") == ["plain", "outcome"]
    assert tab("zsh", "wfctl", "--fields", "runId,status,") == ["plain"] + [
        f"runId,status,{f}" for f in RUN_FIELDS if f not in ("runId", "status")
    ]


def test_tab_words_after_equals_and_word_breaks():
    # bash: readline replaces what follows the last word-break character of the word ("=" and ":" by default)
    assert tab("bash", "wfctl list --status=ru") == ["plain", "running"]
    assert tab("bash", "wfctl list --status=ru", env={"_WFCTL_WORDBREAKS": " \t\n"}) == ["plain", "--status=running"]
    assert tab("zsh", "wfctl", "list", "--status=ru") == ["plain", "--status=running"]
    assert tab("fish", "wfctl", "--data-dir=a") == ["dirs\t--data-dir=\ta"]
    assert tab("bash", "wfctl --data-dir=a") == ["dirs\t\ta"]
    assert tab("bash", "wfctl start w --input-file ") == ["files\t\t"]
    assert tab("bash", "wfctl get 'wrun_") == ["plain"]  # an open quote is part of no id; nothing breaks


def test_tab_offers_nothing_where_nothing_fits():
    for words in (
        ("wfctl", "start", "demo", ""),  # a workflow name: free text
        ("wfctl", "cancel", "--reason", ""),
        ("wfctl", "--url", ""),
        ("wfctl", "nosuchcommand", ""),
        ("wfctl", "get", "x", ""),  # the one run id is given
        ("wfctl", "list", "--status=", "x"),
    ):
        assert tab("zsh", *words) == ["plain"], words
    assert tab("complete_bash", "wfctl", "get", "") == []  # a script of an earlier wfctl: no answer


def test_tab_never_fails_on_a_broken_config_or_cache(config_file, tmp_path, monkeypatch):
    config_file.write_bytes(b"\xff[[not toml")
    monkeypatch.setenv("WFCTL_CACHE_DIR", str(tmp_path / "file"))
    (tmp_path / "file").write_bytes(b"\xff\xfe")
    assert tab("zsh", "wfctl", "-p", "") == ["plain"]
    assert tab("zsh", "wfctl", "get", "") == ["plain"]


def test_run_id_completion_subprocess_reads_only_cache(tmp_path):
    env = {
        **os.environ,
        "WFCTL_CACHE_DIR": str(tmp_path),
        "_WFCTL_COMPLETE": "bash",
        # a backend that would fail if contacted: completion must not touch it
        "WFCTL_BACKEND": "temporal",
        "WFCTL_URL": "http://127.0.0.1:9",
    }
    (tmp_path / "recent-run-ids").write_text("wrun_AB\nwrun_XY\nwrun_AC\n")
    out = subprocess.run(
        [sys.executable, "-m", "wfctl.cli", "wfctl get wrun_A"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0
    assert out.stdout.split() == ["plain", "wrun_AB", "wrun_AC"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("wfctl get ", ["wrun_AB"]),
        ("wfctl list --fields runId,", None),
        ("wfctl -p ", ["ops"]),
        ("wfctl list --status ", ["pending", "running", "waiting", "completed", "failed", "cancelled"]),
    ],
)
def test_tab_imports_no_backend_httpx_or_rich(tmp_path, line, expected):
    """TAB stays fast: under the completion variables wfctl imports no backend, HTTP client or Rich."""
    (tmp_path / "recent-run-ids").write_text("wrun_AB\n")
    (tmp_path / "config.toml").write_text("[profiles.ops]\n")
    env = {
        **os.environ,
        "WFCTL_CACHE_DIR": str(tmp_path),
        "WFCTL_CONFIG": str(tmp_path / "config.toml"),
        "_WFCTL_COMPLETE": "bash",
    }
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "wfctl.cli", line],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "plain" and (expected is None or lines[1:] == expected)
    imported = [row.rsplit("|", 1)[-1].strip() for row in out.stderr.splitlines() if row.startswith("import time:")]
    heavy = [
        m
        for m in imported
        if m.split(".")[0] in ("httpx", "rich", "cbor2", "psycopg", "httpx_sse")
        # wfctl.backends itself is the registry (names only); no backend module may load
        or m.startswith(("wfctl.backends.", "wfctl.http", "wfctl.sse", "wfctl.durable_streams", "wfctl.render.views"))
    ]
    assert heavy == []
    assert "wfctl.commands.completion" in imported
