"""wfctl config view|use|set|profiles|path|doctor — profiles in a TOML file (README, Configuration)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import typer

from .common import runtime
from .options import WfctlCommand, WfctlSubGroup, examples

if TYPE_CHECKING:
    from ..config import Profile
    from ..render import Renderer
    from ..runtime import Runtime

app = typer.Typer(
    cls=WfctlSubGroup,
    help="Show and edit profiles.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    epilog=examples(
        "wfctl config view --show-sources",
        "wfctl config set url https://api.example.com -p ops",
        "wfctl config use ops",
    ),
)

#: Keys whose purpose is easy to mistake: ``config view`` says what they are for.
EXPLAINED = ("timeout",)


def _secret(key: str, value: object) -> object:
    from ..config import KEYS

    spec = KEYS.get(key)
    if spec is not None and spec.secret and value:
        return "***"
    if key == "headers" and isinstance(value, dict):
        return {k: ("***" if k.lower() in ("authorization", "x-api-key", "cookie") else v) for k, v in value.items()}
    return value


def _rows(rt: "Runtime", profile: "Profile") -> list[tuple[str, Any, str]]:
    """What matters for the resolved backend: its keys (values from every layer, defaults included), the local
    world's data directory as found and its app URL, and the output settings."""
    from ..config import ENGINE_KEYS, OUTPUT_KEYS

    rows: list[tuple[str, Any, str]] = [
        ("profile", profile.display_name, profile.name_source),
        (
            "config",
            str(profile.path) + ("" if profile.path.exists() else " (no file yet)"),
            "env WFCTL_CONFIG" if rt.env.get("WFCTL_CONFIG") else "platformdirs",
        ),
        ("backend", profile.get("backend"), profile.source("backend")),
    ]
    engine = profile.engine
    keys = ENGINE_KEYS.get(engine, ("url", "token", "token_env", "headers", "timeout", "insecure"))
    local = _local_world(rt, profile) if engine == "local" else {}
    for key in keys:
        if key in local:
            rows.append((key, *local[key]))
            continue
        value = profile.values.get(key)
        if value is not None:
            rows.append((key, _secret(key, value), profile.source(key)))
    if "token" in keys and profile.token() and "token" not in profile.values:
        rows.append(("token", "***", f"env {profile.get('token_env')}"))
    for key in OUTPUT_KEYS:
        if profile.values.get(key) is not None:
            rows.append((key, profile.values[key], profile.source(key)))
    return rows


def _local_world(rt: "Runtime", profile: "Profile") -> dict[str, tuple[Any, str]]:
    """The local world's data directory (as found, or why none is) and the app URL wake posts to."""
    from ..errors import WfctlError

    out: dict[str, tuple[Any, str]] = {}
    backend: Any = rt.backend()
    try:
        backend.preflight()
        source = backend.data_source or ""
        if source == "data_dir":
            source = profile.source("data_dir")
        elif source.startswith("WORKFLOW_"):
            source = f"env {source}"
        out["data_dir"] = (str(backend.data.root), source)
    except WfctlError as exc:
        out["data_dir"] = (None, exc.message)
    if not hasattr(backend, "app_url"):
        return out
    env = profile.env
    if profile.get("app_url"):
        source = profile.source("app_url")
    elif env.get("WORKFLOW_LOCAL_BASE_URL"):
        source = "env WORKFLOW_LOCAL_BASE_URL"
    elif env.get("PORT"):
        source = "env PORT"
    else:
        source = "default"
    out["app_url"] = (backend.app_url(), source)
    return out


@app.command(
    "view", epilog=examples("wfctl config view", "wfctl config view --show-sources", "wfctl -p ops config view -o json")
)
def view(
    ctx: typer.Context,
    show_sources: bool = typer.Option(
        False, "--show-sources", help="Show where each value came from (and where the profile choice came from)."
    ),
) -> None:
    """Print the resolved profile: what the chosen backend uses (tokens redacted)."""
    from ..config import KEYS

    rt = runtime(ctx)
    rows = _rows(rt, rt.profile)
    rt.render.config_view(rows, sources=show_sources, notes={key: KEYS[key].help for key in EXPLAINED})


def _renderer(fmt: str = "plain") -> "Renderer":
    """A renderer for the commands that must work while the configuration is broken (``profiles``, ``path``):
    it is given the format from ``-o`` alone, not the resolved profile's."""
    from ..output import OutputOptions
    from ..render import Renderer

    return Renderer(OutputOptions(format=fmt))


@app.command("use", epilog=examples("wfctl config use ops", "wfctl config profiles"))
def use(ctx: typer.Context, name: str = typer.Argument(..., metavar="PROFILE", help="Profile name.")) -> None:
    """Make a profile the current one."""
    from .. import config
    from ..errors import ConfigError

    rt = runtime(ctx)
    _check_name(name, "PROFILE")
    path = config.config_path(rt.env)
    cfg = config.load_file(path, validate=False)
    if not isinstance(cfg.profiles, dict) or name not in cfg.profiles:
        known = sorted(cfg.profiles) if isinstance(cfg.profiles, dict) else []
        raise ConfigError(
            f"unknown profile {name!r} in {path}", hint="profiles: " + (", ".join(known) or "none defined")
        )
    config.edit(path, lambda text: config.set_value(text, None, "current_profile", name))
    rt.note(f"current profile: {name}")


