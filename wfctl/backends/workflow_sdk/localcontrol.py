"""``start``, ``rerun`` and ``resume`` on the Workflow SDK local world, for
:class:`~wfctl.backends.workflow_sdk.local.LocalWorldBackend` (each function's first argument; docs/architecture.md,
"Start, re-run and resume on the Workflow SDK").

Each writes what the SDK writes through world-local (``localwrite``: ``run_created``, ``hook_received``) and then
queues the run the way the local queue does: one POST to the app's ``/.well-known/workflow/v1/flow``. The app
must answer before anything is written (a GET of that path), so an app that is down leaves no run nobody
will pick up; the version gate (``versions.LOCAL``) decides before that. ``start`` first asks the app the SDK's
health check (``health``: the message POSTed to the same route, the answer read from the data directory) and
writes the spec version it reports, else the newest run's.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ...errors import NotFoundError, UnavailableError, UnsupportedError, UsageError, WfctlError
from ...model import TERMINAL, RerunOutcome, ResumeOutcome, Run
from ..base import ResumeRequest, StartRequest
from . import health
from .control import (
    SPEC_V5,
    arguments,
    execution_context,
    hook_spec,
    matches_workflow,
    no_workflow,
    pick_hook,
    refuse_start_options,
)
from .ids import new_ulid
from .localwrite import HookGone, create_run, receive_hook
from .values import b64encode, dehydrate, payload_problem
from .versions import LOCAL, SPEC_SLOT_IDS, describe, spec_of, write_refusal

if TYPE_CHECKING:
    from .local import LocalWorldBackend

FLOW_PATH = "/.well-known/workflow/v1/flow"
#: How long the health check's answer may take to appear once the app has answered its POST.
GRACE = 2.0
HINT = (
    "use the app's own code (start(), resumeHook()) or 'npx workflow start' / the Re-run button of 'npx workflow web'"
)
APP_HINT = "start the app or pass --app-url (or set app_url / WORKFLOW_LOCAL_BASE_URL / PORT)"


def _bytes(data: bytes) -> dict[str, str]:
    """A Uint8Array as world-local's JSON files and its queue's JSON transport hold it."""
    return {"__type": "Uint8Array", "data": b64encode(data)}


# -- the app -------------------------------------------------------------------------------------------
def _check_app(b: "LocalWorldBackend") -> str:
    """The app's URL, after checking that it answers (any HTTP answer will do); else exit 5, nothing written."""
    url = b.app_url()
    client = b.app_client(url, timeout=10.0)
    try:
        client.request("GET", FLOW_PATH, retry=True, expect=tuple(range(200, 600)))
    except WfctlError as exc:
        raise UnavailableError(
            f"the app at {url} does not answer ({exc.message}): it runs what wfctl would queue, so nothing was written",
            hint=APP_HINT,
        ) from exc
    finally:
        client.close()
    return url


# -- start / rerun ------------------------------------------------------------------------------------
def _create_and_queue(
    b: "LocalWorldBackend",
    url: str,
    source: dict[str, Any],
    stored_input: Any,
    *,
    replayed_from: str | None,
) -> tuple[str, str | None]:
    """A new run of ``source``'s workflow on its deployment and spec version with ``stored_input`` (the
    input as the world stores it): ``run_created`` then the queue message with ``runInput``, as ``start()``
    sends it. Returns (run id, why the app did not take it or None)."""
    spec = spec_of(source.get("specVersion"))
    machine = source["workflowName"]
    run_id = f"wrun_{new_ulid()}"
    context = execution_context(source.get("executionContext"), spec=spec, replayed_from=replayed_from)
    deployment = source.get("deploymentId")
    record: dict[str, Any] = {
        "runId": run_id,
        "deploymentId": deployment,
        "status": "pending",
        "workflowName": machine,
        "specVersion": spec,
        "executionContext": context,
        "input": stored_input,
    }
    if spec >= SPEC_V5:
        record["attributes"] = {}
    event_data = {"deploymentId": deployment, "workflowName": machine, "input": stored_input}
    event_data["executionContext"] = context
    create_run(b.writer, run_id, record, event_data, slots=spec >= SPEC_SLOT_IDS)
    body = {
        "runId": run_id,
        "traceCarrier": {},
        "runInput": {
            "input": stored_input,
            "deploymentId": deployment,
            "workflowName": machine,
            "specVersion": spec,
            "executionContext": context,
        },
    }
    try:
        b.deliver(url, machine, body)
    except WfctlError as exc:
        return run_id, (
            f"created run {run_id}, but the app at {url} did not take it ({exc.message}); it stays pending "
            "until the app recovers its runs at start"
        )
    return run_id, None


