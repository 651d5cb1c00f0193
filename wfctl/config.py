"""Configuration: TOML profiles, precedence and provenance (README, Configuration).

Precedence for every value: command-line flag > ``WFCTL_*`` environment
variable > the selected profile > built-in default. The profile is chosen by
``--profile`` > ``WFCTL_PROFILE`` > ``current_profile`` > the implicit
zero-config profile (the Workflow SDK local world; README, Engines).

Every broken input is a :class:`~wfctl.errors.ConfigError` (exit 2) in one line that names the file and,
where known, the line and the key: undecodable bytes, TOML syntax, wrong types and choices, a URL that is not
http(s), an engine that needs a ``url`` without one, an empty profile name. Keys a profile sets that its
backend does not read are warnings (README, Configuration).

The resolved :class:`Profile` is an ordinary value passed down to commands and
backends; nothing here keeps module-level state.
"""

from __future__ import annotations

import math
import os
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .backends import BACKEND_NAMES, DEFAULT_BACKEND, DEFAULT_WORLD, WORKFLOW_SDK, WORLD_NAMES
from .errors import ConfigError

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass, field
else:
    from ._record import dataclass, field


@dataclass(frozen=True)
class Key:
    type: type
    help: str
    choices: tuple[str, ...] | None = None
    secret: bool = False


KEYS: dict[str, Key] = {
    "backend": Key(str, "engine adapter", BACKEND_NAMES),
    "world": Key(str, "Workflow SDK world", WORLD_NAMES),
    "data_dir": Key(str, "Workflow SDK local world data directory (found automatically)"),
    "app_url": Key(str, "the app's URL, where wake re-enqueues a local-world run"),
    "url": Key(str, "engine base URL (http:// or https://)"),
    "token": Key(str, "bearer token (the file must be mode 0600)", secret=True),
    "token_env": Key(str, "name of the environment variable holding the token"),
    "headers": Key(dict, "extra HTTP headers (a table of strings)"),
    "namespace": Key(str, "Temporal namespace"),
    "task_queue": Key(str, "Temporal task queue for start"),
    "dsn": Key(str, "PostgreSQL connection string (Workflow SDK postgres world)", secret=True),
    "job_prefix": Key(str, "graphile-worker job prefix (postgres world)"),
    "project": Key(str, "Vercel project id"),
    "team": Key(str, "Vercel team id"),
    "environment": Key(str, "Vercel environment", ("production", "preview", "development")),
    "output": Key(str, "default output format", ("table", "plain", "json", "jsonl", "id")),
    "color": Key(str, "colour", ("auto", "always", "never")),
    "time": Key(str, "time format in tables", ("relative", "iso", "local")),
    "timeout": Key(
        float, "seconds to wait for each answer of the engine over HTTP (read timeout); not the --timeout of --wait"
    ),
    "insecure": Key(bool, "skip TLS verification"),
}

DEFAULTS: dict[str, Any] = {
    "backend": DEFAULT_BACKEND,
    "world": DEFAULT_WORLD,
    "namespace": "default",
    "job_prefix": "workflow_",
    "environment": "production",
    "color": "auto",
    "time": "relative",
    "timeout": 30.0,
    "insecure": False,
}

# Which keys each engine reads (besides backend, output, color and time, which every profile may set), by the
# engine names of the registry (wfctl.backends: each world, then each other backend). A profile key outside its
# engine's set is warned about: it has no effect there.
_HTTP_KEYS = ("url", "token", "token_env", "headers", "timeout", "insecure")
ENGINE_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("world", "data_dir", "app_url", "timeout", "insecure"),
    "postgres": ("world", "dsn", "job_prefix", "timeout"),
    "vercel": (
        "world",
        "url",
        "token",
        "token_env",
        "headers",
        "project",
        "team",
        "environment",
        "timeout",
        "insecure",
    ),
    "flue": _HTTP_KEYS,
    "workflow-runs-v1": _HTTP_KEYS,
    "workflow-runs-v2": _HTTP_KEYS,
    "temporal": ("url", "namespace", "task_queue", "token", "token_env", "headers", "timeout", "insecure"),
}
OUTPUT_KEYS = ("output", "color", "time")
ENGINE_LABELS = {
    "local": "the Workflow SDK local world",
    "postgres": "the Workflow SDK Postgres world",
    "vercel": "the Workflow SDK Vercel world",
    "flue": "Flue",
    "workflow-runs-v1": "workflow-runs v1",
    "workflow-runs-v2": "workflow-runs v2",
    "temporal": "Temporal",
}
# Engines reached only through a URL (the Vercel world has a default one).
URL_BACKENDS = ("flue", "workflow-runs-v1", "workflow-runs-v2", "temporal")
URL_KEYS = ("url", "app_url")
MAX_FILE_BYTES = 1 << 20  # a config file is small; anything larger is not one
TIMEOUT_RANGE = (0.0, 86400.0)


