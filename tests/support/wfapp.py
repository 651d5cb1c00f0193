"""Drive the real Workflow SDK fixture app (examples/workflow-sdk-app) from tests.

Standard library only, so the recording script (examples/workflow-sdk-app/scripts/record_demo.py) can import
it too. Typical use::

    from tests.support.wfapp import WorkflowApp, wait_until

    app = WorkflowApp()                 # examples/workflow-sdk-app
    app.build()                         # npm ci/install if needed, `nitro build` only when sources changed
    with app.start(data_dir=tmp_path / ".workflow-data") as server:
        run_id = server.start_run("demoWorkflow", ["Ada", "1h"])
        wait_until(lambda: server.inspect_json("run", run_id)["status"] == "running", timeout=10)
        server.resume_hook("approval:doc1", {"approved": True})
        print(server.inspect_json("runs"))        # `npx workflow inspect runs --json` against the same world

The Postgres world needs no special code: pass ``env={"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres",
"WORKFLOW_POSTGRES_URL": ...}`` to ``start()`` (and ``data_dir=None``); ``server.inspect_json`` and
``server.workflow_cli`` reuse that environment.

Servers bind 127.0.0.1 only, on a free port. ``stop()`` sends SIGTERM and then SIGKILL after a short grace
period: a Nitro app with a pending ``sleep()`` timer ignores SIGTERM.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

__all__ = [
    "APP_DIR",
    "AppServer",
    "CommandError",
    "WorkflowApp",
    "build",
    "free_port",
    "node_available",
    "start",
    "wait_until",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "examples" / "workflow-sdk-app"

# Files and folders whose changes require a rebuild of .output/.
_SOURCE_GLOBS = ("workflows/**/*", "server/**/*", "nitro.config.*", "package.json", "package-lock.json")

T = TypeVar("T")


class CommandError(RuntimeError):
    """A node/npm command failed; carries its output for the test report."""

    def __init__(self, argv: Iterable[str], returncode: int | None, stdout: str, stderr: str):
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        tail = (stderr or stdout or "").strip().splitlines()[-15:]
        super().__init__(f"{' '.join(self.argv)} exited with {returncode}:\n" + "\n".join(tail))


def node_available() -> bool:
    """True when `node` and `npm` are on PATH (live tests skip otherwise)."""
    return shutil.which("node") is not None and shutil.which("npm") is not None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str | None = None,
) -> T:
    """Call ``predicate`` until it returns a truthy value and return that value.

    Exceptions raised by the predicate count as "not yet" (the last one is chained into the TimeoutError).
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as exc:  # noqa: BLE001 - the predicate may race with files being written
            last_exc = exc
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", "condition")
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}") from last_exc
        time.sleep(interval)


def _newest_mtime(root: Path, globs: Iterable[str]) -> float:
    newest = 0.0
    for pattern in globs:
        for path in root.glob(pattern):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


