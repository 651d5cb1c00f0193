"""wfctl config view|use|set|profiles|path|doctor — profiles in a TOML file (design §8)."""

from __future__ import annotations

from typing import Optional

import typer

from . import runtime

app = typer.Typer(help="Show and edit profiles.", no_args_is_help=True, rich_markup_mode=None,
                  add_completion=False)


def _secret(key: str, value: object) -> object:
    from ..config import KEYS

    spec = KEYS.get(key)
    if spec is not None and spec.secret and value:
        return "***"
    if key == "headers" and isinstance(value, dict):
        return {k: ("***" if k.lower() in ("authorization", "x-api-key", "cookie") else v) for k, v in value.items()}
    return value


@app.command("view")
def view(
    ctx: typer.Context,
    show_sources: bool = typer.Option(False, "--show-sources", help="Show where each value came from."),
) -> None:
    """Print the resolved profile (tokens redacted)."""
    from ..config import KEYS

    rt = runtime(ctx)
    profile = rt.profile
    rows = [("profile", profile.display_name, "flag" if rt.g.profile else "selected"),
            ("config", str(profile.path), "WFCTL_CONFIG" if rt.env.get("WFCTL_CONFIG") else "platformdirs")]
    for key in KEYS:
        value = profile.values.get(key)
        if value is None:
            continue
        rows.append((key, _secret(key, value), profile.source(key)))
    token = profile.token()
    if token and "token" not in profile.values:
        rows.append(("token", "***", f"env {profile.get('token_env')}"))
    rt.render.mapping(rows, sources=show_sources)


@app.command("use")
def use(ctx: typer.Context, name: str = typer.Argument(..., help="Profile name.")) -> None:
    """Make a profile the current one."""
    from .. import config
    from ..errors import ConfigError

    rt = runtime(ctx)
    path = config.config_path(rt.env)
    cfg = config.load_file(path)
    if name not in cfg.profiles:
        raise ConfigError(f"unknown profile {name!r} in {path}",
                          hint="profiles: " + (", ".join(sorted(cfg.profiles)) or "none defined"))
    config.edit(path, lambda text: config.set_value(text, None, "current_profile", name))
    rt.note(f"current profile: {name}")


@app.command("set")
def set_(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Key, e.g. url, backend, token_env."),
    value: str = typer.Argument(..., help="Value."),
) -> None:
    """Set KEY to VALUE in the profile chosen with -p (else the current profile, else 'default')."""
    from .. import config

    rt = runtime(ctx)
    path = config.config_path(rt.env)
    cfg = config.load_file(path)
    name = rt.g.profile or rt.env.get("WFCTL_PROFILE") or cfg.current_profile or "default"
    typed = config.coerce(key, value, where=f"config set {key}")
    private = key == "token" or (path.exists() and "token" in cfg.text)

    def mutate(text: str) -> str:
        text = config.set_value(text, f"profiles.{name}", key, typed)
        if not cfg.current_profile:
            text = config.set_value(text, None, "current_profile", name)
        return text

    config.edit(path, mutate, private=private)
    rt.note(f"set {key} in profile {name} ({path})")


@app.command("profiles")
def profiles(ctx: typer.Context) -> None:
    """List profiles; the current one is marked with *."""
    from .. import config
    from ..output import clean, write

    rt = runtime(ctx)
    cfg = config.load_file(config.config_path(rt.env))
    if rt.out.format in ("json", "jsonl"):
        from ..output import write_json

        write_json({"current": cfg.current_profile,
                    "profiles": {n: {k: _secret(k, v) for k, v in t.items()} for n, t in cfg.profiles.items()}})
        return
    if not cfg.profiles:
        rt.note(f"no profiles in {cfg.path}; wfctl uses the Workflow SDK local world found from here")
    for name, table in cfg.profiles.items():
        mark = "*" if name == cfg.current_profile else " "
        write(f"{mark} {clean(name)}\t{clean(table.get('backend', 'workflow-sdk'))}\t{clean(table.get('url') or table.get('data_dir') or '')}".rstrip())


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the configuration file's path."""
    from ..config import config_path
    from ..output import write

    write(str(config_path(runtime(ctx).env)))


@app.command("doctor")
def doctor(ctx: typer.Context) -> None:
    """Check the current profile for real: reachable, authorised, engine version supported."""
    from ..errors import ExitCode, WfctlError
    from ..model import Check
    from ..output import write, write_json

    rt = runtime(ctx)
    checks: list[Check] = [Check("config", True, f"{rt.profile.path} (profile {rt.profile.display_name})")]
    code = ExitCode.OK
    try:
        backend = rt.backend()
        checks.append(Check("backend", True, backend.label))
        checks.extend(backend.doctor())
    except WfctlError as exc:
        checks.append(Check("backend", False, exc.message + (f" ({exc.hint})" if exc.hint else "")))
        code = exc.code
    if code == ExitCode.OK and not all(c.ok for c in checks):
        code = ExitCode.UNAVAILABLE
    if rt.out.format in ("json", "jsonl"):
        write_json([c.to_json() for c in checks])
    else:
        from ..output import clean

        for c in checks:
            write(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<10} {clean(c.detail)}")
    raise typer.Exit(int(code))
