"""The Typer application: global options (defined once), command registration,
argument normalisation and the mapping of errors to one line and an exit code.

The whole command line is checked before it is parsed: undecodable bytes and control characters are usage
errors (exit 2), and an option given without its value says so and lists the values it takes, instead of
swallowing the next word (README, Commands).

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
from .backends import BACKEND_NAMES
from .commands import completion as _complete
from .errors import EXIT_CODE_HELP, ExitCode, UsageError, WfctlError
from .output import error_line
from .runtime import Globals, Runtime

# name -> takes a value. Every entry is a root option; argv normalisation moves
# them in front of the subcommand, so they work before and after it.
GLOBAL_OPTIONS: dict[str, bool] = {
    "-p": True,
    "--profile": True,
    "--backend": True,
    "--url": True,
    "-o": True,
    "--output": True,
    "--fields": True,
    "--color": True,
    "--time": True,
    "--debug": False,
    "-q": False,
    "--quiet": False,
    "-y": False,
    "--yes": False,
    "--data-dir": True,
    "--app-url": True,
    "--dsn": True,
    "--namespace": True,
    "--insecure": False,
    "-v": False,
    "--verbose": False,
}


#: What a value-taking global option takes, for "needs a value" errors and help.
GLOBAL_VALUES: dict[str, str] = {
    "--profile": "a profile name ('wfctl config profiles' lists them)",
    "--backend": "one of: " + ", ".join(BACKEND_NAMES),
    "--url": "the engine's http:// or https:// URL",
    "--output": "one of: table, plain, json, jsonl, id",
    "--fields": "comma-separated field names, e.g. runId,status,createdAt",
    "--color": "one of: auto, always, never",
    "--time": "one of: relative, iso, local",
    "--data-dir": "the Workflow SDK local world's data directory, e.g. .workflow-data",
    "--app-url": "the Workflow SDK app's http:// or https:// URL",
    "--dsn": "a PostgreSQL connection string, e.g. postgres://world:world@localhost:5432/world",
    "--namespace": "a Temporal namespace",
}
_LONG = {"-p": "--profile", "-o": "--output"}
#: Options whose values are file system paths: they may hold bytes that are not UTF-8.
PATH_OPTIONS = ("--data-dir", "--input-file")


def _missing_value(option: str) -> None:
    name = _LONG.get(option, option)
    raise UsageError(f"option {option} needs a value", hint=GLOBAL_VALUES.get(name))


def check_argv(args: Sequence[str]) -> None:
    """Refuse arguments that cannot be meant: bytes that are not UTF-8 (Python keeps them as lone surrogates)
    and control characters other than tab and newline. Paths may hold any bytes."""
    for i, arg in enumerate(args):
        previous = args[i - 1] if i else ""
        if previous in PATH_OPTIONS or arg.split("=", 1)[0] in PATH_OPTIONS:
            continue
        if any(0xD800 <= ord(c) <= 0xDFFF for c in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise UsageError(
                f"argument {i + 1} ('{shown[:80]}') is not valid UTF-8 text",
                hint="arguments are UTF-8 text; check the shell's locale (LANG, LC_ALL)",
            )
        bad = [c for c in arg if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F]
        if bad:
            from .output import clean

            raise UsageError(f"argument {i + 1} ('{clean(arg)[:80]}') contains a control character ({clean(bad[0])})")


def normalize_args(args: Sequence[str]) -> list[str]:
    """Move global options given after the subcommand in front of it.

    Also turns a bare ``--stream`` (tail's optional-value flag) into
    ``--stream=`` so it can stand without a namespace, and refuses a global option
    given without its value (last on the line, or followed by another option).
    """
    args = list(args)

    def value_missing(position: int) -> bool:
        return position >= len(args) or args[position] in GLOBAL_OPTIONS or args[position] in ("-h", "--help")

    out: list[str] = []
    i = 0
    # Leading globals, up to the subcommand.
    while i < len(args):
        tok = args[i]
        if tok == "--" or not tok.startswith("-") or tok == "-":
            break
        out.append(tok)
        name = tok.split("=", 1)[0]
        if GLOBAL_OPTIONS.get(name) and "=" not in tok:
            if value_missing(i + 1):
                _missing_value(name)
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
            if GLOBAL_OPTIONS[name] and "=" not in tok:
                if value_missing(i + j + 1):
                    _missing_value(name)
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
    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        raw = list(sys.argv[1:] if args is None else args)
        shell = os.environ.get("_WFCTL_COMPLETE")
        if shell:  # TAB: the completion scripts call back here (commands/completion.py); never the network
            sys.stdout.write(_complete.answer(self, shell, raw))
            if standalone_mode:
                sys.exit(0)
            return 0
        debug = "--debug" in raw or bool(os.environ.get("WFCTL_DEBUG"))
        code = run_group(
            self, raw, prog_name or "wfctl", complete_var, debug, windows_expand_args=windows_expand_args, **extra
        )
        if standalone_mode:
            sys.exit(code)
        return code


def run_group(
    group: TyperGroup, raw: list[str], prog_name: str, complete_var: str | None, debug: bool, **extra: Any
) -> int:
    from typer import _click as click

    args: list[str] = []
    try:
        check_argv(raw)
        args = normalize_args(raw)
        rv = TyperGroup.main(
            group, args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
        )
        return int(rv) if isinstance(rv, int) else 0
    except click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n") if exc.ctx else None
        return 0
    except click.exceptions.BadOptionUsage as exc:
        path, command = _find_command(group, args, prog_name)
        message, hint = _option_usage(exc, command)
        error_line(message, hint or f"see '{path} --help'")
        return ExitCode.USAGE
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
        error_line(
            f"internal error: {type(exc).__name__}: {exc}",
            "this is a bug in wfctl; rerun with --debug for the traceback and report it",
        )
        return ExitCode.INTERNAL


def _find_command(group: TyperGroup, args: list[str], prog_name: str) -> tuple[str, Any]:
    """The (sub)command a normalised command line names, and its path for messages."""
    from typer import _click as click

    command: Any = group
    path = prog_name
    ctx = click.Context(group, info_name=prog_name)
    i = 0
    while i < len(args) and hasattr(command, "get_command"):
        tok = args[i]
        if tok == "--":
            break
        if tok.startswith("-"):
            i += 2 if GLOBAL_OPTIONS.get(tok) else 1
            continue
        sub = command.get_command(ctx, tok)
        if sub is None:
            break
        command, path = sub, f"{path} {tok}"
        i += 1
    return path, command


def _option_usage(exc: Any, command: Any) -> tuple[str, str | None]:
    """click's "Option '--last' requires an argument." → "option --last needs a value" and what it takes."""
    from typer import _click as click

    name = getattr(exc, "option_name", None)
    if not name or "requires" not in exc.format_message():
        return exc.format_message(), None
    hint = None
    for param in getattr(command, "params", []):
        if name in getattr(param, "opts", []):
            metavar = param.make_metavar(click.Context(command))
            hint = f"{name} {metavar}" + (f": {param.help.strip()}" if param.help else "")
            break
    return f"option {name} needs a value", hint


EXIT_CODES_EPILOG = (
    "\b\nExit codes:\n"
    + "\n".join(f"  {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items())
    + "\n\nGlobal options may stand before or after the command."
)

#: The module of each command (``wfctl/commands/<module>.py``), in the order of the help: a command line that
#: names a command imports only that command's module (docs/architecture.md, "Start-up").
COMMAND_MODULES: dict[str, str] = {
    "get": "get",
    "list": "list_cmd",
    "status": "status",
    "cancel": "cancel",
    "wake": "wake",
    "resume": "resume",
    "tail": "tail",
    "dashboard": "dashboard",
    "start": "start",
    "rerun": "rerun",
    "completion": "completion",
    "config": "config_cmd",
}

#: The application without its commands (the global options and the root callback). ``app``, the whole
#: application, is this with every command registered, built on first use (``whole_app()``).
_root = typer.Typer(
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


@_root.callback()
def root(
    ctx: typer.Context,
    profile: Optional[str] = typer.Option(
        None,
        "-p",
        "--profile",
        metavar="NAME",
        help="Profile to use [default: WFCTL_PROFILE, else current_profile].",
        autocompletion=_complete.complete_profiles,
    ),
    backend: Optional[str] = typer.Option(
        None,
        "--backend",
        metavar="BACKEND",
        help=" | ".join(BACKEND_NAMES) + ".",
        autocompletion=_complete.complete_backends,
    ),
    url: Optional[str] = typer.Option(None, "--url", metavar="URL", help="Engine base URL (http:// or https://)."),
    output: Optional[str] = typer.Option(
        None,
        "-o",
        "--output",
        metavar="table|plain|json|jsonl|id",
        help="Output format [default: table on a terminal, else plain].",
        autocompletion=_complete.complete_formats,
    ),
    fields: Optional[str] = typer.Option(
        None,
        "--fields",
        metavar="FIELD,...",
        help="Only these fields, in every format (e.g. runId,status).",
        autocompletion=_complete.complete_fields,
    ),
    color: Optional[str] = typer.Option(
        None,
        "--color",
        metavar="auto|always|never",
        help="Colour in tables [default: auto; NO_COLOR, FORCE_COLOR].",
        autocompletion=_complete.complete_colors,
    ),
    time: Optional[str] = typer.Option(
        None,
        "--time",
        metavar="relative|iso|local",
        help="Times in tables [default: relative].",
        autocompletion=_complete.complete_times,
    ),
    debug: bool = typer.Option(False, "--debug", help="Tracebacks and HTTP exchanges (credentials redacted)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress or notes on stderr."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
    data_dir: Optional[str] = typer.Option(
        None,
        "--data-dir",
        metavar="DIR",
        help="Workflow SDK local world data directory [default: found from the current directory].",
    ),
    app_url: Optional[str] = typer.Option(
        None, "--app-url", metavar="URL", help="Workflow SDK app URL (wake re-enqueues there)."
    ),
    dsn: Optional[str] = typer.Option(
        None, "--dsn", metavar="DSN", help="PostgreSQL DSN (Workflow SDK postgres world)."
    ),
    namespace: Optional[str] = typer.Option(None, "--namespace", metavar="NAME", help="Temporal namespace."),
    insecure: bool = typer.Option(False, "--insecure", help="Skip TLS certificate verification."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Full decoded data in tail and get."),
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    g = Globals(
        profile=profile,
        backend=backend,
        url=url,
        output=output,
        fields=fields,
        color=color,
        time=time,
        debug=debug,
        quiet=quiet,
        yes=yes,
        data_dir=data_dir,
        app_url=app_url,
        dsn=dsn,
        namespace=namespace,
        insecure=insecure,
        verbose=verbose,
    )
    rt = Runtime(g)
    ctx.obj = rt
    ctx.call_on_close(rt.close)


def _register(target: typer.Typer, names: Sequence[str]) -> None:
    """Import the modules of the commands ``names`` and register those commands on ``target``."""
    import importlib

    from .commands.options import WfctlCommand

    apps = [target]
    for name in names:
        module = importlib.import_module(f"{__package__}.commands.{COMMAND_MODULES[name]}")
        if name == "config":
            target.add_typer(module.app, name="config")
            apps.append(module.app)
        else:
            module.register(target)
    # Every command gets the same help layout: examples, global options, RUN_ID, whole-sentence summaries.
    for typer_app in apps:
        for info in typer_app.registered_commands:
            if info.cls in (None, typer.core.TyperCommand):
                info.cls = WfctlCommand


_whole: typer.Typer | None = None


def whole_app() -> typer.Typer:
    """The application with every command (help of the whole application, an unknown command, completion)."""
    global _whole
    if _whole is None:
        _register(_root, list(COMMAND_MODULES))
        _whole = _root
    return _whole


def __getattr__(name: str) -> Any:
    """``wfctl.app.app``: the whole application (registered on first use, so that a command line naming one
    command imports only that command's module)."""
    if name == "app":
        return whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(args: list[str]) -> int:
    command = typer.main.get_command(_only(_command_name(args)) or whole_app())
    return command.main(args=args, prog_name="wfctl", standalone_mode=False)


def _command_name(args: Sequence[str]) -> str | None:
    """The command a command line names (the first word after the leading global options), or None."""
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--":
            return None
        if not tok.startswith("-") or tok == "-":
            return tok
        i += 2 if GLOBAL_OPTIONS.get(tok) else 1
    return None


def _only(name: str | None) -> typer.Typer | None:
    """The application with only the command ``name``, or None for the whole one.

    Typer builds the parser of every registered command before it parses anything (the signature and type
    hints of each function, each option), which was the largest part of a command's own start-up; a command
    line that names a command needs only that one, and imports only that command's module
    (docs/architecture.md, "Start-up"). Help of the whole application, an unknown command and TAB completion
    (``_WFCTL_COMPLETE``) keep the whole application."""
    if name not in COMMAND_MODULES or os.environ.get("_WFCTL_COMPLETE"):
        return None
    import copy

    slim = copy.copy(_root)  # shares the settings and the root callback
    slim.registered_commands = []
    slim.registered_groups = []
    _register(slim, [name])
    return slim


def completion_script(shell: str) -> str:
    """The completion script ``wfctl completion SHELL`` prints (for tests and tools outside a command)."""
    return _complete.script(shell)