def engine_of(backend: str | None, world: str | None) -> str:
    """The key of :data:`ENGINE_KEYS` for a backend (and world)."""
    backend = backend or DEFAULT_BACKEND
    return (world or DEFAULT_WORLD) if backend == WORKFLOW_SDK else backend


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL with a host, or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if any(c.isspace() or ord(c) < 32 for c in value):
        return "contains spaces or control characters"
    return None


def profile_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a profile, or None."""
    if not name.strip():
        return "is empty"
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "contains control characters or undecodable bytes"
    if len(name) > 128:
        return "is longer than 128 characters"
    return None


# Engine variables honoured by the implicit profile (README, Engines).
_WORLD_ALIASES = {
    "local": "local",
    "@workflow/world-local": "local",
    "postgres": "postgres",
    "@workflow/world-postgres": "postgres",
    "vercel": "vercel",
    "@workflow/world-vercel": "vercel",
}


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("WFCTL_CONFIG")
    if override:
        return Path(override).expanduser()
    return user_dir("config", env) / "config.toml"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("WFCTL_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    return user_dir("cache", env)


#: Linux: the XDG base directory variable of each kind of user directory, and its default under the home.
_XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "cache": ("XDG_CACHE_HOME", ".cache")}


def user_dir(kind: str, env: Mapping[str, str] | None = None) -> Path:
    """wfctl's user ``config`` or ``cache`` directory: platformdirs' answer (``user_config_dir`` /
    ``user_cache_dir`` of app ``wfctl``). On Linux that answer is the XDG rule — the variable when it holds an
    absolute path, else the home's ``.config`` / ``.cache`` (the password database's home when ``HOME`` is not
    absolute) — computed here, since importing platformdirs cost every command more than the rest of its
    configuration (docs/architecture.md, "Start-up"); a test holds it to platformdirs."""
    env = os.environ if env is None else env
    if sys.platform.startswith("linux"):
        var, default = _XDG[kind]
        base = env.get(var, "")
        if not base.startswith("/"):
            home = env.get("HOME", "")
            if not home.startswith("/"):
                import pwd

                home = pwd.getpwuid(os.getuid()).pw_dir
            base = os.path.join(home, default)
        return Path(base) / "wfctl"
    import platformdirs

    find = platformdirs.user_config_dir if kind == "config" else platformdirs.user_cache_dir
    return Path(find("wfctl", appauthor=False))


@dataclass
class ConfigFile:
    path: Path
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    exists: bool = False

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        return self.data.get("profiles", {})

    @property
    def current_profile(self) -> str | None:
        return self.data.get("current_profile")

    def line_of(self, section: str | None, key: str) -> int | None:
        return locate(self.text, section, key)


_HEADER = re.compile(r"\s*\[([^\]]*)\](.*)")


def _header(line: str, *, anchored: bool = True) -> str | None:
    """The table a ``[section]`` line opens (quotes and spaces removed), else None; ``anchored``: only a
    comment may follow. Linear: a pattern whose group overlapped the spaces around it backtracked for minutes
    on a line of ``[`` and thousands of spaces (which a multi-line string may hold)."""
    match = _HEADER.match(line)
    if match is None or not match.group(1):
        return None
    rest = match.group(2).lstrip()
    if anchored and rest and not rest.startswith("#"):
        return None
    return match.group(1).strip().replace('"', "").replace(" ", "")


def locate(text: str, section: str | None, key: str) -> int | None:
    """1-based line of ``key = ...`` inside ``[section]`` (None: top level)."""
    current: str | None = None
    key_re = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        header = _header(line)
        if header is not None:
            current = header
            continue
        if current == section and key_re.match(line):
            return number
    return None


def header_line(text: str, section: str) -> int | None:
    """1-based line of the ``[section]`` header."""
    for number, line in enumerate(text.splitlines(), 1):
        if _header(line) == section:
            return number
    return None


def load_file(path: Path, *, validate: bool = True) -> ConfigFile:
    """Read and check a config file; a missing file is an empty configuration.

    ``validate=False`` checks only that the file is UTF-8 TOML (``config set`` uses it, so a wrong value can be
    fixed with wfctl itself)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return ConfigFile(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror or exc}",
            hint="WFCTL_CONFIG or 'wfctl config path' names the file",
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"{path}: not a wfctl config file (larger than {MAX_FILE_BYTES // 1024} KiB)",
            hint="WFCTL_CONFIG or 'wfctl config path' names the file",
        )
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is allowed
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x})", hint="save the file as UTF-8 TOML"
        ) from None
    try:
        data = _parse_toml(text)
    except ValueError as exc:
        raise ConfigError(
            _toml_error(path, text, str(exc)), hint="fix the file; 'wfctl config path' names it"
        ) from None
    cfg = ConfigFile(path, text, data, True)
    if validate:
        _validate(cfg)
    return cfg


