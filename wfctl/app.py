"""The Typer application: global options (defined once), command registration,
argument normalisation and the mapping of errors to one line and an exit code.

Command modules are small and import backends, httpx and Rich only inside
their functions, so ``wfctl --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional, Sequence

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import EXIT_CODE_HELP, ExitCode, WfctlError
from .output import error_line
from .runtime import Globals, Runtime

# name -> takes a value. Every entry is a root option; argv normalisation moves
# them in front of the subcommand, so they work before and after it.
GLOBAL_OPTIONS: dict[str, bool] = {
    "-p": True, "--profile": True, "--backend": True, "--url": True, "-o": True, "--output": True,
    "--fields": True, "--color": True, "--time": True, "--debug": False, "-q": False, "--quiet": False,
    "-y": False, "--yes": False, "--data-dir": True, "--app-url": True, "--dsn": True, "--namespace": True,
    "--insecure": False, "-v": False, "--verbose": False,
}


def normalize_args(args: Sequence[str]) -> list[str]:
    """Move global options given after the subcommand in front of it.

    Also turns a bare ``--stream`` (tail's optional-value flag) into
    ``--stream=`` so it can stand without a namespace.
    """
    args = list(args)
    out: list[str] = []
    i = 0
    # Leading globals, up to the subcommand.
    while i < len(args):
        tok = args[i]
        if tok == "--" or not tok.startswith("-") or tok == "-":
            break
        out.append(tok)
        name = tok.split("=", 1)[0]
        if GLOBAL_OPTIONS.get(name) and "=" not in tok and i + 1 < len(args):
            out.append(args[i + 1])
            i += 1
        i += 1
    head, rest = out, args[i:]
    hoisted: list[str] = []
    kept: list[str] = []
    j = 0
    while j < len(rest):
        tok = rest[j]
        if tok == "--":
            kept.extend(rest[j:])
            break
        name = tok.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and j > 0:
            hoisted.append(tok)
            if GLOBAL_OPTIONS[name] and "=" not in tok and j + 1 < len(rest):
                hoisted.append(rest[j + 1])
                j += 1
        elif tok == "--stream" and (j + 1 >= len(rest) or rest[j + 1].startswith("-") or _looks_like_run(rest, j)):
            kept.append("--stream=")
        else:
            kept.append(tok)
        j += 1
    return head + hoisted + kept


def _looks_like_run(rest: list[str], j: int) -> bool:
    # `tail --stream RUN`: a bare --stream followed by the only positional.
    positionals = [a for a in rest[1:] if not a.startswith("-")]
    return len(positionals) == 1 and rest[j + 1] == positionals[0]


class WfctlGroup(TyperGroup):
    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        raw = list(sys.argv[1:] if args is None else args)
        if os.environ.get("_WFCTL_COMPLETE"):
            from typer._completion_classes import completion_init

            completion_init()
        debug = "--debug" in raw or bool(os.environ.get("WFCTL_DEBUG"))
        code = run_group(self, raw, prog_name or "wfctl", complete_var, debug, **extra)
        if standalone_mode:
            sys.exit(code)
        return code


def run_group(group: TyperGroup, raw: list[str], prog_name: str, complete_var: str | None, debug: bool,
              **extra: Any) -> int:
    from typer import _click as click

    try:
        rv = TyperGroup.main(group, args=normalize_args(raw), prog_name=prog_name, complete_var=complete_var,
                             standalone_mode=False, **extra)
        return int(rv) if isinstance(rv, int) else 0
    except click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n") if exc.ctx else None
        return 0
    except click.exceptions.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else prog_name
        error_line(exc.format_message(), f"see '{command} --help'")
        return ExitCode.USAGE
    except click.exceptions.ClickException as exc:
        error_line(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        error_line("aborted")
        return ExitCode.INTERRUPTED
    except WfctlError as exc:
        if debug:
            import traceback

            traceback.print_exc(file=sys.stderr)
        error_line(exc.message, exc.hint)
        return int(exc.code)
    except KeyboardInterrupt:
        error_line("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        except OSError:
            pass
        return ExitCode.OK
    except Exception as exc:  # a bug: say so, and show the traceback with --debug
        if debug:
            import traceback

            traceback.print_exc(file=sys.stderr)
        error_line(f"internal error: {type(exc).__name__}: {exc}",
                   "this is a bug in wfctl; rerun with --debug for the traceback and report it")
        return ExitCode.INTERNAL


EXIT_CODES_EPILOG = "\b\nExit codes:\n" + "\n".join(
    f"  {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items()
) + "\n\nGlobal options may stand before or after the command."

app = typer.Typer(
    cls=WfctlGroup,
    name="wfctl",
    help="Inspect and control workflow runs on any engine.",
    epilog=EXIT_CODES_EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"wfctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    profile: Optional[str] = typer.Option(None, "-p", "--profile", help="Profile to use (WFCTL_PROFILE).",
                                          autocompletion=lambda incomplete: _complete_profiles(incomplete)),
    backend: Optional[str] = typer.Option(None, "--backend", help="Backend: workflow-sdk, flue, workflow-runs-v1, "
                                          "workflow-runs-v2, temporal."),
    url: Optional[str] = typer.Option(None, "--url", help="Engine base URL."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="table | plain | json | jsonl | id "
                                         "[default: table on a terminal, else plain]."),
    fields: Optional[str] = typer.Option(None, "--fields", help="Comma-separated fields to show."),
    color: Optional[str] = typer.Option(None, "--color", help="auto | always | never (NO_COLOR, FORCE_COLOR)."),
    time: Optional[str] = typer.Option(None, "--time", help="relative | iso | local times in tables."),
    debug: bool = typer.Option(False, "--debug", help="Tracebacks and HTTP exchanges (credentials redacted)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress or notes on stderr."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Workflow SDK local world data directory."),
    app_url: Optional[str] = typer.Option(None, "--app-url", help="Workflow SDK app URL (wake re-enqueues there)."),
    dsn: Optional[str] = typer.Option(None, "--dsn", help="PostgreSQL DSN (Workflow SDK postgres world)."),
    namespace: Optional[str] = typer.Option(None, "--namespace", help="Temporal namespace."),
    insecure: bool = typer.Option(False, "--insecure", help="Skip TLS certificate verification."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Full decoded data in tail and get."),
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    g = Globals(profile=profile, backend=backend, url=url, output=output, fields=fields, color=color, time=time,
                debug=debug, quiet=quiet, yes=yes, data_dir=data_dir, app_url=app_url, dsn=dsn,
                namespace=namespace, insecure=insecure, verbose=verbose)
    rt = Runtime(g)
    ctx.obj = rt
    ctx.call_on_close(rt.close)


def _complete_profiles(incomplete: str) -> list[str]:
    try:
        from .config import config_path, load_file

        return [p for p in load_file(config_path()).profiles if p.startswith(incomplete)]
    except Exception:
        return []


def _register() -> None:
    from .commands import cancel, completion, config_cmd, dashboard, get, list_cmd, start, status, tail, wake

    for module in (get, list_cmd, status, cancel, wake, tail, dashboard, start, completion):
        module.register(app)
    app.add_typer(config_cmd.app, name="config")


_register()


def run(args: list[str]) -> int:
    command = typer.main.get_command(app)
    return command.main(args=args, prog_name="wfctl", standalone_mode=False)


def click_command() -> Any:
    return typer.main.get_command(app)
