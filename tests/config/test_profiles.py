"""Profiles, precedence, provenance, and broken files (README, Configuration)."""

import json
import os

from wfctl import config


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)


def test_precedence_flag_env_profile_default(cli, config_file):
    write(
        config_file,
        'current_profile = "ops"\n[profiles.ops]\nbackend = "temporal"\nurl = "http://a"\nnamespace = "prod"\n',
    )
    r = cli("config", "view", "--show-sources", "-o", "json", env={"WFCTL_URL": "http://b"})
    doc = json.loads(r.stdout)
    assert doc["url"] == {"value": "http://b", "source": "env WFCTL_URL"}
    assert doc["namespace"]["source"].startswith("profile ops")
    assert doc["timeout"] == {"value": 30.0, "source": "default"}
    r = cli("config", "view", "--show-sources", "-o", "json", "--url", "http://c", env={"WFCTL_URL": "http://b"})
    assert json.loads(r.stdout)["url"] == {"value": "http://c", "source": "flag --url"}


def test_profile_choice_order(cli, config_file):
    write(
        config_file,
        'current_profile = "a"\n[profiles.a]\nbackend = "temporal"\nurl = "http://a"\n'
        '[profiles.b]\nbackend = "temporal"\nurl = "http://b"\n',
    )

    def view(*a, **kw):
        return json.loads(cli("config", "view", "-o", "json", *a, **kw).stdout)

    assert view()["url"] == "http://a"
    assert view(env={"WFCTL_PROFILE": "b"})["url"] == "http://b"
    assert view("-p", "a", env={"WFCTL_PROFILE": "b"})["url"] == "http://a"


def test_unknown_profile(cli, config_file):
    write(config_file, '[profiles.a]\nurl = "http://a"\n')
    r = cli("-p", "nope", "list")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == f"error: unknown profile 'nope' (from flag --profile; {config_file})"
    assert "profiles: a" in r.stderr


def test_broken_toml_reports_path_and_line(cli, config_file):
    write(config_file, '[profiles.a]\nurl = "http://a"\nbackend = \n')
    r = cli("list")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == f"error: {config_file}:3:11: invalid TOML: Invalid value"
    assert "Traceback" not in r.stderr


def test_wrong_type_reports_line_and_key(cli, config_file):
    write(config_file, '[profiles.a]\nurl = "http://a"\ntimeout = "soon"\n')
    r = cli("-p", "a", "list")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == (f"error: {config_file}:3: [profiles.a] key 'timeout' must be float, not str")


def test_bad_choice_and_unknown_key(cli, config_file):
    write(config_file, '[profiles.a]\nbackend = "nomad"\n')
    r = cli("-p", "a", "list")
    assert r.exit_code == 2 and ":2:" in r.stderr and "expected one of" in r.stderr
    write(config_file, '[profiles.a]\nurll = "x"\n')
    r = cli("-p", "a", "list")
    assert r.exit_code == 2 and "unknown key 'urll'" in r.stderr and "hint: valid keys" in r.stderr


def test_bad_env_value(cli):
    r = cli("config", "view", env={"WFCTL_TIMEOUT": "fast"})
    assert r.exit_code == 2 and "WFCTL_TIMEOUT" in r.stderr


def test_token_file_permissions_warning(cli, config_file):
    write(config_file, '[profiles.a]\nbackend = "temporal"\nurl = "http://t"\ntoken = "sekrit-token"\n', mode=0o644)
    r = cli("-p", "a", "config", "view")
    assert "warning:" in r.stderr and "0644" in r.stderr
    assert "sekrit-token" not in r.stdout + r.stderr
    os.chmod(config_file, 0o600)
    assert "warning" not in cli("-p", "a", "config", "view").stderr


