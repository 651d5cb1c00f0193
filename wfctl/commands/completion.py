"""wfctl completion bash|zsh|fish — print the shell completion script.

Run-id completion reads the local cache of recently printed ids
(``wfctl.cache``); pressing TAB never touches the network.
"""

from __future__ import annotations

import typer

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_WFCTL_COMPLETE"


def script(shell: str) -> str:
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    from ..app import click_command

    completion_init()
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are all known
        raise ValueError(shell)
    source = cls(click_command(), {}, "wfctl", COMPLETE_VAR).source()
    return source if source.endswith("\n") else source + "\n"


def completion(
    shell: str = typer.Argument(..., help="bash, zsh or fish.", show_default=False),
) -> None:
    """Print the completion script for a shell (e.g. wfctl completion bash > /etc/bash_completion.d/wfctl)."""
    import sys

    from ..errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}", hint="use bash, zsh or fish")
    sys.stdout.write(script(shell))


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)
