"""A TCP fault proxy for wfctl's tests, and a scripted HTTP server that lies.

:class:`FaultProxy` listens on 127.0.0.1 on a free port and forwards every connection to one upstream
(``host:port``) byte for byte, so it works in front of any protocol: HTTP engines, PostgreSQL, Durable
Streams. Faults are armed per test and apply to the **answers** (upstream → client)::

    with FaultProxy(("127.0.0.1", server_port)) as proxy:
        url = proxy.rewrite(server_url)           # the same URL through the proxy
        proxy.latency(0.05)                       # every chunk, both ways, 50 ms later (until clear())
        proxy.reset(at=b'"status"')               # the next answer holding '"status"': RST right there
        proxy.truncate(after=200)                 # the next connection: a clean close after 200 answer bytes
        proxy.stall()                             # the next connection is accepted and never answered
        proxy.blackhole()                         # from now on: silence on every connection, old and new
        proxy.down(); ...; proxy.up()             # a restart: connections cut, new ones reset until up()

* ``at=PATTERN`` faults watch every connection and fire on the first answer bytes that contain the pattern
  (the bytes before it are delivered, so the cut falls mid-body); ``after=N`` faults are taken by the next
  accepted connection and fire after N answer bytes; with neither, the next connection gets the fault before
  any byte. ``times`` (default 1) is how many connections a fault hits; ``times=None`` means every one.
* ``reset`` closes the client's socket with ``SO_LINGER`` 0 (a TCP RST), ``truncate`` closes it cleanly (a FIN,
  as a server that crashed after writing part of an answer would), ``stall`` stops answering and holds the
  connection open (a server that accepts and never answers), ``latency`` delays every chunk in both directions.
* ``down()`` cuts every open connection (RST) and resets each new one at once (counted in :attr:`refused`), as a
  restarting server does; ``up()`` ends that. Tests wait on conditions (:meth:`wait_for`), never on time.
* :attr:`accepted`, :attr:`refused` and :attr:`fired` (fault kind → count) say what happened.

:class:`LyingServer` is an HTTP/1.1 server whose every answer is a callable ``answer(handler)`` writing raw
bytes to the socket (``handler.wfile``), for bodies that do not match their headers, endless bodies and
redirects to elsewhere. Standard library only; daemon threads.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

HOST = "127.0.0.1"
CHUNK = 65536


@dataclass
class _Fault:
    kind: str  # "reset" | "truncate" | "stall"
    at: bytes | None = None
    after: int | None = None
    times: int | None = 1


@dataclass
class _Conn:
    client: socket.socket
    upstream: socket.socket | None
    fault: _Fault | None = None  # an after=/immediate fault this connection took at accept
    sent: int = 0  # answer bytes forwarded to the client
    tail: bytes = b""  # the last answer bytes, to find a pattern across chunks
    stalled: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _rst(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, upstream: tuple[str, int] | str, *, host: str = HOST, port: int = 0):
        if isinstance(upstream, str):  # a URL
            parts = urlsplit(upstream)
            upstream = (parts.hostname or HOST, parts.port or (443 if parts.scheme == "https" else 80))
        self.upstream = upstream
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._latency = 0.0
        self._down = False
        self._conns: list[_Conn] = []
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self.accepted = 0
        self.refused = 0
        self.fired: dict[str, int] = {}

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, self._port))
        listener.listen(128)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        try:
            self._wakeup_w.send(b"x")
        except OSError:
            pass
        _close(self._listener)
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            self._drop(conn, reset=True)
        for thread in self._threads:
            thread.join(timeout=5)
        _close(self._wakeup_r)
        _close(self._wakeup_w)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return self._host, self._port

    def rewrite(self, url: str) -> str:
        """``url`` (of the upstream) with the proxy's host and port."""
        parts = urlsplit(url)
        netloc = f"{self._host}:{self._port}"
        if parts.username:
            creds = parts.username + (f":{parts.password}" if parts.password is not None else "")
            netloc = f"{creds}@{netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    # -- faults ---------------------------------------------------------------------------------------------
    def latency(self, seconds: float) -> None:
        """Delay every chunk, both ways, on every connection (until :meth:`clear`)."""
        with self._lock:
            self._latency = seconds

    def reset(self, *, at: bytes | None = None, after: int | None = None, times: int | None = 1) -> None:
        self._arm(_Fault("reset", at, after, times))

    def truncate(self, *, at: bytes | None = None, after: int | None = None, times: int | None = 1) -> None:
        self._arm(_Fault("truncate", at, after, times))

    def stall(self, *, at: bytes | None = None, after: int | None = None, times: int | None = 1) -> None:
        self._arm(_Fault("stall", at, after, times))

    def _arm(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def blackhole(self) -> None:
        """From now on nothing is answered: open connections go silent (held open), and every new one is
        accepted and never answered, until :meth:`clear`."""
        with self._lock:
            for conn in self._conns:
                conn.stalled = True
            self._faults.insert(0, _Fault("stall", times=None))
            self.fired["stall"] = self.fired.get("stall", 0) + 1

    def down(self) -> None:
        """A restart begins: every open connection is cut, new ones are reset until :meth:`up`."""
        with self._lock:
            self._down = True
            conns, self._conns = self._conns, []
        for conn in conns:
            self._drop(conn, reset=True)

    def up(self) -> None:
        with self._lock:
            self._down = False

    def restart(self) -> None:
        """Cut every connection, once: the server is back at once (a fast restart)."""
        self.down()
        self.up()

    def clear(self) -> None:
        """Disarm every fault, end latency, release stalled connections (closed cleanly) and come up."""
        with self._lock:
            self._faults.clear()
            self._latency = 0.0
            self._down = False
            stalled = [c for c in self._conns if c.stalled]
        for conn in stalled:
            self._drop(conn, reset=False)

    def armed(self) -> int:
        """Faults still armed (a fault with ``times=None`` counts as one)."""
        with self._lock:
            return len(self._faults)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
            time.sleep(0.005)

    # -- machinery ------------------------------------------------------------------------------------------
    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._listener, self._wakeup_r], [], [])
            if self._wakeup_r in ready or self._stopping.is_set():
                return
            try:
                client, _ = self._listener.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            try:
                self._admit(client)
            except OSError:  # the client went away while being admitted: the next one is served all the same
                _close(client)

    def _admit(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream: socket.socket | None = None
        if not self._is_down():
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
                upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                _rst(client)  # the upstream itself is down: so is the proxy
                return
        # Everything else is decided at once, under the lock, so that down(), blackhole() and armed faults
        # see every connection either before or after it was admitted, never half-way.
        with self._lock:
            if self._down:
                self.refused += 1
                _rst(client)
                _close(upstream)
                return
            self.accepted += 1
            fault = None
            for candidate in self._faults:
                if candidate.at is None:
                    fault = candidate
                    self._take(candidate)
                    break
            silent = fault is not None and fault.kind == "stall" and not fault.after
            if silent:
                self.fired["stall"] = self.fired.get("stall", 0) + 1
                _close(upstream)
                upstream = None
            conn = _Conn(client, upstream, fault, stalled=silent)
            self._conns.append(conn)
        if silent:
            self._spawn(self._swallow, conn)
            return
        if fault is not None and not fault.after:  # an immediate reset or truncate
            self._fire(conn, fault.kind)
            return
        self._spawn(self._pump_requests, conn)
        self._spawn(self._pump_answers, conn)

    def _is_down(self) -> bool:
        with self._lock:
            return self._down

    def _take(self, fault: _Fault) -> None:  # under self._lock
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)

    def _delay(self) -> None:
        with self._lock:
            delay = self._latency
        if delay > 0:
            time.sleep(delay)

    def _swallow(self, conn: _Conn) -> None:
        """Read what the client sends and never answer."""
        while True:
            try:
                data = conn.client.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                self._drop(conn, reset=False)
                return

    def _pump_requests(self, conn: _Conn) -> None:
        assert conn.upstream is not None
        while True:
            try:
                data = conn.client.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                if conn.stalled:
                    return
                self._drop(conn, reset=False)
                return
            if conn.stalled:
                continue
            self._delay()
            try:
                conn.upstream.sendall(data)
            except OSError:
                self._drop(conn, reset=True)
                return

    def _pump_answers(self, conn: _Conn) -> None:
        assert conn.upstream is not None
        while True:
            try:
                data = conn.upstream.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                if not conn.stalled:
                    self._drop(conn, reset=False)
                return
            if conn.stalled:
                continue  # keep draining the upstream; the client hears nothing
            self._delay()
            cut, kind = self._trigger(conn, data)
            if cut is not None:
                if cut:
                    try:
                        conn.client.sendall(data[:cut])
                    except OSError:
                        pass
                    conn.sent += cut
                self._fire(conn, kind)
                if kind != "stall":
                    return
                continue
            try:
                conn.client.sendall(data)
            except OSError:
                self._drop(conn, reset=True)
                return
            conn.sent += len(data)
            conn.tail = (conn.tail + data)[-256:]

    def _trigger(self, conn: _Conn, data: bytes) -> tuple[int | None, str]:
        """Where in ``data`` a fault fires (bytes to deliver first) and its kind; (None, "") for none."""
        fault = conn.fault
        if fault is not None and fault.after is not None and conn.sent + len(data) > fault.after:
            return max(0, fault.after - conn.sent), fault.kind
        with self._lock:
            for candidate in self._faults:
                if candidate.at is None:
                    continue
                window = conn.tail[-(len(candidate.at) - 1) :] if len(candidate.at) > 1 else b""
                found = (window + data).find(candidate.at)
                if found >= 0:
                    self._take(candidate)
                    return max(0, found - len(window)), candidate.kind
        return None, ""

    def _fire(self, conn: _Conn, kind: str) -> None:
        with self._lock:
            self.fired[kind] = self.fired.get(kind, 0) + 1
        if kind == "stall":
            conn.stalled = True
            return
        self._drop(conn, reset=kind == "reset")

    def _drop(self, conn: _Conn, *, reset: bool) -> None:
        with conn.lock:
            if conn.closed:
                return
            conn.closed = True
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        # Another thread may be blocked in recv() on these sockets: close() alone would not wake it (and the
        # kernel would send nothing until it returns), so shut the sockets down first.
        if reset:
            try:
                conn.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.client.shutdown(socket.SHUT_RD)  # wakes a blocked reader; close() then sends the RST
            except OSError:
                pass
            _close(conn.client)
        else:
            try:
                conn.client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            _close(conn.client)
        if conn.upstream is not None:
            try:
                conn.upstream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            _close(conn.upstream)


