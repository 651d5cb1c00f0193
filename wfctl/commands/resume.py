"""wfctl resume RUN [--hook TOKEN] --data JSON — deliver a payload to a run waiting on a hook (the Workflow SDK's
``resumeHook``), or with ``--signal NAME`` a signal (Temporal), then let the engine continue the run."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer

from .common import runtime, wait_runs
from .options import (
    check_run_id,
    check_text,
    dry_run_option,
    examples,
    interval_option,
    only_with,
    run_argument,
    timeout_option,
    wait_option,
)

EXAMPLES = examples(
    "wfctl resume RUN --data '{\"approved\": true}'           # the run's only pending hook",
    "wfctl resume RUN --hook approval:doc1 --data '{\"approved\": false}' --wait",
    "wfctl resume RUN --signal approve --data '[\"ok\"]'       # Temporal: a signal",
)


def read_data(data: Optional[str], data_file: Optional[str]) -> tuple[bool, Any]:
    """(given, value) from ``--data JSON`` or ``--data-file FILE`` (``-`` for stdin)."""
    from ..errors import UsageError

    if data is not None and data_file is not None:
        raise UsageError("give --data or --data-file, not both")
    if data is None and data_file is None:
        return False, None
    if data is not None:
        source, text = "--data", data
    else:
        assert data_file is not None
        source = f"--data-file {data_file}"
        try:
            text = sys.stdin.read() if data_file == "-" else open(data_file, encoding="utf-8").read()
        except OSError as exc:
            raise UsageError(f"cannot read {data_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{source} is not UTF-8 text") from None
    try:
        return True, json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{source} is nested too deeply") from None


def resume(
    ctx: typer.Context,
    run_id: str = run_argument(),
    hook: Optional[str] = typer.Option(
        None, "--hook", metavar="TOKEN", help="The hook's token ('get' lists them) [default: the run's only hook]."
    ),
    signal: Optional[str] = typer.Option(None, "--signal", metavar="NAME", help="Send this signal (Temporal)."),
    data: Optional[str] = typer.Option(None, "--data", metavar="JSON", help="The payload as JSON."),
    data_file: Optional[str] = typer.Option(
        None, "--data-file", metavar="FILE", help="Read the payload JSON from a file (- for stdin)."
    ),
    dry_run: bool = dry_run_option("Check the run and the hook; deliver nothing."),
    wait: bool = wait_option("Then wait until the run is terminal; exit by its state."),
    timeout: Optional[float] = timeout_option(),
    interval: float = interval_option("1s"),
) -> None:
    """Resume a run waiting on a hook with a payload (resumeHook), or send it a signal. Exit 3 for an unknown
    run or token, 2 for a run that cannot take it (finished, the hook disposed)."""
    from ..backends.base import RESUME, ResumeRequest
    from ..errors import UsageError
    from ..waiting import exit_code_for

    rt = runtime(ctx)
    check_run_id(run_id)
    check_text(hook, "--hook")
    check_text(signal, "--signal")
    only_with(ctx, wait, ("timeout", "interval"), "--wait")
    if hook is not None and signal is not None:
        raise UsageError("give --hook or --signal, not both")
    if wait and dry_run:
        raise UsageError("give --wait or --dry-run, not both")
    has_data, value = read_data(data, data_file)
    if not has_data and signal is None:
        raise UsageError("resume needs a payload: --data JSON or --data-file FILE", hint="e.g. --data '{\"ok\": true}'")
    backend = rt.backend(RESUME)
    outcome = backend.resume(
        run_id, ResumeRequest(hook=hook, signal=signal, data=value, has_data=has_data, dry_run=dry_run)
    )
    rt.remember([outcome.runId])
    rt.render.resume(outcome)
    if outcome.message:
        rt.note(outcome.message)
    if wait:
        runs = wait_runs(rt, backend, [outcome.runId], timeout, interval)
        rt.note(f"{runs[0].runId} {runs[0].status}")
        raise typer.Exit(int(exit_code_for(runs)))


def register(app: typer.Typer) -> None:
    app.command("resume", epilog=EXAMPLES)(resume)
