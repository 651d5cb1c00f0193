"""Completion scripts, the run-id cache, HTTP retries and redaction (README, "Install" and "Faults")."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from wfctl import cache
from wfctl.app import completion_script as script
from wfctl.errors import AuthError, NotFoundError, UnavailableError, UsageError
from wfctl.http import HttpClient
from wfctl.render import RUN_FIELDS

ROOT = Path(__file__).resolve().parent.parent


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


# -- answering TAB (the protocol of the scripts; the shells themselves: tests/test_completion_shells.py) ----------


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
        or m.startswith(("wfctl.backends", "wfctl.http", "wfctl.sse", "wfctl.durable_streams", "wfctl.render.views"))
    ]
    assert heavy == []
    assert "wfctl.commands.completion" in imported


# -- HTTP client ----------------------------------------------------------------------
def client(handler, **kw):
    c = HttpClient("http://engine.test", transport=httpx.MockTransport(handler), engine="Test", **kw)
    c._sleep = lambda s: None
    return c


def test_retries_honour_retry_after_then_succeed():
    calls, delays = [], []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503, headers={"retry-after": "2"})
        return httpx.Response(200, json={"ok": True})

    c = client(handler)
    c._sleep = delays.append
    assert c.get_json("/x") == {"ok": True}
    assert delays == [2.0, 2.0]


def test_post_not_retried_by_default():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503)

    with pytest.raises(UnavailableError):
        client(handler).json("POST", "/x")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "status,exc", [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, UsageError), (500, UnavailableError)]
)
def test_status_mapping(status, exc):
    c = client(lambda r: httpx.Response(status, json={"message": "nope"}), max_retries=0)
    with pytest.raises(exc) as info:
        c.get_json("/x")
    assert "nope" in info.value.message


def test_html_body_is_one_line():
    c = client(lambda r: httpx.Response(200, text="<html>proxy</html>", headers={"content-type": "text/html"}))
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert info.value.message == "Test answered HTTP 200 with text/html that is not JSON (GET /x)"


def test_connection_refused_is_unavailable():
    c = HttpClient("http://127.0.0.1:9", engine="Test", max_retries=1)
    c._sleep = lambda s: None
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert "unreachable" in info.value.message


def test_debug_log_redacts_token():
    lines = []
    c = client(
        lambda r: httpx.Response(200, json={}, headers={"set-cookie": "s=1"}),
        token="tok-SECRET-123",
        debug_log=lines.append,
    )
    c.get_json("/x", params={"q": "tok-SECRET-123"})
    text = "\n".join(lines)
    assert "tok-SECRET-123" not in text
    assert "authorization: ***" in text and "> GET" in text and "< 200" in text


def test_redirect_to_another_origin_is_refused_before_anything_is_sent_there():
    seen = []

    def handler(request):
        seen.append(request.url.host)
        if request.url.host == "engine.test":
            return httpx.Response(302, headers={"location": "http://other.test/y"})
        return httpx.Response(200, json={})

    with pytest.raises(UnavailableError) as info:
        client(handler, token="abc").get_json("/x")
    assert seen == ["engine.test"]  # credentials never reached other.test
    assert info.value.message == (
        "Test redirected a GET to http://other.test/y, another origin than "
        "http://engine.test: wfctl does not follow redirects away from the configured "
        "engine"
    )


def test_redirect_within_the_origin_is_followed():
    def handler(request):
        if request.url.path == "/x":
            return httpx.Response(308, headers={"location": "/x/"})
        return httpx.Response(200, json={"ok": True})

    assert client(handler).get_json("/x") == {"ok": True}


def test_redirect_loop_is_one_line():
    c = client(lambda r: httpx.Response(302, headers={"location": "/again"}))
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert "redirected GET /x in a loop" in info.value.message


def test_plain_http_engine_refuses_redirect_to_https():
    def handler(request):
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"location": "https://engine.test/x"})
        return httpx.Response(200, json={})

    with pytest.raises(UnavailableError) as info:
        client(handler).get_json("/x")
    assert "https" in info.value.hint and "http:// URL" in info.value.message


@pytest.mark.parametrize(
    "body,headers,expected",
    [
        (
            b'{"a": 1',
            {"content-type": "application/json"},
            "whose JSON ends early, after 7 bytes (Content-Length: 7): a truncated answer",
        ),
        (
            b'{"name": "caf\xe9"}',
            {"content-type": "application/json; charset=utf-8"},
            "whose body is not valid utf-8 (byte 13)",
        ),
        (b'{"name": "caf\xe9"}', {"content-type": "application/json"}, "whose body is not valid UTF-8 (byte 13)"),
        (b'{"a": 1}', {"content-type": "application/json; charset=x-no-such"}, "in an unknown charset 'x-no-such'"),
        (b'{"a": 1}', {"content-type": "application/json; charset=utf-16"}, "that is not JSON"),
        (b"[" * 100_000, {"content-type": "application/json"}, "nested too deeply"),
    ],
)
def test_bodies_that_lie_about_their_json_are_one_line(body, headers, expected):
    c = client(lambda r: httpx.Response(200, content=body, headers=headers))
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert (
        info.value.message.startswith("Test answered HTTP 200 with application/json")
        and expected in info.value.message
        and info.value.message.endswith("(GET /x)")
    )


def test_json_in_a_declared_charset_and_under_another_content_type_is_read():
    text = '{"name": "café"}'
    c = client(
        lambda r: httpx.Response(
            200, content=text.encode("latin-1"), headers={"content-type": "application/json; charset=iso-8859-1"}
        )
    )
    assert c.get_json("/x") == {"name": "café"}
    c = client(lambda r: httpx.Response(200, content=text.encode(), headers={"content-type": "text/plain"}))
    assert c.get_json("/x") == {"name": "café"}


def test_a_body_larger_than_the_cap_is_refused():
    c = client(lambda r: httpx.Response(200, content=b"[" + b"1," * 1000 + b"1]"), max_body=1000)
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert info.value.message == "Test answered GET /x with a body larger than 1000 bytes; wfctl stops reading there"


def test_retry_after_beyond_the_budget_gives_up_at_once():
    calls, delays = [], []

    def handler(request):
        calls.append(request)
        return httpx.Response(503, headers={"retry-after": "120"}, json={"message": "maintenance"})

    c = client(handler, read_timeout=5)
    c._sleep = delays.append
    with pytest.raises(UnavailableError) as info:
        c.get_json("/x")
    assert len(calls) == 1 and delays == [] and "maintenance" in info.value.message


def test_shape_errors_become_one_line():
    from wfctl.http import guarded_call

    class Engine:
        label = "Some engine"

        def get_run(self, run_id):
            return {"a": 1}["missing"]

        def tail(self, run_id):
            yield 1
            [].get("x")

    with pytest.raises(UnavailableError) as info:
        guarded_call(Engine.get_run, Engine(), "run {0}", ("r1",), {})
    assert info.value.message == "Some engine answered run r1 in a shape wfctl does not read (KeyError: 'missing')"
    items = guarded_call(Engine.tail, Engine(), "the events of {0}", ("r1",), {})
    assert next(items) == 1
    with pytest.raises(UnavailableError) as info:
        next(items)
    assert "Some engine answered the events of r1 in a shape" in info.value.message