def _parse_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``, every failure a ``ValueError``: besides ``TOMLDecodeError``, tomllib lets out a plain
    ``ValueError`` for an integer of more than 4300 digits and ``RecursionError`` for arrays nested past the
    interpreter's limit. Imported here: most commands run without a config file."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _toml_error(path: Path, text: str, message: str) -> str:
    """``path:line:column: invalid TOML: what``, from tomllib's ``what (at line L, column C)``."""
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if where:
        return f"{path}:{where.group(1)}:{where.group(2)}: invalid TOML: {message[: where.start()]}"
    end = re.search(r"\s*\(at end of document\)$", message)
    if end:
        return f"{path}:{max(1, len(text.splitlines()))}: invalid TOML at the end of the file: {message[: end.start()]}"
    return f"{path}: invalid TOML: {message}"


def _where(cfg: ConfigFile, section: str | None, key: str) -> str:
    line = cfg.line_of(section, key)
    return f"{cfg.path}:{line}" if line else str(cfg.path)


def _validate(cfg: ConfigFile) -> None:
    top_known = {"current_profile", "profiles"}
    for key in cfg.data:
        if key not in top_known:
            raise ConfigError(
                f"{_where(cfg, None, key)}: unknown top-level key {key!r}",
                hint="top-level keys: current_profile, [profiles.NAME]",
            )
    current = cfg.data.get("current_profile")
    if current is not None:
        if not isinstance(current, str):
            raise ConfigError(
                f"{_where(cfg, None, 'current_profile')}: key 'current_profile' must be a string, "
                f"not {_type_name(current)}"
            )
        problem = profile_name_problem(current)
        if problem:
            raise ConfigError(
                f"{_where(cfg, None, 'current_profile')}: current_profile {problem}",
                hint="name a profile ('wfctl config use NAME'), or remove the line to use the implicit profile",
            )
    profiles = cfg.data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{_where(cfg, None, 'profiles')}: 'profiles' must be a table of [profiles.NAME]")
    for name, table in profiles.items():
        section = f"profiles.{name}"
        problem = profile_name_problem(name)
        if problem:
            raise ConfigError(f"{cfg.path}: the name of [profiles.{name!r}] {problem}")
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(cfg, 'profiles', name)}: profile {name!r} must be a table")
        for key, value in table.items():
            where = _where(cfg, section, key)
            check_value(key, value, where=f"{where}: [{section}]")


