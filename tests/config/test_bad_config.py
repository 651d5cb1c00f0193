"""Configuration as user input: every broken file, value or profile name is one ``error:`` line naming the
file (and the line or key where known) with exit 2; where the profile choice came from; ``config set`` never
changes the current profile; keys a backend does not read are warned about; ``config view`` shows what the
resolved backend uses (README, Configuration)."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "workflow-sdk-demo"
LOCAL_KEYS = "world, data_dir, app_url, timeout, insecure"


def write(path: Path, data: "str | bytes", mode: int = 0o600) -> None:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    os.chmod(path, mode)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the recorded Workflow SDK local world (examples/workflow-sdk-demo)."""
    shutil.copytree(DEMO / ".workflow-data", tmp_path / "app" / ".workflow-data")
    return tmp_path / "app"


# -- broken files ----------------------------------------------------------------------------------------------
def test_undecodable_bytes_name_file_line_and_column(cli, config_file):
    write(config_file, b'[profiles.a]\nurl = "\xff"\n')
    r = cli("list")
    assert r.exit_code == 2
    assert r.stderr == f"error: {config_file}:2:8: not UTF-8 text (byte 0xff)\nhint: save the file as UTF-8 TOML\n"
    assert r.stdout == ""


@pytest.mark.parametrize(
    "garbage,first_line",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "{path}:1:1: not UTF-8 text (byte 0x89)"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "{path}:1:1: invalid TOML: Invalid statement"),
        (b'a = "x\x00y"\n', "{path}:1:7: invalid TOML: Illegal character '\\x00'"),
    ],
)
def test_binary_garbage_is_one_line(cli, config_file, garbage, first_line):
    write(config_file, garbage)
    r = cli("status", "r1")
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "error: " + first_line.format(path=config_file)
    assert len(lines) == 2 and lines[1].startswith("hint: ")


def test_a_huge_file_is_not_a_config_file(cli, config_file):
    write(config_file, b"# " + b"x" * (1 << 20) + b"\n")
    r = cli("list")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == f"error: {config_file}: not a wfctl config file (larger than 1024 KiB)"


def test_toml_errors_name_line_and_column(cli, config_file):
    write(config_file, '[profiles.a]\nbackend = "temporal"\nurl = http://x\n')
    r = cli("list")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (2, f"error: {config_file}:3:7: invalid TOML: Invalid value")
    write(config_file, "[profiles.a]\nbackend")
    r = cli("list")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == (
        f"error: {config_file}:2: invalid TOML at the end of the file: Expected '=' after a key in a key/value pair"
    )


