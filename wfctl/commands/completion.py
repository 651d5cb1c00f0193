"""wfctl completion bash|zsh|fish — print the shell completion script.

Run-id completion reads the local cache of recently printed ids
(``wfctl.cache``); pressing TAB never touches the network.

The script is generated for the command tree it is given (the running one, from the context), so this module
never imports :mod:`wfctl.app`; :func:`wfctl.app.completion_script` gives it outside a command.
"""

from __future__ import annotations

from typing import Any

import typer

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_WFCTL_COMPLETE"


def script(shell: str, command: Any) -> str:
    """The completion script of ``shell`` for the click ``command`` (wfctl's root group)."""
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are all known
        raise ValueError(shell)
    source = cls(command, {}, "wfctl", COMPLETE_VAR).source()
    return source if source.endswith("\n") else source + "\n"


def completion(
    ctx: typer.Context,
    shell: str = typer.Argument(..., help="bash, zsh or fish.", show_default=False),
) -> None:
    """Print the completion script for a shell (e.g. wfctl completion bash > /etc/bash_completion.d/wfctl)."""
    import sys

    from ..errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}", hint="use bash, zsh or fish")
    sys.stdout.write(script(shell, ctx.find_root().command))


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)