def _type_name(value: Any) -> str:
    return {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        dict: "a table",
        list: "an array",
    }.get(type(value), type(value).__name__)


def check_value(key: str, value: Any, *, where: str) -> Any:
    """Check one value of a profile key (type, choices, URL form, range); ``where`` starts the message."""
    spec = KEYS.get(key)
    if spec is None:
        raise ConfigError(f"{where} unknown key {key!r}", hint="valid keys: " + ", ".join(sorted(KEYS)))
    ok = isinstance(value, spec.type) and not (spec.type is not bool and isinstance(value, bool))
    if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        # a whole number beyond any float (tomllib's integers are unbounded) is out of every range
        ok, value = True, float(value) if abs(value) < 1 << 1000 else math.inf if value > 0 else -math.inf
    if not ok:
        raise ConfigError(f"{where} key {key!r} must be {spec.type.__name__}, not {type(value).__name__}")
    if spec.type is dict and not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{where} key {key!r} must be a table of strings")
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"{where} key {key!r} is {value!r}; expected one of: {', '.join(spec.choices)}")
    if key in URL_KEYS:
        problem = url_problem(value)
        if problem:
            raise ConfigError(
                f"{where} key {key!r} is {value!r}, which {problem}",
                hint="e.g. https://api.example.com or http://127.0.0.1:7243",
            )
    if key == "timeout" and not TIMEOUT_RANGE[0] < value <= TIMEOUT_RANGE[1]:
        raise ConfigError(
            f"{where} key 'timeout' is {value:g}; expected seconds, more than 0 and at most {TIMEOUT_RANGE[1]:g}"
        )
    return value


def coerce(key: str, raw: str, *, where: str) -> Any:
    """Turn a string from the environment or ``config set`` into the key's type."""
    spec = KEYS.get(key)
    if spec is None:
        raise ConfigError(f"{where}: unknown key {key!r}", hint="valid keys: " + ", ".join(sorted(KEYS)))
    value: Any = raw
    if spec.type is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            value = True
        elif lowered in ("0", "false", "no", "off", ""):
            value = False
        else:
            raise ConfigError(f"{where}: key {key!r} must be true or false, not {raw!r}")
    elif spec.type is float:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{where}: key {key!r} must be a number, not {raw!r}") from None
        if value != value:  # NaN
            raise ConfigError(f"{where}: key {key!r} must be a number, not {raw!r}")
    elif spec.type is dict:
        value = {}
        for part in filter(None, (p.strip() for p in raw.split(","))):
            name, sep, val = part.partition("=")
            if not sep:
                raise ConfigError(f"{where}: key {key!r} takes NAME=VALUE[,NAME=VALUE]")
            value[name.strip()] = val.strip()
    return check_value(key, value, where=f"{where}:")


@dataclass
class Profile:
    """A resolved profile: every value with the place it came from."""

    name: str | None
    values: dict[str, Any]
    sources: dict[str, str]
    path: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)
    #: Where the profile choice came from: "flag --profile", "env WFCTL_PROFILE", "current_profile in
    #: PATH:LINE" or "implicit (no profile chosen)".
    name_source: str = "implicit (no profile chosen)"

    @property
    def display_name(self) -> str:
        return self.name or "(implicit)"

    @property
    def engine(self) -> str:
        """The engine key of :data:`ENGINE_KEYS` (``local``, ``postgres``, ``vercel``, ``temporal``, ...)."""
        return engine_of(self.get("backend"), self.get("world"))

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return default if value is None else value

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def token(self) -> str | None:
        """``WFCTL_TOKEN`` > the variable named by ``token_env`` > ``token`` in the file."""
        if self.sources.get("token", "").startswith(("flag", "env")):
            return self.values.get("token")
        token_env = self.values.get("token_env")
        if token_env and self.env.get(token_env):
            return self.env[token_env]
        return self.values.get("token")

    def headers(self) -> dict[str, str]:
        return dict(self.values.get("headers") or {})