def start(b: "LocalWorldBackend", request: StartRequest) -> Run:
    """``start()``: the workflow by its short name or id, on the deployment of its newest run here and the
    spec version the app reports in its health check (else that run's), as ``npx workflow start`` does."""
    refuse_start_options(request)
    args = arguments(request.input, request.input is not None)
    newest = None
    for run_id in sorted(b.data.run_ids()[0], reverse=True):
        raw = b.data.read_run(run_id)
        if raw is not None and matches_workflow(raw.get("workflowName"), request.workflow):
            newest = raw
            break
    if newest is None:
        raise no_workflow(request.workflow, str(b.data.root))
    try:
        payload = dehydrate(args)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the input cannot be written: {exc}") from None
    url = b.app_url()
    answer, why = probe(b, url)
    spec, said = health.decide(spec_of(newest.get("specVersion")), answer)
    if said:
        refusal = write_refusal(LOCAL, "(new)", spec, "start")
        if refusal is not None:
            raise UnsupportedError(
                f"the app at {url} reports {describe(spec)} in its health check, wfctl starts Workflow SDK "
                f"local-world runs of spec versions {LOCAL.writes_text('start')} only; nothing was written",
                hint=HINT,
            )
    else:
        refusal = write_refusal(LOCAL, newest["runId"], spec, "start")
        if refusal is not None:
            raise UnsupportedError(
                f"the newest run of {request.workflow!r} decides the new run's spec version: {refusal}", hint=HINT
            )
    url = _check_app(b)
    if not said:
        b.ctx.warn(health.fallback_warning(f"at {url}", health.why_not(answer, why), newest["runId"], spec))
    source = dict(newest, specVersion=spec)
    if answer is not None:
        source["executionContext"] = health.app_context(newest.get("executionContext"), answer)
    run_id, problem = _create_and_queue(b, url, source, _bytes(payload), replayed_from=None)
    if problem is not None:
        raise UnavailableError(problem, hint=APP_HINT)
    return b.get_status(run_id)


def probe(b: "LocalWorldBackend", url: str) -> tuple["health.Health | None", str | None]:
    """The SDK's ``healthCheck`` on the local world: the message POSTed to the app's flow route as the local
    queue delivers it, the answer read from the stream the app writes into the data directory. Bounded by
    :data:`health.TIMEOUT` (and the profile's ``timeout``); once the app has answered the POST (its handler
    writes the stream before it answers) the stream gets at most :data:`GRACE` more. Returns (the answer,
    None) or (None, why there is none); never raises."""
    started = time.monotonic()
    budget = min(health.TIMEOUT, float(b.profile.get("timeout", 30.0)))
    deadline = started + budget
    correlation = health.correlation_id()
    stream = health.stream_name(correlation)
    body = json.dumps(health.message(correlation), separators=(",", ":")).encode("utf-8")
    client = b.app_client(url, timeout=budget)
    try:
        response = client.request(
            "POST",
            FLOW_PATH,
            retry=False,
            expect=tuple(range(200, 600)),
            timeout=budget,
            headers=b.queue_headers("health_check"),
            content=body,
        )
    except WfctlError as exc:
        return None, exc.message
    finally:
        client.close()
    if not 200 <= response.status_code < 300:
        return None, f"HTTP {response.status_code} from POST {FLOW_PATH}"

    def read() -> bytes | None:
        return health.closed_stream(b.data.read_chunk(chunk) for chunk in b.data.chunk_files(stream))

    answer = health.wait_answer(read, min(deadline, time.monotonic() + GRACE), started)
    if answer is None:
        return None, f"nothing in its stream {stream} of {b.data.root} after the app took the message"
    if b.ctx.debug:
        b.ctx.debug_log(f"health check: the app at {url} {answer.described()}")
    return answer, None


