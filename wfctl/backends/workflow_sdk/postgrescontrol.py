"""``start``, ``rerun`` and ``resume`` on the Workflow SDK Postgres world, for
:class:`~wfctl.backends.workflow_sdk.postgres.PostgresWorldBackend` (each function's first argument;
docs/architecture.md, "Start, re-run and resume on the Workflow SDK").

What world-postgres 4.3.7 writes for ``start()`` and ``resumeHook()``, in one transaction each: the run row
(``input_cbor`` and ``execution_context_cbor`` as cbor-x writes them: Uint8Array = CBOR tag 64) and its
``run_created`` event (``payload_cbor`` = the event data), or the ``hook_received`` event after locking the
live hook's row; then the run is queued as the world's queue does it: a graphile-worker job on
``<prefix>flows`` whose ``data`` is the base64 of the JSON queue message (Uint8Arrays tagged
``{"__type": "Uint8Array"}``). The app's worker picks the job up; the app need not be reachable from here.
``start`` asks the SDK's health check the same way (a job, the answer read from the stream table) and writes
the spec version the app's worker reports, else the newest run's.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from ...errors import AuthError, NotFoundError, UnavailableError, UnsupportedError, UsageError
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
from .records import workflow_short_name
from .values import as_bytes, b64encode, decode_cbor, dehydrate, payload_problem
from .versions import POSTGRES, describe, spec_of, write_refusal

if TYPE_CHECKING:
    from .postgres import PostgresWorldBackend

HINT = (
    "use the app's own code (start(), resumeHook()) or 'npx workflow start --backend @workflow/world-postgres' / "
    "the Re-run button of 'npx workflow web'"
)
_RUN_COLUMNS = (
    "id",
    "name",
    "status",
    "deployment_id",
    "spec_version",
    "input_cbor",
    "input",
    "execution_context_cbor",
    "execution_context",
)


def _cbor(value: Any) -> bytes:
    """A value as cbor-x's ``encode`` writes it for the world: bytes as a Uint8Array (tag 64), maps with string
    keys."""
    import cbor2

    def convert(item: Any) -> Any:
        if isinstance(item, (bytes, bytearray)):
            return cbor2.CBORTag(64, bytes(item))
        if isinstance(item, dict):
            return {str(k): convert(v) for k, v in item.items()}
        if isinstance(item, list):
            return [convert(v) for v in item]
        return item

    return cbor2.dumps(convert(value))


def _tagged(value: Any) -> Any:
    """The queue's JSON transport: bytes as ``{"__type": "Uint8Array", "data": base64}``."""
    if isinstance(value, (bytes, bytearray)):
        return {"__type": "Uint8Array", "data": b64encode(bytes(value))}
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    return value