def choose_profile(profile: str | None, env: Mapping[str, str], cfg: ConfigFile) -> tuple[str | None, str]:
    """The profile name and where the choice came from: ``--profile`` > ``WFCTL_PROFILE`` > ``current_profile``
    > the implicit profile. An empty or blank name from any of them is an error, never the implicit profile."""
    if profile is not None:
        name, source = profile, "flag --profile"
    elif "WFCTL_PROFILE" in env:
        name, source = env["WFCTL_PROFILE"], "env WFCTL_PROFILE"
    elif cfg.current_profile is not None:
        name, source = cfg.current_profile, f"current_profile in {_where(cfg, None, 'current_profile')}"
    else:
        return None, "implicit (no profile chosen)"
    problem = profile_name_problem(name)
    if problem:
        raise ConfigError(
            f"the profile name from {source} {problem}",
            hint="name a profile ("
            + (", ".join(sorted(cfg.profiles)) or "none defined yet")
            + "), or give none to use the implicit profile",
        )
    return name, source


def resolve(
    *,
    profile: str | None = None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cfg: ConfigFile | None = None,
) -> Profile:
    """Resolve the active profile from flags, environment, file and defaults."""
    env = dict(os.environ if env is None else env)
    path = config_path(env)
    cfg = cfg or load_file(path)
    warnings: list[str] = []

    name, name_source = choose_profile(profile, env, cfg)

    table: dict[str, Any] = {}
    if name is not None:
        if name not in cfg.profiles:
            known = ", ".join(sorted(cfg.profiles)) or "none defined"
            where = _where(cfg, None, "current_profile") if name_source.startswith("current_profile") else str(cfg.path)
            raise ConfigError(
                f"unknown profile {name!r} (from {name_source.split(' in ')[0]}; {where})",
                hint=f"profiles: {known}; create one with 'wfctl config set --profile {name} backend ...'",
            )
        table = cfg.profiles[name]

    values: dict[str, Any] = dict(DEFAULTS)
    sources: dict[str, str] = {k: "default" for k in DEFAULTS}

    if name is None:
        # The implicit zero-config profile honours the Workflow SDK's own variables.
        target = env.get("WORKFLOW_TARGET_WORLD")
        if target:
            world = _WORLD_ALIASES.get(target)
            if world is None:
                raise ConfigError(
                    f"WORKFLOW_TARGET_WORLD={target!r} is not a world wfctl knows",
                    hint="use local, postgres (@workflow/world-postgres) or vercel",
                )
            values["world"], sources["world"] = world, "env WORKFLOW_TARGET_WORLD"

    for key, value in table.items():
        values[key] = value
        sources[key] = f"profile {name} ({cfg.path})"

    for key in KEYS:
        var = "WFCTL_" + key.upper()
        if var in env and env[var] != "":
            values[key] = coerce(key, env[var], where=f"env {var}")
            sources[key] = f"env {var}"

    for key, value in (flags or {}).items():
        if value is None:
            continue
        flag = f"--{key.replace('_', '-')}"
        if key in URL_KEYS:
            problem = url_problem(value)
            if problem:
                raise ConfigError(
                    f"{flag} {value!r} {problem}", hint="e.g. https://api.example.com or http://127.0.0.1:7243"
                )
        values[key] = value
        sources[key] = f"flag {flag}"

    _check_url_needed(values, sources, cfg, name)
    engine = engine_of(values.get("backend"), values.get("world"))
    wanted = ENGINE_KEYS.get(engine)
    for key, value in (flags or {}).items():
        if wanted and value is not None and key not in wanted and key not in OUTPUT_KEYS and key != "backend":
            warnings.append(
                f"--{key.replace('_', '-')} has no effect on {ENGINE_LABELS.get(engine, engine)} "
                f"(it reads: {', '.join(wanted)})"
            )
    if name is not None:
        warnings.extend(fit_warnings(cfg, name, table, engine, sources.get("backend") != "default"))

    if "token" in table and cfg.exists and os.name == "posix":
        try:
            mode = stat.S_IMODE(cfg.path.stat().st_mode)
        except OSError:
            mode = 0
        if mode & 0o077:
            warnings.append(
                f"{cfg.path} holds a token but is mode {mode:04o}; run 'chmod 600 {cfg.path}' "
                "or use token_env / WFCTL_TOKEN"
            )

    return Profile(name, values, sources, cfg.path, env, warnings, name_source)


