"""What ``start``, ``rerun`` and ``resume`` share on every Workflow SDK world that wfctl writes (local, Postgres):
the arguments, the new run's execution context, and the choice of the hook to resume (docs/architecture.md,
"Start, re-run and resume on the Workflow SDK").

The SDK's own ``start()`` mints the run id, dehydrates the arguments, writes ``run_created`` and queues the
run; ``recreateRunFromExisting`` (the web UI's Re-run) does the same with a run's recorded input, deployment
and spec version, and on the 5.0 line stamps ``executionContext.replayedFromRunId``; ``resumeHook`` writes
``hook_received`` and queues the run. The worlds' modules do the writing; this module decides what is written.
"""

from __future__ import annotations

from typing import Any, Sequence

from ...errors import NotFoundError, UnsupportedError, UsageError
from ...model import Hook
from .records import workflow_short_name
from .versions import SPEC_LEGACY

#: The first spec version of the 5.0 line's run records (attributes; ``replayedFromRunId`` on re-runs).
SPEC_V5 = 4
#: The spec version the 4.x SDK (4.8.9) writes on ``hook_received`` (``SPEC_VERSION_CURRENT``); the 5.0 line
#: writes :data:`HOOK_SPEC_V5`.
HOOK_SPEC_V4 = 3
HOOK_SPEC_V5 = 7


def arguments(value: Any, given: bool) -> list[Any]:
    """The workflow's argument list from ``--input-json``/``--input-file``: an array is the arguments, any
    other value the single argument; nothing given, no arguments."""
    if not given:
        return []
    return list(value) if isinstance(value, list) else [value]


def refuse_start_options(request: Any) -> None:
    """``start`` options the Workflow SDK has no place for: refused (exit 2), not ignored."""
    if request.env:
        raise UsageError("--env does not apply to the Workflow SDK: a run's environment is its deployment's")
    if request.task_queue:
        raise UsageError("--task-queue applies to Temporal only")
    if request.run_id:
        raise UsageError("--id does not apply to the Workflow SDK: the run id is minted as start() mints it")


def execution_context(template: Any, *, spec: int, replayed_from: str | None = None) -> dict[str, Any]:
    """A new run's ``executionContext`` as ``start()`` builds it: ``traceCarrier``, ``workflowCoreVersion`` and
    ``hookResumeInputVersion`` (5.0) of the app (taken from ``template``, the context of a run of the same
    deployment), no encryption, and on the 5.0 line ``replayedFromRunId`` for a re-run."""
    template = template if isinstance(template, dict) else {}
    context: dict[str, Any] = {"traceCarrier": {}}
    core = template.get("workflowCoreVersion")
    if isinstance(core, str):
        context["workflowCoreVersion"] = core
    context["features"] = {"encryption": False}
    if isinstance(template.get("hookResumeInputVersion"), int):
        context["hookResumeInputVersion"] = template["hookResumeInputVersion"]
    if replayed_from and spec >= SPEC_V5:
        context["replayedFromRunId"] = replayed_from
    return context


def matches_workflow(machine: Any, wanted: str) -> bool:
    return isinstance(machine, str) and wanted in (machine, workflow_short_name(machine))


def no_workflow(workflow: str, where: str) -> NotFoundError:
    return NotFoundError(
        f"no run of workflow {workflow!r} in {where}: wfctl starts a workflow on the deployment and spec version "
        "of its newest run, as 'npx workflow start' does",
        hint="start it once from the app (start() from workflow/api); 'wfctl list' shows the workflows that ran",
    )


def hook_spec(run_spec: int) -> int:
    """The spec version ``resumeHook`` of the run's line writes on ``hook_received``."""
    return HOOK_SPEC_V5 if run_spec >= SPEC_V5 else HOOK_SPEC_V4


def pick_hook(run_id: str, status: str | None, hooks: Sequence[Hook], token: str | None, signal: str | None) -> Hook:
    """The live hook ``resume`` delivers to: the one with ``token``, else the run's only one (the engine's own
    ``isSystem`` hooks aside). Raises UsageError for a terminal run, a signal, no hook or several without a
    token; NotFoundError for an unknown token (the caller checks first whether it was disposed)."""
    if signal is not None:
        raise UnsupportedError(
            "the Workflow SDK has no signals: a run waits on hooks", hint="resume a hook with --hook TOKEN --data JSON"
        )
    if status in ("completed", "failed", "cancelled"):
        raise UsageError(f"run {run_id} is {status}: it waits on nothing (its hooks were disposed when it ended)")
    live = [h for h in hooks if h.isSystem is not True and isinstance(h.token, str)]
    if token is not None:
        for hook in live:
            if hook.token == token:
                return hook
        raise NotFoundError(
            f"run {run_id} has no pending hook with token {token!r}",
            hint=_tokens_hint(run_id, live),
        )
    if not live:
        raise UsageError(
            f"run {run_id} has no pending hook to resume", hint=f"'wfctl get {run_id}' shows what it waits on"
        )
    if len(live) > 1:
        raise UsageError(
            f"run {run_id} has {len(live)} pending hooks: say which with --hook TOKEN", hint=_tokens_hint(run_id, live)
        )
    return live[0]


def _tokens_hint(run_id: str, live: Sequence[Hook]) -> str:
    if not live:
        return f"run {run_id} has no pending hook; 'wfctl get {run_id}' shows what it waits on"
    return "its pending hooks: " + ", ".join(repr(h.token) for h in live[:5]) + (" …" if len(live) > 5 else "")


def legacy(spec: int) -> bool:
    return spec <= SPEC_LEGACY