# ----------------------------------------------------------------------------------------------------------
# an HTTP server that lies


Answer = Callable[["LyingHandler"], None]


class LyingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_LyingHTTPServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        owner = self.server.owner
        with owner.lock:
            owner.requests.append((self.command, self.path))
            answer = owner.answer
        try:
            answer(self)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve

    def raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


class _LyingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: "LyingServer"):
        self.owner = owner
        super().__init__((HOST, 0), LyingHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients hang up on purpose
        pass


class LyingServer:
    """``with LyingServer(answer) as server: ... server.url`` — every request gets ``answer(handler)``."""

    def __init__(self, answer: Answer | None = None):
        self.lock = threading.Lock()
        self.answer: Answer = answer or (lambda h: h.raw(b"HTTP/1.1 204 No Content\r\n\r\n"))
        self.requests: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self._server = _LyingHTTPServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "LyingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set(self, answer: Answer) -> None:
        with self.lock:
            self.answer = answer
            self.requests.clear()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"


def response(
    status: str = "200 OK", headers: dict[str, str] | None = None, body: bytes = b"", *, content_length: bool = True
) -> bytes:
    """Raw bytes of one HTTP/1.1 answer; ``headers`` are sent as given (lies included)."""
    lines = [f"HTTP/1.1 {status}"]
    given = {k.lower() for k in (headers or {})}
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if content_length and "content-length" not in given and "transfer-encoding" not in given:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