def _check_url_needed(values: dict[str, Any], sources: dict[str, str], cfg: ConfigFile, name: str | None) -> None:
    """An engine reached only over HTTP with no ``url`` from anywhere: one error naming where the backend was
    chosen (the file's line, the flag or the variable)."""
    backend = values.get("backend")
    if backend not in URL_BACKENDS or values.get("url"):
        return
    source = sources.get("backend", "default")
    if source.startswith("profile") and name is not None:
        where = f"{_where(cfg, f'profiles.{name}', 'backend')}: [profiles.{name}] backend {backend!r}"
        hint = f"add it with 'wfctl config set url URL -p {name}', or pass --url / set WFCTL_URL"
    else:
        where = f"{source.replace('flag ', '').replace('env ', '')}={backend}"
        hint = "pass --url URL or set WFCTL_URL" + (f", or set url in profile {name}" if name else "")
    raise ConfigError(f"{where} needs a url (no --url, WFCTL_URL or url in the profile)", hint=hint)


def fit_warnings(cfg: ConfigFile, name: str, table: Mapping[str, Any], engine: str, backend_chosen: bool) -> list[str]:
    """Warnings for a profile's keys that its engine (as resolved, flags included) does not read, and for a
    profile that names no backend when nothing else chose one."""
    section = f"profiles.{name}"
    out: list[str] = []
    if not backend_chosen:
        line = header_line(cfg.text, section)
        out.append(f"{cfg.path}:{line}: " if line else f"{cfg.path}: ")
        out[-1] += (
            f"[{section}] sets no backend, so it uses {ENGINE_LABELS.get(engine, engine)} (the default "
            f"backend is {DEFAULT_BACKEND}); add 'backend = \"{DEFAULT_BACKEND}\"' or another backend to say so"
        )
    wanted = ENGINE_KEYS.get(engine)
    if wanted is None:
        return out
    unused = [k for k in table if k not in wanted and k not in OUTPUT_KEYS and k != "backend"]
    for key in unused:
        out.append(
            f"{_where(cfg, section, key)}: [{section}] key {key!r} has no effect on "
            f"{ENGINE_LABELS.get(engine, engine)} (it reads: {', '.join(wanted)})"
        )
    return out


# -- editing -------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def set_value(text: str, section: str | None, key: str, value: Any) -> str:
    """Set ``key`` in ``[section]`` of a TOML text, keeping comments and layout."""
    lines = text.splitlines()
    rendered = f"{key} = {_toml_value(value)}"
    line = locate(text, section, key)
    if line is not None:
        lines[line - 1] = rendered
        return "\n".join(lines) + "\n"
    if section is None:
        first_header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
        lines.insert(first_header, rendered)
        if first_header < len(lines) - 1 and lines[first_header + 1].strip():
            lines.insert(first_header + 1, "")
        return "\n".join(lines) + "\n"
    start = None
    for i, text_line in enumerate(lines):
        if _header(text_line, anchored=False) == section:
            start = i
            break
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"[{section}]", rendered]
        return "\n".join(lines) + "\n"
    end = start + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    insert = end
    while insert > start + 1 and not lines[insert - 1].strip():
        insert -= 1
    lines.insert(insert, rendered)
    return "\n".join(lines) + "\n"


def write_file(path: Path, text: str, *, private: bool = False) -> None:
    """Atomic write; keeps the file's mode, or 0600 when it will hold a secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    mode = 0o600 if private else 0o644
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if private:
            mode &= 0o600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def edit(path: Path, mutate: Callable[[str], str], *, private: bool = False) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    new = mutate(text)
    try:
        _parse_toml(new)
    except ValueError as exc:  # pragma: no cover - defensive
        raise ConfigError(f"refusing to write {path}: the edit would make it invalid ({exc})") from None
    write_file(path, new, private=private)