def _check_name(name: str, what: str) -> None:
    """A profile name ``config set``/``use`` can write: a TOML bare key."""
    import re

    from ..config import profile_name_problem
    from ..errors import UsageError

    problem = profile_name_problem(name)
    if problem:
        raise UsageError(f"the profile name {problem}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise UsageError(f"invalid {what} {name!r}: profile names are letters, digits, '-' and '_'")


class SetCommand(WfctlCommand):
    """``config set --help`` lists every key, what it is for and the values it takes."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        from ..config import KEYS

        rows = [
            (
                key,
                spec.help
                + (f" ({' | '.join(spec.choices)})" if spec.choices else "")
                + (" [secret]" if spec.secret else ""),
            )
            for key, spec in KEYS.items()
        ]
        with formatter.section("Keys"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@app.command(
    "set",
    cls=SetCommand,
    epilog=examples(
        "wfctl config set url https://api.example.com -p ops   # edits [profiles.ops]; 'config use ops' makes it "
        "current",
        "wfctl config set backend temporal -p temporal",
        "wfctl config set headers x-tenant=acme,x-team=ops -p flue",
    ),
)
def set_(
    ctx: typer.Context,
    key: str = typer.Argument(..., metavar="KEY", help="A key (listed below)."),
    value: str = typer.Argument(
        ..., metavar="VALUE", help="Its value (true/false, a number, NAME=VALUE,... for headers)."
    ),
) -> None:
    """Set KEY to VALUE in one profile: the one -p names, else WFCTL_PROFILE, else the current one.

    It never changes which profile is current ('config use' does that).
    """
    from .. import config
    from ..errors import UsageError

    rt = runtime(ctx)
    path = config.config_path(rt.env)
    typed = config.coerce(key, value, where=f"config set {key}")
    cfg = config.load_file(path, validate=False)
    if rt.g.profile is not None:
        name, source = rt.g.profile, "-p"
    elif "WFCTL_PROFILE" in rt.env:
        name, source = rt.env["WFCTL_PROFILE"], "WFCTL_PROFILE"
    elif isinstance(cfg.current_profile, str):
        name, source = cfg.current_profile, "current_profile"
    else:
        raise UsageError(
            "which profile? there is no current profile",
            hint=f"name one: wfctl config set {key} VALUE -p NAME (then 'wfctl config use NAME' makes it current)",
        )
    _check_name(name, source)
    private = key == "token" or (path.exists() and "token" in cfg.text)
    config.edit(path, lambda text: config.set_value(text, f"profiles.{name}", key, typed), private=private)
    rt.note(f"set {key} in profile {name} ({path})")
    after = config.load_file(path, validate=False)
    table = after.profiles.get(name) if isinstance(after.profiles, dict) else None
    if isinstance(table, dict):
        engine = config.engine_of(table.get("backend"), table.get("world"))
        for warning in config.fit_warnings(after, name, table, engine, True):
            if f"key {key!r}" in warning:
                rt.note("warning: " + warning)
    if after.current_profile != name:
        rt.note(
            f"profile {name} is not the current profile: use it with -p {name}, or make it current with "
            f"'wfctl config use {name}'"
        )


@app.command("profiles", epilog=examples("wfctl config profiles", "wfctl config profiles -o json"))
def profiles(ctx: typer.Context) -> None:
    """List profiles; the current one is marked with *."""
    from .. import config

    rt = runtime(ctx)
    cfg = config.load_file(config.config_path(rt.env), validate=False)  # lists a file with wrong values too
    tables = {n: t for n, t in cfg.profiles.items() if isinstance(t, dict)} if isinstance(cfg.profiles, dict) else {}
    render = _renderer(rt.format_without_profile)
    if not tables and not render.opts.structured:
        rt.note(f"no profiles in {cfg.path}; wfctl uses the Workflow SDK local world found from here")
    render.profiles(cfg.current_profile, {n: {k: _secret(k, v) for k, v in t.items()} for n, t in tables.items()})


@app.command("path", epilog=examples("wfctl config path", '$EDITOR "$(wfctl config path)"'))
def path(ctx: typer.Context) -> None:
    """Print the configuration file's path."""
    from ..config import config_path

    _renderer().path(config_path(runtime(ctx).env))


@app.command("doctor", epilog=examples("wfctl config doctor", "wfctl -p ops config doctor -o json"))
def doctor(ctx: typer.Context) -> None:
    """Check the current profile for real: reachable, authorised, engine version supported.

    It exits like the commands would: 3 when the local world's data directory is missing, 2 when it holds no
    world, 5 when the engine cannot be reached.
    """
    from ..errors import ExitCode, WfctlError
    from ..model import Check

    rt = runtime(ctx)
    checks: list[Check] = [Check("config", True, f"{rt.profile.path} (profile {rt.profile.display_name})")]
    code: Optional[ExitCode] = None
    try:
        backend = rt.backend()
        checks.append(Check("backend", True, backend.label))
        try:
            backend.preflight()
        except WfctlError as exc:
            code = exc.code
        checks.extend(backend.doctor())
    except WfctlError as exc:
        checks.append(Check("backend", False, exc.message + (f" ({exc.hint})" if exc.hint else "")))
        code = exc.code
    if code is None:
        code = ExitCode.OK if all(c.ok for c in checks) else ExitCode.UNAVAILABLE
    rt.render.checks(checks)
    raise typer.Exit(int(code))
