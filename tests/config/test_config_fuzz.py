"""Property-based tests (Hypothesis) of the config loader (wfctl/config.py): any bytes as a config file, any
TOML document, any value of any key, ``config set`` on any file; and through the CLI with a temporary
``WFCTL_CONFIG``.

Properties: a file wfctl cannot use is a :class:`ConfigError` whose message names the file, in one line, and
through the CLI exit 2 with one ``error:`` line (and at most a ``hint:``), never 1; reading never takes long,
whatever the file holds; a value ``config set`` writes is read back. The budget: the Hypothesis profile
(tests/conftest.py; CONTRIBUTING.md, "Fuzzing").
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wfctl import config
from wfctl.errors import ConfigError

#: half the profile's examples: each runs wfctl in-process on a file (~30 ms)
CLI = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    max_examples=max(25, settings.default.max_examples // 2),
)
KEYS = sorted(config.KEYS)

# -- a small TOML writer (tomllib reads only) ------------------------------------------------------------------


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict) -> str:
    lines = [f"{toml_string(k)} = {toml_value(v)}" for k, v in doc.items() if k != "profiles"]
    profiles = doc.get("profiles")
    if isinstance(profiles, dict):
        for name, table in profiles.items():
            lines.append(f"[profiles.{toml_string(name)}]")
            if isinstance(table, dict):
                lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
            else:
                lines.append(f"# not a table: {table!r}"[:60].replace("\n", " "))
    elif profiles is not None:
        lines.append(f"profiles = {toml_value(profiles)}")
    return "\n".join(lines) + "\n"


scalars = (
    st.text(max_size=20)
    | st.sampled_from(
        [
            "workflow-sdk",
            "flue",
            "temporal",
            "workflow-runs-v1",
            "local",
            "postgres",
            "vercel",
            "json",
            "never",
            "http://127.0.0.1:7243",
            "https://api.example.com/x",
            "http://[::1",
            "ftp://x",
            "http://",
            "http://h:99999",
        ]
    )
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.booleans()
    | st.datetimes(timezones=st.just(timezone.utc))
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
profile_tables = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), values, max_size=6)
documents = st.fixed_dictionaries(
    {},
    optional={
        "current_profile": st.text(max_size=10) | st.sampled_from(["a", "prod", ""]) | values,
        "profiles": st.dictionaries(st.sampled_from(["a", "prod"]) | st.text(max_size=8), profile_tables, max_size=3)
        | values,
        "unknown": values,
    },
)


def check_error(exc: ConfigError, path: Path) -> None:
    assert str(path) in exc.message, exc.message
    assert "\n" not in exc.message and "\r" not in exc.message


# -- the loader --------------------------------------------------------------------------------------------------


@given(st.binary(max_size=400) | documents.map(lambda d: toml_document(d).encode()))
@example(b"\xef\xbb\xbfcurrent_profile = 'a'\n")
@example(b"[profiles.a]\ntimeout = " + b"9" * 400 + b"\n")  # beyond a float: was OverflowError
@example(b"a = " + b"9" * 5000 + b"\n")  # beyond int()'s 4300 digits: tomllib raised a plain ValueError
@example(b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n")  # nested past the recursion limit: was RecursionError
def test_any_file_loads_or_is_one_config_error_naming_it(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz-config.toml"
    path.write_bytes(data)
    try:
        cfg = config.load_file(path)
    except ConfigError as exc:
        check_error(exc, path)
        return
    for name in [None, *cfg.profiles]:
        try:
            config.resolve(profile=name, env={"WFCTL_CONFIG": str(path)}, cfg=cfg)
        except ConfigError as exc:
            assert "\n" not in exc.message


@given(st.text(alphabet=' \t[]"a.#=\n', max_size=60))
@example('a = """\n[' + " " * 5000 + '\n"""\n')  # a header-like line: the header pattern backtracked for minutes
def test_finding_a_key_or_header_takes_linear_time(text):
    started = time.process_time()
    config.locate(text, "profiles.a", "url")
    config.locate(text, None, "zz")
    config.header_line(text, "profiles.a")
    config.set_value(text, "profiles.a", "url", "http://h")
    assert time.process_time() - started < 2


@given(st.sampled_from(KEYS) | st.text(max_size=8), values)
@example("timeout", 10**400)
@example("timeout", float("nan"))
@example("url", "http://[::1")
def test_any_value_of_any_key_is_kept_or_a_config_error(key, value):
    try:
        config.check_value(key, value, where="test:")
    except ConfigError as exc:
        assert exc.message.startswith("test:") and "\n" not in exc.message


@given(st.sampled_from(KEYS), st.text(max_size=30))
@example("timeout", "1e400")
@example("timeout", "nan")
@example("headers", "a=1,b")
def test_any_environment_value_is_coerced_or_a_config_error(key, raw):
    try:
        config.coerce(key, raw, where="env WFCTL_X")
    except ConfigError as exc:
        assert exc.message.startswith("env WFCTL_X")


@given(
    st.binary(max_size=300) | documents.map(lambda d: toml_document(d).encode()), st.sampled_from(["url", "timeout"])
)
def test_config_set_on_any_text_writes_a_file_that_reads_back(tmp_path_factory, data, key):
    path = tmp_path_factory.getbasetemp() / "fuzz-set.toml"
    path.write_bytes(data)
    try:
        config.load_file(path, validate=False)
    except ConfigError:
        return  # config set refuses such a file before editing (the CLI test covers it)
    value = "http://127.0.0.1:7243" if key == "url" else 2.5
    try:
        config.edit(path, lambda text: config.set_value(text, "profiles.fz", key, value))
    except ConfigError as exc:
        check_error(exc, path)
        return
    assert config.load_file(path, validate=False).profiles["fz"][key] == value


# -- through the CLI ---------------------------------------------------------------------------------------------


def _exits_0_or_2(r, path: Path) -> None:
    assert r.exit_code in (0, 2), (r.exit_code, r.stderr)
    if r.exit_code == 2:
        lines = r.stderr.rstrip("\n").split("\n")  # lines a terminal shows (U+2028 is no line end there)
        assert lines[0].startswith("error: ") and str(path) in lines[0], r.stderr
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), r.stderr
        assert r.stdout == ""


@CLI
@given(st.binary(max_size=300) | documents.map(lambda d: toml_document(d).encode()))
@example(b"[profiles.a]\ntimeout = " + b"9" * 400 + b"\n")
@example(b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n")
@example(b"\xff")
def test_cli_any_config_file_exits_0_or_2_naming_the_file(cli, config_file, data):
    config_file.write_bytes(data)
    config_file.chmod(0o600)
    _exits_0_or_2(cli("config", "view"), config_file)


@CLI
@given(st.binary(max_size=200) | documents.map(lambda d: toml_document(d).encode()))
@example(b"a = " + b"9" * 5000 + b"\n")
def test_cli_config_set_on_any_file_exits_0_or_2_naming_the_file(cli, config_file, data):
    config_file.write_bytes(data)
    config_file.chmod(0o600)
    _exits_0_or_2(cli("config", "set", "url", "http://127.0.0.1:7243", "-p", "fz"), config_file)


def test_the_largest_file_is_read_quickly(tmp_path):
    """1 MiB of header-like lines inside a multi-line string, under an unknown key: the error names its line."""
    path = tmp_path / "big.toml"
    line = "[" + " " * 1000 + "\n"
    path.write_text('a = """\n' + line * ((config.MAX_FILE_BYTES - 20) // len(line)) + '"""\n')
    started = time.process_time()
    with pytest.raises(ConfigError, match=r"big.toml:1: unknown top-level key 'a'"):
        config.load_file(path)
    assert time.process_time() - started < 5