def rerun(b: "LocalWorldBackend", run_ids: list[str], *, dry_run: bool = False, **options: Any) -> list[RerunOutcome]:
    """``recreateRunFromExisting`` for each run: its recorded input bytes as they are, its deployment and
    spec version; 5.0 records ``replayedFromRunId``."""
    outcomes: list[RerunOutcome] = []
    url: str | None = None
    for given in run_ids:
        try:
            run_id = b._run_id(given)
        except (NotFoundError, UsageError) as exc:
            outcomes.append(RerunOutcome(given, None, "not_found", exc.message))
            continue
        raw = b.data.read_run(run_id)
        if raw is None:
            outcomes.append(RerunOutcome(run_id, None, "not_found", "no such run"))
            continue
        name = raw.get("workflowName")
        refusal = write_refusal(LOCAL, run_id, raw.get("specVersion"), "rerun")
        problem = payload_problem(raw.get("input"))
        if refusal is None and problem is not None:
            refusal = f"run {run_id} was not re-run: {problem}; a new run with other input would not be a re-run"
        if refusal is None and not isinstance(name, str):
            refusal = f"run {run_id} has no workflowName: nothing to start"
        if refusal is not None:
            outcomes.append(RerunOutcome(run_id, None, "refused", refusal, workflowName=_short(name), hint=HINT))
            continue
        if dry_run:
            outcomes.append(RerunOutcome(run_id, None, "would_start", "dry run: would be re-run", None, _short(name)))
            continue
        try:
            if url is None:
                url = _check_app(b)
            new_id, why = _create_and_queue(b, url, raw, raw.get("input"), replayed_from=run_id)
        except UnavailableError as exc:
            if url is None:  # the app is down: no run can start, and nothing was written
                raise
            outcomes.append(RerunOutcome(run_id, None, "error", exc.message, workflowName=_short(name)))
            continue
        except (OSError, WfctlError) as exc:
            outcomes.append(RerunOutcome(run_id, None, "error", getattr(exc, "message", None) or str(exc)))
            continue
        if why is not None:
            outcomes.append(RerunOutcome(run_id, new_id, "error", why, "pending", _short(name)))
        else:
            outcomes.append(RerunOutcome(run_id, new_id, "started", None, "pending", _short(name)))
    return outcomes


# -- resume -------------------------------------------------------------------------------------------
def resume(b: "LocalWorldBackend", run_id: str, request: ResumeRequest) -> ResumeOutcome:
    """``resumeHook(token, payload)``: ``hook_received`` with the payload dehydrated as a step's return value
    would be, then the run queued on the app."""
    run_id = b._run_id(run_id)
    raw = b._load(run_id)
    status = raw.get("status")
    hooks = b._hooks(run_id) if status not in TERMINAL else []
    try:
        hook = pick_hook(run_id, status, hooks, request.hook, request.signal)
    except NotFoundError:
        disposed = _disposed(b, run_id, request.hook)
        if disposed is not None:
            raise UsageError(f"hook {disposed} of run {run_id} (token {request.hook!r}) was disposed") from None
        raise
    spec = spec_of(raw.get("specVersion"))
    refusal = write_refusal(LOCAL, run_id, raw.get("specVersion"), "resume")
    if refusal is not None:
        raise UnsupportedError(refusal, hint=HINT)
    machine = raw.get("workflowName")
    if not isinstance(machine, str):
        raise UnavailableError(f"run {run_id} has no workflowName: it cannot be queued")
    try:
        payload = dehydrate(request.data)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the payload cannot be written: {exc}") from None
    assert hook.hookId is not None and hook.token is not None
    if request.dry_run:
        return ResumeOutcome(run_id, hook.token, "would_resume", hookId=hook.hookId, message="dry run: nothing sent")
    url = _check_app(b)
    v5 = spec >= SPEC_V5
    try:
        receive_hook(b.writer, run_id, hook.hookId, hook.token, payload, spec=hook_spec(spec), v5=v5)
    except HookGone as gone:
        raise UsageError(f"{gone.reason}: nothing was delivered") from None
    context = raw.get("executionContext")
    carrier = context.get("traceCarrier") if isinstance(context, dict) else None
    body: dict[str, Any] = {"runId": run_id}
    if carrier is not None:
        body["traceCarrier"] = carrier
    try:
        b.deliver(url, machine, body)
    except WfctlError as exc:
        raise UnavailableError(
            f"the payload is delivered to hook {hook.hookId} of {run_id}, but the app at {url} did not take the "
            f"run ({exc.message}); it continues when the app next runs it (recovery at start)",
            hint=APP_HINT,
        ) from exc
    return ResumeOutcome(
        run_id, hook.token, "resumed", hookId=hook.hookId, delivered=True, message=f"re-enqueued at {url}"
    )


def _disposed(b: "LocalWorldBackend", run_id: str, token: str | None) -> str | None:
    """The id of the run's hook that had ``token`` and is gone (disposed), from its event log; None when the
    run never had such a hook."""
    if token is None:
        return None
    for event in b.data.read_events(run_id):
        data = event.get("eventData")
        if event.get("eventType") == "hook_created" and isinstance(data, dict) and data.get("token") == token:
            return str(event.get("correlationId"))
    return None


def _short(name: Any) -> str | None:
    from .records import workflow_short_name

    short = workflow_short_name(name)
    return short if isinstance(short, str) else None