def _add_flow_job(b: "PostgresWorldBackend", conn: Any, machine: str, message: dict[str, Any]) -> str:
    """The world's ``queue('__wkf_workflow_' + machine, message)``: a graphile-worker job; returns its id."""
    message_id = f"msg_{new_ulid()}"
    body = json.dumps(_tagged(message), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    payload = json.dumps(
        {"attempt": 1, "messageId": message_id, "id": machine, "data": base64.b64encode(body).decode("ascii")},
        separators=(",", ":"),
    )
    conn.execute(
        "SELECT graphile_worker.add_job(%s, %s::json, max_attempts => 3, job_key => %s)",
        [f"{b.job_prefix}flows", payload, message_id],
    )
    return message_id


def _graphile(b: "PostgresWorldBackend", fn: Any) -> Any:
    """Run ``fn`` and say so when graphile-worker is missing (nothing was committed then)."""
    from .postgres import error_message, require_psycopg

    psycopg = require_psycopg()
    try:
        return fn()
    except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
        raise UnavailableError(
            f"graphile-worker is not installed in the database at {b.target.where} "
            f"({b.target.clean(error_message(exc))}); nothing was changed",
            hint="bootstrap the world ('npx --package=@workflow/world-postgres bootstrap') or start the app once",
        ) from None


def _source(row: dict[str, Any]) -> dict[str, Any]:
    from .postgres import row_column

    return {
        "runId": row["id"],
        "workflowName": row.get("name"),
        "deploymentId": row.get("deployment_id"),
        "specVersion": spec_of(row.get("spec_version")),
        "executionContext": row_column(row, "execution_context"),
        "input": row_column(row, "input"),
    }


def _create(
    b: "PostgresWorldBackend", conn: Any, source: dict[str, Any], stored: bytes, replayed_from: str | None
) -> str:
    """``run_created`` (run row + event, as the world inserts them) and the flow job, in the caller's
    transaction; returns the new run id."""
    from .postgres import db_now

    spec = source["specVersion"]
    machine = source["workflowName"]
    deployment = source.get("deploymentId")
    run_id = f"wrun_{new_ulid()}"
    context = execution_context(source.get("executionContext"), spec=spec, replayed_from=replayed_from)
    now = db_now()
    columns = ["id", "deployment_id", "name", "spec_version", "input_cbor", "execution_context_cbor", "status"]
    values: list[Any] = [run_id, deployment, machine, str(spec), _cbor(stored), _cbor(context), "pending"]
    have = b._schema(conn)["workflow_runs"]
    for column in ("created_at", "updated_at"):
        if column in have:
            columns.append(column)
            values.append(now)
    if spec >= SPEC_V5 and "attributes" in have:
        columns.append("attributes")
        values.append(json.dumps({}))
    conn.execute(
        f"INSERT INTO workflow.workflow_runs ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(values))})",
        values,
    )
    event_data = {"deploymentId": deployment, "workflowName": machine, "input": stored, "executionContext": context}
    b._insert_event(conn, run_id, "run_created", None, _cbor(event_data), spec, now)
    message = {
        "runId": run_id,
        "traceCarrier": {},
        "runInput": {
            "input": stored,
            "deploymentId": deployment,
            "workflowName": machine,
            "specVersion": spec,
            "executionContext": context,
        },
    }
    _add_flow_job(b, conn, machine, message)
    return run_id


# -- start -------------------------------------------------------------------------------------------------
def start(b: "PostgresWorldBackend", request: StartRequest) -> Run:
    """``start()`` on the deployment of the workflow's newest run, with the spec version the app's worker
    reports in its health check (else that run's), as ``npx workflow start`` does."""
    refuse_start_options(request)
    args = arguments(request.input, request.input is not None)
    try:
        payload = dehydrate(args)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the input cannot be written: {exc}") from None

    def newest(conn: Any) -> dict[str, Any]:
        names = b._workflow_names(conn, request.workflow)
        rows = b._rows(
            conn,
            f"SELECT {b._select(conn, 'workflow_runs', _RUN_COLUMNS)} FROM workflow.workflow_runs "
            "WHERE name = ANY(%s) ORDER BY id DESC LIMIT 1",
            [names],
        )
        if not rows or not matches_workflow(rows[0].get("name"), request.workflow):
            raise no_workflow(request.workflow, f"the Postgres world at {b.target.where}")
        refusal = b._migrations(conn).refusal(rows[0]["id"], "start")
        if refusal is not None:
            raise UnsupportedError(refusal[0], hint=refusal[1])
        return rows[0]

    row = b._call(newest, what="start")
    answer, why = probe(b)
    spec, said = health.decide(spec_of(row.get("spec_version")), answer)
    reason = write_refusal(POSTGRES, row["id"], spec, "start")
    if reason is not None:
        if said:
            reason = (
                f"the app's worker reports {describe(spec)} in its health check, wfctl starts Workflow SDK "
                f"postgres-world runs of spec versions {POSTGRES.writes_text('start')} only; nothing was written"
            )
        else:
            reason = f"the newest run of {request.workflow!r} decides the new run's spec version: {reason}"
        raise UnsupportedError(reason, hint=HINT)
    if not said:
        b.ctx.warn(health.fallback_warning("(its worker)", health.why_not(answer, why), row["id"], spec))
    source = dict(_source(row), specVersion=spec)
    if answer is not None:
        source["executionContext"] = health.app_context(source["executionContext"], answer)

    def create(conn: Any) -> str:
        with conn.transaction():
            return _graphile(b, lambda: _create(b, conn, source, payload, None))

    run_id = b._call(create, what="start")
    return b.get_status(run_id)


def probe(b: "PostgresWorldBackend") -> tuple["health.Health | None", str | None]:
    """The SDK's ``healthCheck`` on the Postgres world, with no need of the app's URL: the message as a
    graphile-worker job on ``<prefix>flows`` (sub-queue ``health_check``), as the world's ``queue()`` adds it;
    the app's worker delivers it to its flow route, whose handler writes the answer to the stream
    ``__health_check__<id>`` in ``workflow.workflow_stream_chunks``. Bounded by :data:`health.TIMEOUT` (and
    the profile's ``timeout``); a job no worker took by then is removed. Returns (answer, None) or (None,
    why); never raises for a missing answer."""
    started = time.monotonic()
    deadline = started + min(health.TIMEOUT, float(b.profile.get("timeout", 30.0)))
    correlation = health.correlation_id()
    stream = health.stream_name(correlation)

    def add(conn: Any) -> str:
        with conn.transaction():
            return _graphile(b, lambda: _add_flow_job(b, conn, "health_check", health.message(correlation)))

    job = b._call(add, what="start")

    def read() -> bytes | None:
        rows = b._call(
            lambda conn: conn.execute(
                "SELECT eof, data FROM workflow.workflow_stream_chunks WHERE stream_id = %s ORDER BY id", [stream]
            ).fetchall(),
            what="start",
        )
        return health.closed_stream((bool(eof), bytes(data or b"")) for eof, data in rows)

    answer = health.wait_answer(read, deadline, started)
    if answer is None:
        b._call(lambda conn: conn.execute("SELECT graphile_worker.remove_job(%s)", [job]), what="start")
        return None, f"no answer in {round(time.monotonic() - started, 1):g}s: is the app's worker running?"
    if b.ctx.debug:
        b.ctx.debug_log(f"health check: the app's worker (job {job}) {answer.described()}")
    return answer, None


# -- rerun -------------------------------------------------------------------------------------------------
def rerun(b: "PostgresWorldBackend", run_ids: list[str], *, dry_run: bool = False) -> list[RerunOutcome]:
    outcomes: list[RerunOutcome] = []
    for given in run_ids:
        run_id = b._run_id(given)
        try:
            outcomes.append(b._call(lambda conn: _rerun_one(b, conn, run_id, dry_run), what="rerun"))  # noqa: B023
        except (UnavailableError, AuthError) as exc:
            outcomes.append(RerunOutcome(run_id, None, "error", exc.message + "; nothing was started"))
    return outcomes


def _rerun_one(b: "PostgresWorldBackend", conn: Any, run_id: str, dry_run: bool) -> RerunOutcome:
    row = b._fetch_run(conn, run_id, _RUN_COLUMNS)
    if row is None:
        return RerunOutcome(run_id, None, "not_found", "no such run")
    name = row.get("name")
    short = workflow_short_name(name) if isinstance(name, str) else None
    refusal = b._write_refusal(conn, run_id, row, "rerun")
    if refusal is not None:
        return RerunOutcome(run_id, None, "refused", refusal[0], workflowName=short, hint=refusal[1])
    source = _source(row)
    stored = as_bytes(source["input"])
    problem = payload_problem(source["input"]) if stored is not None else "its input is not stored as bytes"
    if problem is None and not isinstance(name, str):
        problem = "it has no workflow name"
    if problem is not None:
        message = f"run {run_id} was not re-run: {problem}; a new run with other input would not be a re-run"
        return RerunOutcome(run_id, None, "refused", message, workflowName=short, hint=HINT)
    assert stored is not None
    if dry_run:
        return RerunOutcome(run_id, None, "would_start", "dry run: would be re-run", workflowName=short)
    with conn.transaction():
        new_id = _graphile(b, lambda: _create(b, conn, source, stored, run_id))
    return RerunOutcome(run_id, new_id, "started", None, "pending", short)


# -- resume ------------------------------------------------------------------------------------------------
def resume(b: "PostgresWorldBackend", run_id: str, request: ResumeRequest) -> ResumeOutcome:
    run_id = b._run_id(run_id)
    try:
        payload = dehydrate(request.data)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the payload cannot be written: {exc}") from None
    return b._call(lambda conn: _resume(b, conn, run_id, request, payload), what="resume")


def _resume(b: "PostgresWorldBackend", conn: Any, run_id: str, request: ResumeRequest, payload: bytes) -> ResumeOutcome:
    from .postgres import db_now, hook_from_row

    row = b._fetch_run(conn, run_id, _RUN_COLUMNS)
    if row is None:
        raise b._not_found(run_id)
    status = row.get("status")
    hooks = []
    if status not in TERMINAL:
        hooks = [
            hook_from_row(h)
            for h in b._rows(
                conn,
                f"SELECT {b._select(conn, 'workflow_hooks')} FROM workflow.workflow_hooks WHERE run_id = %s "
                "ORDER BY hook_id",
                [run_id],
            )
        ]
    try:
        hook = pick_hook(run_id, status, hooks, request.hook, request.signal)
    except NotFoundError:
        disposed = _disposed(b, conn, run_id, request.hook)
        if disposed is not None:
            raise UsageError(f"hook {disposed} of run {run_id} (token {request.hook!r}) was disposed") from None
        raise
    refusal = b._write_refusal(conn, run_id, row, "resume")
    if refusal is not None:
        raise UnsupportedError(refusal[0], hint=HINT)
    machine = row.get("name")
    if not isinstance(machine, str):
        raise UnavailableError(f"run {run_id} has no workflow name: it cannot be queued")
    assert hook.hookId is not None and hook.token is not None
    if request.dry_run:
        return ResumeOutcome(run_id, hook.token, "would_resume", hookId=hook.hookId, message="dry run: nothing sent")
    spec = spec_of(row.get("spec_version"))
    source = _source(row)
    context = source["executionContext"] if isinstance(source["executionContext"], dict) else {}
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '10s'")
        live = conn.execute(
            "SELECT hook_id FROM workflow.workflow_hooks WHERE hook_id = %s FOR UPDATE", [hook.hookId]
        ).fetchall()
        if not live:
            raise UsageError(f"hook {hook.hookId} of run {run_id} was disposed meanwhile: nothing was delivered")
        now = db_now()
        data = {"token": hook.token, "payload": payload}
        b._insert_event(conn, run_id, "hook_received", hook.hookId, _cbor(data), hook_spec(spec), now)
        message: dict[str, Any] = {"runId": run_id}
        if context.get("traceCarrier") is not None:
            message["traceCarrier"] = context["traceCarrier"]
        job = _graphile(b, lambda: _add_flow_job(b, conn, machine, message))
    return ResumeOutcome(
        run_id,
        hook.token,
        "resumed",
        hookId=hook.hookId,
        delivered=True,
        message=f"re-enqueued as graphile-worker job {job} on task {b.job_prefix}flows",
    )


def _disposed(b: "PostgresWorldBackend", conn: Any, run_id: str, token: str | None) -> str | None:
    """The id of the run's hook that had ``token`` and is gone, from its ``hook_created`` events; else None."""
    if token is None:
        return None
    for row in b._rows(
        conn,
        "SELECT correlation_id, payload_cbor FROM workflow.workflow_events WHERE run_id = %s AND type = 'hook_created'",
        [run_id],
    ):
        data = decode_cbor(row.get("payload_cbor"))
        if isinstance(data, dict) and data.get("token") == token:
            return str(row.get("correlation_id"))
    return None
