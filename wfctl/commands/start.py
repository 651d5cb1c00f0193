"""wfctl start WORKFLOW — start a run, optionally waiting for it or following its progress."""

from __future__ import annotations

import json
import sys
from typing import Any, List, Optional

import typer

from .common import runtime, wait_runs
from .options import check_text, examples, interval_option, only_with, timeout_option, wait_option

EXAMPLES = examples(
    "wfctl start demoWorkflow --input name=Ada --follow    # start and stream progress",
    'wfctl start demoWorkflow --input-json \'["Ada", "1h"]\' --wait --timeout 10m',
    "wfctl start nightly --input-file input.json -o json",
)


def parse_pairs(pairs: List[str], flag: str, *, json_values: bool) -> dict[str, Any]:
    from ..errors import UsageError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} takes KEY=VALUE, not {pair!r}")
        if json_values:
            try:
                out[key] = json.loads(value)
            except ValueError:
                out[key] = value
        else:
            out[key] = value
    return out


def build_input(inputs: List[str], input_json: Optional[str], input_file: Optional[str]) -> Any:
    from ..errors import UsageError

    value: Any = None
    if input_json is not None and input_file is not None:
        raise UsageError("give --input-json or --input-file, not both")
    source = None
    if input_json is not None:
        source, text = "--input-json", input_json
    elif input_file is not None:
        source = f"--input-file {input_file}"
        try:
            text = sys.stdin.read() if input_file == "-" else open(input_file, encoding="utf-8").read()
        except OSError as exc:
            raise UsageError(f"cannot read {input_file}: {exc.strerror}") from None
    if source is not None:
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{source} is not valid JSON: {exc}") from None
    if inputs:
        pairs = parse_pairs(inputs, "--input", json_values=True)
        if value is None:
            value = pairs
        elif isinstance(value, dict):
            value.update(pairs)
        else:
            raise UsageError("--input KEY=VALUE needs the JSON input to be an object")
    return value


def start(
    ctx: typer.Context,
    workflow: str = typer.Argument(..., help="Workflow name, id or type.", metavar="WORKFLOW", show_default=False),
    inputs: List[str] = typer.Option(
        [], "--input", "-i", metavar="KEY=VALUE", help="Input KEY=VALUE (VALUE parsed as JSON when it is); repeatable."
    ),
    input_json: Optional[str] = typer.Option(None, "--input-json", metavar="JSON", help="The whole input as JSON."),
    input_file: Optional[str] = typer.Option(
        None, "--input-file", metavar="FILE", help="Read the input JSON from a file (- for stdin)."
    ),
    env: List[str] = typer.Option(
        [], "--env", "-e", metavar="KEY=VALUE", help="Environment KEY=VALUE for the run; repeatable."
    ),
    task_queue: Optional[str] = typer.Option(None, "--task-queue", metavar="NAME", help="Task queue (Temporal)."),
    run_id: Optional[str] = typer.Option(
        None, "--id", metavar="ID", help="Choose the run/workflow id where the engine allows."
    ),
    wait: bool = wait_option("Wait until the run is terminal."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Stream the run's progress as it happens."),
    timeout: Optional[float] = timeout_option(),
    interval: float = interval_option("1s"),
) -> None:
    """Start a workflow run. Prints the run; with --wait or --follow exits by its final state."""
    from ..backends.base import START, StartRequest
    from ..errors import UsageError
    from ..model import Run
    from ..waiting import exit_code_for

    rt = runtime(ctx)
    if wait and follow:
        raise UsageError("give --wait or --follow, not both")
    only_with(ctx, wait, ("timeout", "interval"), "--wait")
    check_text(workflow, "WORKFLOW")
    check_text(task_queue, "--task-queue")
    check_text(run_id, "--id")
    backend = rt.backend(START)
    request = StartRequest(
        workflow=workflow,
        input=build_input(inputs, input_json, input_file),
        env=parse_pairs(env, "--env", json_values=False),
        task_queue=task_queue,
        run_id=run_id,
        follow=follow,
    )
    if follow:
        printer = None
        started_id: str | None = None
        for item in backend.start_follow(request):
            if isinstance(item, Run):
                started_id = item.runId
                rt.remember([started_id])
                rt.note(f"started {started_id}")
                printer = rt.render.tail_printer(started_id)
                continue
            if printer is None:
                started_id = item.runId or "?"
                printer = rt.render.tail_printer(started_id)
            printer.item(item)
        if started_id is None or printer is None:
            raise UsageError("the engine started nothing")
        final = backend.get_status(started_id) if backend.supports("status") else None
        printer.end(final.status if final else None)
        if final is not None:
            raise typer.Exit(int(exit_code_for([final])))
        return
    run = backend.start(request)
    rt.remember([run.runId])
    if wait:
        runs = wait_runs(rt, backend, [run.runId], timeout, interval)
        run = backend.get_run(run.runId) if backend.supports("get") else runs[0]
        rt.render.run_detail(run)
        raise typer.Exit(int(exit_code_for([run])))
    rt.render.statuses([run])


def register(app: typer.Typer) -> None:
    app.command("start", epilog=EXAMPLES)(start)