@contextlib.contextmanager
def _file_lock(name: str):
    """An inter-process lock (pytest-xdist workers may build the same app at once)."""
    import fcntl

    path = Path(tempfile.gettempdir()) / f"wfapp-{name}.lock"
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(argv: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=dict(env) if env is not None else None, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise CommandError(argv, None, out, err + f"\n(timed out after {timeout}s)") from exc
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def _parse_json_output(text: str) -> Any:
    """Parse a CLI's JSON stdout, tolerating stray log lines before the document."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "[{":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                continue
            if not text[end:].strip():
                return value
    raise ValueError(f"no JSON document in output: {text[:500]!r}")


class WorkflowApp:
    """The fixture app's directory: install, build, start servers, run the official CLI."""

    def __init__(self, app_dir: str | os.PathLike[str] = APP_DIR, *, verbose: bool = False):
        self.app_dir = Path(app_dir).resolve()
        self.verbose = verbose
        self._lock_name = hashlib.sha256(str(self.app_dir).encode()).hexdigest()[:16]

    # -- paths -------------------------------------------------------------------------------------
    @property
    def server_entry(self) -> Path:
        return self.app_dir / ".output" / "server" / "index.mjs"

    @property
    def node_modules(self) -> Path:
        return self.app_dir / "node_modules"

    def _bin(self, name: str) -> list[str]:
        local = self.node_modules / ".bin" / name
        if local.exists():
            return [str(local)]
        return ["npx", "--no-install", name]

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[wfapp] {msg}", flush=True)

    # -- install / build -----------------------------------------------------------------------------
    def needs_install(self) -> bool:
        marker = self.node_modules / ".package-lock.json"  # written by npm after every install
        if not marker.exists() or not (self.node_modules / "workflow" / "package.json").exists():
            return True
        lock = self.app_dir / "package-lock.json"
        pkg = self.app_dir / "package.json"
        newest_input = max(p.stat().st_mtime for p in (lock, pkg) if p.exists())
        return newest_input > marker.stat().st_mtime + 1

    def install(self, force: bool = False) -> bool:
        """`npm ci`, falling back to `npm install` (a lock written on another platform can fail `npm ci`
        with "not in sync" when optional native packages differ; `npm install` keeps the locked versions).
        Returns True if something was installed."""
        if not force and not self.needs_install():
            return False
        env = {**os.environ, "npm_config_fund": "false", "npm_config_audit": "false",
               "npm_config_update_notifier": "false"}
        started = time.monotonic()
        if (self.app_dir / "package-lock.json").exists():
            try:
                self._log("npm ci")
                _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=self.app_dir, env=env, timeout=900)
            except CommandError as exc:
                self._log(f"npm ci failed, falling back to npm install: {exc}")
                _run(["npm", "install", "--no-audit", "--no-fund"], cwd=self.app_dir, env=env, timeout=900)
        else:
            self._log("npm install")
            _run(["npm", "install", "--no-audit", "--no-fund"], cwd=self.app_dir, env=env, timeout=900)
        self._log(f"install took {time.monotonic() - started:.1f}s")
        return True

    def needs_build(self) -> bool:
        if not self.server_entry.exists():
            return True
        return _newest_mtime(self.app_dir, _SOURCE_GLOBS) > self.server_entry.stat().st_mtime

    def build(self, force: bool = False) -> bool:
        """Install if needed, then `nitro build` unless .output/server/index.mjs is newer than every source.
        Idempotent and safe to call from concurrent test workers. Returns True if it built."""
        with _file_lock(self._lock_name):
            installed = self.install()
            if not force and not installed and not self.needs_build():
                return False
            started = time.monotonic()
            self._log("nitro build")
            _run(self._bin("nitro") + ["build"], cwd=self.app_dir, env={**os.environ}, timeout=600)
            if not self.server_entry.exists():
                raise RuntimeError(f"nitro build did not produce {self.server_entry}")
            # Make the output strictly newer than the sources even on coarse-mtime filesystems.
            now = time.time()
            os.utime(self.server_entry, (now, max(now, _newest_mtime(self.app_dir, _SOURCE_GLOBS) + 0.001)))
            self._log(f"build took {time.monotonic() - started:.1f}s")
            return True

    # -- servers ---------------------------------------------------------------------------------------
    def start(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 30.0,
        log_path: str | os.PathLike[str] | None = None,
        build: bool = True,
    ) -> "AppServer":
        """Start `node .output/server/index.mjs` on ``host``:``port`` (a free port by default).

        ``data_dir``: the local world's directory (``WORKFLOW_LOCAL_DATA_DIR``); created if missing. When it is
        None and ``env`` does not select another world, a fresh temporary directory is used.
        ``env``: extra environment, applied last (e.g. the Postgres world's variables).
        """
        if build:
            self.build()
        elif not self.server_entry.exists():
            raise RuntimeError(f"{self.server_entry} is missing: build the app first")
        extra = dict(env or {})
        target_world = extra.get("WORKFLOW_TARGET_WORLD", os.environ.get("WORKFLOW_TARGET_WORLD", ""))
        uses_local = target_world in ("", "local", "@workflow/world-local")
        if data_dir is None and uses_local and "WORKFLOW_LOCAL_DATA_DIR" not in extra:
            data_dir = tempfile.mkdtemp(prefix="wfapp-data-")
        data_path = Path(data_dir).resolve() if data_dir is not None else None
        if data_path is not None:
            data_path.mkdir(parents=True, exist_ok=True)

        port = port or free_port(host)
        url = f"http://{host}:{port}"
        full_env = {**os.environ}
        full_env.update({
            "PORT": str(port),
            "HOST": host,
            "NITRO_PORT": str(port),
            "NITRO_HOST": host,
            # world-local's queue POSTs to itself; pin it to the address we bind (not `localhost`).
            "WORKFLOW_LOCAL_BASE_URL": url,
            "NODE_ENV": "production",
        })
        if data_path is not None:
            full_env["WORKFLOW_LOCAL_DATA_DIR"] = str(data_path)
        full_env.update(extra)

        if log_path is None:
            fd, log_name = tempfile.mkstemp(prefix=f"wfapp-{port}-", suffix=".log")
            os.close(fd)
            log_path = log_name
        log_path = Path(log_path)
        log_fh = open(log_path, "ab")
        try:
            proc = subprocess.Popen(
                ["node", str(self.server_entry)], cwd=self.app_dir, env=full_env,
                stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            log_fh.close()
        server = AppServer(self, proc, url=url, host=host, port=port, data_dir=data_path,
                           env=extra, log_path=log_path)
        try:
            server.wait_ready(ready_timeout)
        except BaseException:
            server.stop()
            raise
        self._log(f"server pid {proc.pid} ready at {url} (log {log_path})")
        return server

    # -- the official CLI (@workflow/cli, shipped with `workflow`) -------------------------------------
    def cli_env(self, data_dir: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None) -> dict[str, str]:
        full = {**os.environ, "WORKFLOW_NO_UPDATE_CHECK": "1", "CI": "1", "NO_COLOR": "1"}
        if data_dir is not None:
            full["WORKFLOW_LOCAL_DATA_DIR"] = str(Path(data_dir).resolve())
        full.update(env or {})
        return full

    def workflow_cli(self, *args: str, data_dir: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None, timeout: float = 120,
                     check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `npx workflow <args>` in the app dir (so it resolves the app's node_modules)."""
        return _run(self._bin("workflow") + [str(a) for a in args], cwd=self.app_dir,
                    env=self.cli_env(data_dir, env), timeout=timeout, check=check)

    def inspect_json(self, *args: str, data_dir: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None, timeout: float = 120) -> Any:
        """`npx workflow inspect <args> --json`, parsed. Example: ``inspect_json("run", run_id)``,
        ``inspect_json("events", "--runId", run_id, "--withData")``."""
        argv = ["inspect", *[str(a) for a in args]]
        if "--json" not in argv and "-j" not in argv:
            argv.append("--json")
        proc = self.workflow_cli(*argv, data_dir=data_dir, env=env, timeout=timeout)
        return _parse_json_output(proc.stdout)

    def inspect_stream(self, stream_id: str, *, data_dir: str | os.PathLike[str] | None = None,
                       env: Mapping[str, str] | None = None, expect: int | None = None,
                       wait_eof: bool = False, timeout: float = 30.0) -> tuple[list[Any], bool]:
        """`npx workflow inspect stream <id> --json` (NDJSON of decoded chunks).

        The CLI blocks until the stream's EOF chunk, and runs do not close their streams
        (vercel/workflow#964), so it is stopped as soon as the condition is met: ``expect`` values printed
        (and, with ``wait_eof``, the CLI exited by itself after the EOF chunk), or the CLI exited, or
        ``timeout`` seconds passed (the CLI alone takes seconds to start on a loaded machine).
        Returns (decoded values, reached_eof)."""
        argv = self._bin("workflow") + ["inspect", "stream", stream_id, "--json"]
        proc = subprocess.Popen(argv, cwd=self.app_dir, env=self.cli_env(data_dir, env), text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        values: list[Any] = []
        lock = threading.Lock()

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if _is_json(line):
                    with lock:
                        values.append(json.loads(line))

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()

        def done() -> bool:
            if proc.poll() is not None:
                return True
            if expect is None or wait_eof:
                return False
            with lock:
                return len(values) >= expect

        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        eof = proc.poll() == 0
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
        proc.wait()
        thread.join(timeout=5)
        with lock:
            return list(values), eof

    def cancel(self, run_id: str, *, data_dir: str | os.PathLike[str] | None = None,
               env: Mapping[str, str] | None = None) -> str:
        """`npx workflow cancel <runId>` (the official CLI); returns its stdout."""
        return self.workflow_cli("cancel", run_id, data_dir=data_dir, env=env).stdout


def _is_json(line: str) -> bool:
    line = line.strip()
    if not line:
        return False
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal a child we started in its own session (its pid is the group id), falling back to the pid."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


class AppServer:
    """A running fixture app. Use as a context manager or call ``stop()``."""

    def __init__(self, app: WorkflowApp, proc: subprocess.Popen, *, url: str, host: str, port: int,
                 data_dir: Path | None, env: dict[str, str], log_path: Path):
        self.app = app
        self.proc = proc
        self.url = url
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self.env = env
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self) -> "AppServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<AppServer pid={self.pid} url={self.url} data_dir={self.data_dir}>"

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle ---------------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if not self.is_running():
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.read_log()[-3000:]}")
            try:
                status, body = self.request("GET", "/api/health", timeout=2)
            except OSError:
                return False
            return status == 200 and isinstance(body, dict) and body.get("ok") is True

        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"server at {self.url} not ready after {timeout}s:\n{self.read_log()[-3000:]}")
            time.sleep(0.1)

    def stop(self, grace: float = 3.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds (a pending sleep() timer keeps Nitro alive)."""
        if self.proc.poll() is None:
            _signal_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode

    # -- HTTP --------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
        """A JSON request to the app; returns (status, parsed body or text). Never raises on HTTP errors."""
        data = None
        headers = {"accept": "application/json"}
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

    def start_run(self, workflow: str, args: Iterable[Any] = ()) -> str:
        """POST /api/start; returns the new runId."""
        status, body = self.request("POST", "/api/start", {"workflow": workflow, "args": list(args)})
        if status != 200 or not isinstance(body, dict) or "runId" not in body:
            raise RuntimeError(f"start {workflow} failed: HTTP {status} {body!r}")
        return body["runId"]

    def resume_hook(self, token: str, payload: Any = None) -> dict[str, Any]:
        """POST /api/resume-hook; returns {runId, hookId}. Raises LookupError if the hook is unknown."""
        status, body = self.request("POST", "/api/resume-hook", {"token": token, "payload": payload})
        if status == 404:
            raise LookupError(f"no hook with token {token!r}: {body!r}")
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"resume-hook {token!r} failed: HTTP {status} {body!r}")
        return body

    # -- the official CLI against this server's world ------------------------------------------------------
    def _cli_env(self) -> dict[str, str]:
        return {**self.env, "WORKFLOW_LOCAL_BASE_URL": self.url, "PORT": str(self.port)}

    def inspect_json(self, *args: str, timeout: float = 120) -> Any:
        return self.app.inspect_json(*args, data_dir=self.data_dir, env=self._cli_env(), timeout=timeout)

    def inspect_stream(self, stream_id: str, *, expect: int | None = None, wait_eof: bool = False,
                       timeout: float = 30.0) -> tuple[list[Any], bool]:
        return self.app.inspect_stream(stream_id, data_dir=self.data_dir, env=self._cli_env(), expect=expect,
                                       wait_eof=wait_eof, timeout=timeout)

    def workflow_cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.app.workflow_cli(*args, data_dir=self.data_dir, env=self._cli_env(), timeout=timeout,
                                     check=check)

    def cancel(self, run_id: str) -> str:
        return self.app.cancel(run_id, data_dir=self.data_dir, env=self._cli_env())

    def run_status(self, run_id: str) -> str | None:
        """The run's status from the local world's run file when available (fast), else via the CLI."""
        if self.data_dir is not None:
            path = self.data_dir / "runs" / f"{run_id}.json"
            try:
                return json.loads(path.read_text())["status"]
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                return None
        return self.inspect_json("run", run_id).get("status")

    def wait_for_status(self, run_id: str, statuses: str | Iterable[str], timeout: float = 30.0) -> str:
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        return wait_until(lambda: (s := self.run_status(run_id)) in wanted and s, timeout=timeout,
                          message=f"{run_id} to reach {sorted(wanted)}")


# Module-level conveniences -------------------------------------------------------------------------------
def build(app_dir: str | os.PathLike[str] = APP_DIR, force: bool = False) -> WorkflowApp:
    app = WorkflowApp(app_dir)
    app.build(force=force)
    return app


def start(app_dir: str | os.PathLike[str] = APP_DIR, **kwargs: Any) -> AppServer:
    return WorkflowApp(app_dir).start(**kwargs)