def test_a_byte_order_mark_is_accepted(cli, config_file):
    write(config_file, b'\xef\xbb\xbfcurrent_profile = "t"\n[profiles.t]\nbackend = "temporal"\nurl = "http://t"\n')
    r = cli("config", "view", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["url"] == "http://t"


@pytest.mark.parametrize(
    "line,message",
    [
        ('timeout = "soon"', "[profiles.a] key 'timeout' must be float, not str"),
        ('insecure = "yes"', "[profiles.a] key 'insecure' must be bool, not str"),
        ("headers = { x-a = 1 }", "[profiles.a] key 'headers' must be a table of strings"),
        ("timeout = -5", "[profiles.a] key 'timeout' is -5; expected seconds, more than 0 and at most 86400"),
        ('color = "rainbow"', "[profiles.a] key 'color' is 'rainbow'; expected one of: auto, always, never"),
    ],
)
def test_wrong_types_name_line_and_key(cli, config_file, line, message):
    write(config_file, f'[profiles.a]\nbackend = "workflow-sdk"\n{line}\n')
    r = cli("-p", "a", "list")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == f"error: {config_file}:3: {message}"


def test_wrong_top_level_types(cli, config_file):
    write(config_file, "current_profile = 3\n")
    r = cli("list")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (
        2,
        f"error: {config_file}:1: key 'current_profile' must be a string, not an integer",
    )
    write(config_file, "profiles = 3\n")
    r = cli("list")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (
        2,
        f"error: {config_file}:1: 'profiles' must be a table of [profiles.NAME]",
    )


# -- URLs ------------------------------------------------------------------------------------------------------
def test_url_backend_without_url_names_the_profile_line(cli, config_file):
    write(config_file, 'current_profile = "ops"\n[profiles.ops]\nbackend = "temporal"\nnamespace = "prod"\n')
    r = cli("status", "wf-1")
    assert r.exit_code == 2
    assert r.stderr == (
        f"error: {config_file}:3: [profiles.ops] backend 'temporal' needs a url (no --url, WFCTL_URL "
        "or url in the profile)\nhint: add it with 'wfctl config set url URL -p ops', or pass --url / "
        "set WFCTL_URL\n"
    )
    ok = cli("config", "view", "-o", "json", "--url", "http://127.0.0.1:7243")
    assert ok.exit_code == 0 and ok.json()["url"] == "http://127.0.0.1:7243"


@pytest.mark.parametrize(
    "args,env,first",
    [
        (("--backend", "flue"), {}, "error: --backend=flue needs a url (no --url, WFCTL_URL or url in the profile)"),
        (
            (),
            {"WFCTL_BACKEND": "workflow-runs-v1"},
            "error: WFCTL_BACKEND=workflow-runs-v1 needs a url (no --url, WFCTL_URL or url in the profile)",
        ),
    ],
)
def test_url_backend_chosen_outside_the_file(cli, args, env, first):
    r = cli(*args, "get", "run-1", env=env)
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [first, "hint: pass --url URL or set WFCTL_URL"]


def test_url_that_is_not_http(cli, config_file):
    write(config_file, '[profiles.t]\nbackend = "temporal"\nurl = "localhost:7233"\n')
    r = cli("-p", "t", "list")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"error: {config_file}:3: [profiles.t] key 'url' is 'localhost:7233', which is not an http:// or https:// URL",
        "hint: e.g. https://api.example.com or http://127.0.0.1:7243",
    ]
    write(config_file, '[profiles.t]\nbackend = "temporal"\nurl = "http://"\n')
    assert (
        cli("-p", "t", "list").stderr.splitlines()[0]
        == f"error: {config_file}:3: [profiles.t] key 'url' is 'http://', which has no host"
    )


def test_url_flag_and_env_must_be_http(cli):
    r = cli("--backend", "temporal", "--url", "ftp://x", "list")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (2, "error: --url 'ftp://x' is not an http:// or https:// URL")
    r = cli("--backend", "temporal", "list", env={"WFCTL_URL": "nope"})
    assert (r.exit_code, r.stderr.splitlines()[0]) == (
        2,
        "error: env WFCTL_URL: key 'url' is 'nope', which is not an http:// or https:// URL",
    )
    r = cli("--app-url", "localhost:3000", "wake", "wrun_x")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (
        2,
        "error: --app-url 'localhost:3000' is not an http:// or https:// URL",
    )


# -- profile names -------------------------------------------------------------------------------------------
def test_empty_profile_names_are_errors_not_the_implicit_profile(cli, config_file):
    write(config_file, '[profiles.a]\nbackend = "workflow-sdk"\n')
    r = cli("-p", "", "list")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: the profile name from flag --profile is empty",
        "hint: name a profile (a), or give none to use the implicit profile",
    ]
    r = cli("list", env={"WFCTL_PROFILE": "  "})
    assert (r.exit_code, r.stderr.splitlines()[0]) == (2, "error: the profile name from env WFCTL_PROFILE is empty")
    write(config_file, 'current_profile = " "\n[profiles.a]\nbackend = "workflow-sdk"\n')
    r = cli("list")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (2, f"error: {config_file}:1: current_profile is empty")


