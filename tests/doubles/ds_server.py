"""Run the Durable Streams reference server (``@durable-streams/server@0.3.7``) for tests.

The server is a real peer, installed from ``tests/peers/durable-streams`` (``package.json`` +
``package-lock.json``) and started through that directory's ``serve.mjs`` on 127.0.0.1 with a port chosen
by the OS and a short long-poll timeout. Writes (create/append/close/delete) and fault injection
(``/_test/inject-error``) go straight to the server with plain httpx; reads in tests go through
``wfctl.durable_streams``.

    server = DSServer.start()          # PeerUnavailable: node or the package is missing (tests/run installs it)
    try:
        server.create("/v1/stream/runs/r1", content_type="application/json")
        server.append_json("/v1/stream/runs/r1", {"type": "run_start"})
        server.inject_fault("/v1/stream/runs/r1", status=503, retryAfter=1, method="GET")
    finally:
        server.stop()

``require_server()`` turns ``PeerUnavailable`` into a pytest failure when ``CI=true`` and a skip otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "durable-streams"
SERVER_PACKAGE = "@durable-streams/server"
SERVER_VERSION = "0.3.7"


class PeerUnavailable(RuntimeError):
    """Node or the reference server package cannot be found (``tests/run`` installs the package)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _node() -> str:
    node = shutil.which(os.environ.get("WFCTL_NODE") or "node")
    if not node:
        raise PeerUnavailable("node is not installed (set WFCTL_NODE or put node on PATH)")
    return node


def _installed() -> bool:
    pkg = PEER_DIR / "node_modules" / "@durable-streams" / "server" / "package.json"
    try:
        return json.loads(pkg.read_text())["version"] == SERVER_VERSION
    except (OSError, ValueError, KeyError):
        return False


def ensure_installed() -> None:
    """The reference server must be installed in the peer directory: ``tests/run`` installs it (``npm ci``);
    a fixture never runs npm. Missing: :class:`PeerUnavailable` naming ``tests/run`` (``require_server`` makes
    that a failure under ``CI=true`` and a skip elsewhere)."""
    if not _installed():
        raise PeerUnavailable(
            f"{SERVER_PACKAGE}@{SERVER_VERSION} is not installed in tests/peers/durable-streams: run tests/run, "
            "which installs the test peers (fixtures never run npm)"
        )