def test_token_precedence(config_file, tmp_path):
    write(config_file, '[profiles.a]\ntoken = "file"\ntoken_env = "MY_TOKEN"\n')
    p = config.resolve(profile="a", env={"WFCTL_CONFIG": str(config_file)})
    assert p.token() == "file"
    p = config.resolve(profile="a", env={"WFCTL_CONFIG": str(config_file), "MY_TOKEN": "envvar"})
    assert p.token() == "envvar"
    p = config.resolve(profile="a", env={"WFCTL_CONFIG": str(config_file), "MY_TOKEN": "envvar", "WFCTL_TOKEN": "wf"})
    assert p.token() == "wf"


def test_set_use_profiles_path_keep_comments(cli, config_file):
    write(config_file, '# my settings\ncurrent_profile = "a"\n\n[profiles.a]\nurl = "http://a"  # prod\n')
    assert cli("config", "set", "namespace", "team", "-p", "a").exit_code == 0
    assert cli("config", "set", "backend", "temporal", "-p", "b").exit_code == 0
    text = config_file.read_text()
    assert "# my settings" in text and 'namespace = "team"' in text and "[profiles.b]" in text
    assert cli("config", "use", "b").exit_code == 0
    assert 'current_profile = "b"' in config_file.read_text()
    assert cli("config", "use", "zz").exit_code == 2
    listing = cli("config", "profiles").stdout
    assert "* b\ttemporal" in listing and "  a\t" in listing
    assert cli("config", "path").stdout.strip() == str(config_file)
    bad = cli("config", "set", "timeout", "soon")
    assert bad.exit_code == 2 and "timeout" in bad.stderr


def test_set_token_makes_file_private(cli, config_file):
    assert cli("config", "set", "token", "abc123", "-p", "x").exit_code == 0
    assert oct(os.stat(config_file).st_mode & 0o777) == "0o600"


def test_implicit_profile_honours_workflow_target_world(cli):
    doc = json.loads(
        cli(
            "config", "view", "--show-sources", "-o", "json", env={"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres"}
        ).stdout
    )
    assert doc["world"] == {"value": "postgres", "source": "env WORKFLOW_TARGET_WORLD"}
    assert doc["profile"]["value"] == "(implicit)"


def test_doctor_reports_failure_exit_code(cli, memory_world, monkeypatch):
    from tests.doubles.memory_backend import MemoryBackend
    from wfctl.errors import AuthError
    from wfctl.model import Check

    r = cli("--backend", "memory", "config", "doctor", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert [(c["name"], c["ok"]) for c in r.json()] == [("config", True), ("backend", True), ("backend", True)]
    # a failed check: 5
    monkeypatch.setattr(MemoryBackend, "doctor", lambda self: [Check("engine", False, "unreachable")])
    r = cli("--backend", "memory", "config", "doctor", "-o", "json")
    assert r.exit_code == 5, r.stderr
    assert r.json()[-1] == {"name": "engine", "ok": False, "detail": "unreachable"}

    # what every command would meet first: its exit code (an authorisation failure, 4)
    def refuse(self):
        raise AuthError("token refused")

    monkeypatch.setattr(MemoryBackend, "preflight", refuse)
    r = cli("--backend", "memory", "config", "doctor", "-o", "json")
    assert r.exit_code == 4, r.stderr


def test_every_engine_of_the_registry_has_its_keys_and_label():
    """The registry (wfctl.backends) is the one list of names: the configuration's per-engine tables cover
    exactly its worlds and its other backends, and the help texts list its backends."""
    from wfctl import backends, config
    from wfctl.app import GLOBAL_VALUES

    engines = set(backends.WORLD_NAMES) | (set(backends.BACKEND_NAMES) - {backends.WORKFLOW_SDK})
    assert set(config.ENGINE_KEYS) == engines
    assert set(config.ENGINE_LABELS) == engines
    assert set(config.URL_BACKENDS) <= engines
    assert config.KEYS["backend"].choices == backends.BACKEND_NAMES
    assert config.KEYS["world"].choices == backends.WORLD_NAMES
    assert GLOBAL_VALUES["--backend"] == "one of: " + ", ".join(backends.BACKEND_NAMES)