# -- where the profile choice came from ------------------------------------------------------------------------
def test_show_sources_says_where_the_profile_choice_came_from(cli, config_file):
    write(
        config_file,
        'current_profile = "a"\n[profiles.a]\nbackend = "temporal"\nurl = "http://a"\n'
        '[profiles.b]\nbackend = "temporal"\nurl = "http://b"\n',
    )

    def choice(*args, env=None):
        r = cli("config", "view", "--show-sources", "-o", "json", *args, env=env)
        assert r.exit_code == 0, r.stderr
        return r.json()["profile"]

    assert choice("-p", "b") == {"value": "b", "source": "flag --profile"}
    assert choice(env={"WFCTL_PROFILE": "b"}) == {"value": "b", "source": "env WFCTL_PROFILE"}
    assert choice() == {"value": "a", "source": f"current_profile in {config_file}:1"}
    write(config_file, "")
    assert choice() == {"value": "(implicit)", "source": "implicit (no profile chosen)"}


# -- config set / use ------------------------------------------------------------------------------------------
def test_config_set_edits_the_named_profile_and_never_makes_it_current(cli, config_file):
    r = cli("config", "set", "url", "https://api.example.com", "-p", "ops")
    assert r.exit_code == 0, r.stderr
    assert "current_profile" not in config_file.read_text()
    assert '[profiles.ops]\nurl = "https://api.example.com"' in config_file.read_text()
    assert r.stderr.splitlines()[-1] == (
        "profile ops is not the current profile: use it with -p ops, or make it current with 'wfctl config use ops'"
    )
    write(config_file, 'current_profile = "a"\n[profiles.a]\nbackend = "workflow-sdk"\n')
    assert cli("config", "set", "url", "https://api.example.com", "-p", "ops").exit_code == 0
    assert 'current_profile = "a"' in config_file.read_text()
    assert cli("config", "use", "ops").exit_code == 0
    assert 'current_profile = "ops"' in config_file.read_text()


def test_config_set_without_a_profile_to_edit(cli, config_file):
    r = cli("config", "set", "url", "https://api.example.com")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: which profile? there is no current profile",
        "hint: name one: wfctl config set url VALUE -p NAME (then 'wfctl config use NAME' makes it current)",
    ]
    assert not config_file.exists()
    write(config_file, 'current_profile = "a"\n[profiles.a]\nbackend = "temporal"\nurl = "http://old"\n')
    assert cli("config", "set", "url", "http://new").exit_code == 0
    assert 'url = "http://new"' in config_file.read_text()


def test_config_set_refuses_names_it_cannot_write_and_fixes_wrong_values(cli, config_file):
    r = cli("config", "set", "url", "http://x", "-p", "a b")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (
        2,
        "error: invalid -p 'a b': profile names are letters, digits, '-' and '_'",
    )
    write(config_file, '[profiles.a]\nbackend = "temporal"\nurl = "http://a"\ntimeout = "soon"\n')
    assert cli("-p", "a", "list").exit_code == 2
    fixed = cli("config", "set", "timeout", "5", "-p", "a")
    assert fixed.exit_code == 0, fixed.stderr
    assert cli("-p", "a", "config", "view", "-o", "json").json()["timeout"] == 5.0


# -- keys that do not fit the backend --------------------------------------------------------------------------
def test_keys_the_backend_does_not_read_are_warned_about(cli, config_file, project):
    write(
        config_file,
        'current_profile = "l"\n[profiles.l]\nbackend = "workflow-sdk"\nurl = "https://x.example"\n'
        'namespace = "prod"\n',
    )
    r = cli("list", "-o", "id", cwd=project)
    assert r.exit_code == 0
    assert r.stderr.splitlines() == [
        f"warning: {config_file}:4: [profiles.l] key 'url' has no effect on the Workflow SDK local world (it reads: "
        f"{LOCAL_KEYS})",
        f"warning: {config_file}:5: [profiles.l] key 'namespace' has no effect on the Workflow SDK local world (it "
        f"reads: {LOCAL_KEYS})",
    ]
    assert len(r.stdout.split()) == 11


def test_a_profile_without_backend_is_warned_about(cli, config_file, project):
    write(config_file, 'current_profile = "x"\n\n[profiles.x]\ndata_dir = ".workflow-data"\n')
    r = cli("list", "-o", "id", cwd=project)
    assert r.exit_code == 0
    assert r.stderr == (
        f"warning: {config_file}:3: [profiles.x] sets no backend, so it uses the Workflow SDK local "
        "world (the default backend is workflow-sdk); add 'backend = \"workflow-sdk\"' or another "
        "backend to say so\n"
    )