class DSServer:
    """A running reference server; ``url`` is its base URL (``http://127.0.0.1:PORT``)."""

    def __init__(self, process: subprocess.Popen, url: str, log_path: Path):
        self.process = process
        self.pid = process.pid
        self.url = url.rstrip("/")
        self.log_path = log_path
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self._content_types: dict[str, str] = {}

    # -- lifecycle ----------------------------------------------------------------------------------------

    @classmethod
    def start(cls, long_poll_timeout_ms: int = 500, startup_timeout: float = 30.0) -> "DSServer":
        node = _node()
        ensure_installed()
        log_file = tempfile.NamedTemporaryFile(prefix="ds-server-", suffix=".log", delete=False)
        log_path = Path(log_file.name)
        cmd = [
            node,
            "serve.mjs",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--long-poll-timeout",
            str(long_poll_timeout_ms),
            "--watch-stdin",
        ]
        # stdin stays an open pipe: the launcher exits when it closes, so the server dies with the tests
        try:
            process = subprocess.Popen(
                cmd, cwd=PEER_DIR, stdin=subprocess.PIPE, stdout=log_file, stderr=subprocess.STDOUT
            )
        except OSError as e:
            raise PeerUnavailable(f"cannot start {node}: {e}") from e
        finally:
            log_file.close()
        deadline = time.monotonic() + startup_timeout
        url = None
        try:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise PeerUnavailable(
                        f"the reference server exited with {process.returncode}:\n"
                        + log_path.read_text(errors="replace")[-2000:]
                    )
                for line in log_path.read_text(errors="replace").splitlines():
                    if line.startswith("{") and '"url"' in line:
                        url = json.loads(line)["url"]
                        break
                if url:
                    break
                time.sleep(0.02)
            if not url:
                raise PeerUnavailable(f"the reference server did not report its URL within {startup_timeout}s")
            server = cls(process, url, log_path)
            server._wait_ready(deadline)
            return server
        except BaseException:
            _kill(process)
            raise

    def _wait_ready(self, deadline: float) -> None:
        while True:
            try:
                if self.http.head("/__wfctl_readiness_probe").status_code == 404:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise PeerUnavailable(f"the reference server at {self.url} did not become ready")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server by PID (SIGTERM, then SIGKILL)."""
        self.http.close()
        _kill(self.process)
        try:
            self.log_path.unlink()
        except OSError:
            pass

    def __enter__(self) -> "DSServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------------------------------------

    def stream_url(self, path: str) -> str:
        return self.url + path

    @staticmethod
    def new_path(prefix: str = "/v1/stream/runs/run_") -> str:
        return f"{prefix}{uuid.uuid4().hex}"

    def create(
        self,
        path: str,
        content_type: str = "application/json",
        data: bytes | str | None = None,
        closed: bool = False,
        ttl_seconds: int | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type}
        if closed:
            headers["Stream-Closed"] = "true"
        if ttl_seconds is not None:
            headers["Stream-TTL"] = str(ttl_seconds)
        resp = self.http.put(path, headers=headers, content=_bytes(data))
        if resp.status_code in (200, 201):
            self._content_types[path] = content_type
        return resp

    def content_type(self, path: str) -> str:
        if path not in self._content_types:
            resp = self.http.head(path)
            resp.raise_for_status()
            self._content_types[path] = resp.headers.get("content-type", "application/octet-stream")
        return self._content_types[path]

    def append(
        self, path: str, data: bytes | str, content_type: str | None = None, close: bool = False
    ) -> httpx.Response:
        headers = {"Content-Type": content_type or self.content_type(path)}
        if close:
            headers["Stream-Closed"] = "true"
        return self.http.post(path, headers=headers, content=_bytes(data))

    def append_json(self, path: str, value: Any, close: bool = False) -> str:
        """Append one JSON message (a list appends its elements); returns the new tail offset."""
        resp = self.append(path, json.dumps(value, separators=(",", ":")), "application/json", close=close)
        if resp.status_code != 204:
            raise AssertionError(f"append to {path} failed: {resp.status_code} {resp.text}")
        return resp.headers["stream-next-offset"]

    def close_stream(
        self, path: str, data: bytes | str | None = None, content_type: str | None = None
    ) -> httpx.Response:
        headers = {"Stream-Closed": "true"}
        if data:
            headers["Content-Type"] = content_type or self.content_type(path)
        return self.http.post(path, headers=headers, content=_bytes(data))

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path)

    def head(self, path: str) -> httpx.Response:
        return self.http.head(path)

    def inject_fault(self, path: str, **fault: Any) -> None:
        """``POST /_test/inject-error``: e.g. ``status=503, retryAfter=1``, ``dropConnection=True``,
        ``delayMs=…``, ``truncateBodyBytes=…``, ``corruptBody=True``, ``injectSseEvent={…}``,
        ``count``, ``method``, ``probability``."""
        resp = self.http.post("/_test/inject-error", json={"path": path, **fault})
        if resp.status_code != 200:
            raise AssertionError(f"inject-error failed: {resp.status_code} {resp.text}")

    def clear_faults(self) -> None:
        self.http.delete("/_test/inject-error")


def _bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    return data.encode("utf-8") if isinstance(data, str) else data


def _kill(process: subprocess.Popen, grace: float = 5.0) -> None:
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=grace)
    if process.stdin:
        try:
            process.stdin.close()
        except OSError:
            pass


def require_server(**kwargs: Any) -> Iterator[DSServer]:
    """Generator for pytest fixtures: start a server, yield it, stop it. A missing peer fails under
    ``CI=true`` and skips otherwise."""
    import pytest

    try:
        server = DSServer.start(**kwargs)
    except PeerUnavailable as e:
        if in_ci():
            pytest.fail(f"Durable Streams reference server unavailable in CI: {e}", pytrace=False)
        pytest.skip(f"Durable Streams reference server unavailable: {e}")
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.01, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` elapses (then AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