def test_flags_the_backend_does_not_read_are_warned_about(cli, project):
    r = cli("--namespace", "prod", "list", "-o", "id", cwd=project)
    assert r.exit_code == 0
    assert r.stderr == f"warning: --namespace has no effect on the Workflow SDK local world (it reads: {LOCAL_KEYS})\n"


# -- config view -----------------------------------------------------------------------------------------------
def test_config_view_shows_what_the_local_world_uses(cli, project):
    r = cli("config", "view", "--show-sources", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert list(doc) == [
        "profile",
        "config",
        "backend",
        "world",
        "data_dir",
        "app_url",
        "timeout",
        "insecure",
        "output",
        "color",
        "time",
    ]  # output: from -o
    assert doc["data_dir"] == {
        "value": str((project / ".workflow-data").resolve()),
        "source": f"found from {project.resolve()}",
    }
    assert doc["app_url"] == {"value": "http://localhost:3000", "source": "default"}
    r = cli("config", "view", "-o", "json", cwd=project, env={"PORT": "4000"})
    assert r.json()["app_url"] == "http://localhost:4000"


def test_config_view_says_what_timeout_is_for(cli, project):
    r = cli("config", "view", "-o", "table", cwd=project)
    assert r.exit_code == 0
    timeout = [line for line in r.stdout.splitlines() if line.startswith("timeout")]
    assert timeout == [
        "timeout       30.0  # seconds to wait for each answer of the engine over HTTP (read timeout); "
        "not the --timeout of --wait"
    ]


def test_config_view_without_a_data_directory_says_why(cli, tmp_path):
    r = cli("config", "view", "-o", "json", "--show-sources", cwd=tmp_path)
    assert r.exit_code == 0
    assert r.json()["data_dir"]["value"] is None
    assert r.json()["data_dir"]["source"].startswith("no Workflow SDK local world data directory found: tried")


def test_config_view_of_another_engine_shows_its_keys_only(cli, config_file):
    write(config_file, 'current_profile = "t"\n[profiles.t]\nbackend = "temporal"\nurl = "http://t:7243"\n')
    doc = cli("config", "view", "-o", "json").json()
    assert list(doc) == [
        "profile",
        "config",
        "backend",
        "url",
        "namespace",
        "timeout",
        "insecure",
        "output",
        "color",
        "time",
    ]


def test_config_set_help_lists_the_keys(cli):
    from wfctl.config import KEYS

    r = cli("config", "set", "--help")
    assert r.exit_code == 0
    keys = r.stdout.split("Keys:\n", 1)[1].split("\n\n", 1)[0]
    listed = [line.split()[0] for line in keys.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert listed == list(KEYS)
    assert "  timeout      seconds to wait for each answer of the engine over HTTP" in keys
    assert "(table | plain | json | jsonl | id)" in keys


def test_doctor_of_a_broken_file_exits_2(cli, config_file):
    write(config_file, b"\xff\xfe")
    r = cli("config", "doctor")
    assert (r.exit_code, r.stderr.splitlines()[0]) == (2, f"error: {config_file}:1:1: not UTF-8 text (byte 0xff)")
    path = cli("config", "path")  # still answers: it names the file to fix
    assert (path.exit_code, path.stdout) == (0, f"{config_file}\n")


def test_the_commands_that_fix_a_file_still_answer(cli, config_file):
    write(config_file, '[profiles.a]\nbackend = "temporal"\nurl = "http://a"\ntimeout = "soon"\n')
    assert cli("-p", "a", "list").exit_code == 2
    listing = cli("config", "profiles")
    assert (listing.exit_code, listing.stdout) == (0, "  a\ttemporal\thttp://a\n")
    assert cli("config", "use", "a").exit_code == 0
    assert cli("config", "set", "timeout", "10").exit_code == 0  # the current profile, now a
    view = cli("config", "view", "-o", "json")
    assert (view.exit_code, view.json()["timeout"]) == (0, 10.0)
