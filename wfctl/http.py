"""The HTTP client every network backend uses. The only importer of httpx besides the Durable Streams protocol
reader (``wfctl.durable_streams``).

* **One budget per request.** The profile's ``timeout`` (``WFCTL_TIMEOUT``, default 30 s), or the longer
  ``timeout=`` a caller gives a long-poll, bounds a request from its first byte sent to its last byte read,
  retries included: the connect timeout is 5 s (or what is left of the budget), the read timeout what is left,
  and once the headers are in, a watchdog cuts the connection when the budget runs out, so a server that
  trickles a body, or never ends one, cannot hold wfctl past it. Bodies are read to at most
  :attr:`HttpClient.max_body` bytes (decoded).
* Idempotent requests (and those marked ``retry=True``) are retried on connection errors, a body cut off
  before its end, timeouts, 429, 502, 503 and 504 with exponential backoff and full jitter, honouring
  ``Retry-After``, as long as the budget lasts (a ``Retry-After`` beyond it ends the request at once).
* A ``wfctl/<version>`` user agent; ``--debug`` logs every exchange with credentials redacted.
* HTTP failures become typed :mod:`wfctl.errors` (401/403 → 4, 404 → 3, 400 → 2, 5xx/network → 5).
* **Engines that lie** exit 5 with one sentence naming the engine, the request and what was wrong: a body that
  does not match its ``Content-Encoding``, is not valid in the ``charset`` its ``Content-Type`` names, ends
  before its ``Content-Length`` or its JSON does, never ends, or is not JSON where JSON was expected (a body that
  *is* JSON is read whatever its ``Content-Type`` says); a redirect loop; a redirect to another origin.
* **Redirects** are followed within the configured origin (scheme, host and port) only. A redirect anywhere else
  is refused before anything is sent there, so credentials never leave the engine (exit 5; an ``http://``
  engine redirecting to ``https://`` gets a hint to configure the https URL).

:func:`guarded_call` turns a mistake in reading an engine's answer — a value of an unexpected type deep in its
JSON — into the same kind of one-line exit 5, for the backends' public methods.
"""

from __future__ import annotations

import codecs
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator as IteratorABC
from contextlib import contextmanager
from typing import Any, Callable, Collection, Iterator, Mapping

import httpx

from . import __version__
from .errors import AuthError, NotFoundError, UnavailableError, UsageError, WfctlError
from .times import retry_after_seconds

USER_AGENT = f"wfctl/{__version__}"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "temporal-api-key"}
)
CONNECT_TIMEOUT = 5.0
#: The largest (decoded) body wfctl reads; anything longer is an engine's answer that never ends.
MAX_BODY = 128 * 1024 * 1024
#: Errors that reading an engine's answer raises when a value has another type than the API documents.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError, RecursionError)
#: Failure statuses that mean the request itself was wrong (exit 2), unless an engine says otherwise.
USAGE_STATUSES = frozenset({400, 409, 422})
DEFAULT_AUTH_HINT = "check the token (WFCTL_TOKEN, the profile's token_env or token)"

#: An HTTP response, for annotations outside this module (which never import httpx themselves).
Response = httpx.Response

Exchange = Callable[[str], None]


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return re.sub(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", r"\1 ***", text)


def retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("retry-after"))


def backoff_delay(attempt: int, *, base: float = 0.25, cap: float = 10.0) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def describe_body(response: httpx.Response) -> str:
    ctype = response.headers.get("content-type", "no content type").split(";")[0].strip()
    return f"HTTP {response.status_code} with {ctype}"


def server_message(response: httpx.Response) -> str | None:
    """The error message an API put in its JSON body, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "details", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict):
                inner = value.get("message")
                if isinstance(inner, str):
                    return inner
    return None


def status_error(
    status: int,
    what: str,
    *,
    auth_hint: str | None = None,
    usage: Collection[int] = USAGE_STATUSES,
    hint: str | None = None,
) -> WfctlError:
    """The typed error for an HTTP failure status: 401 and 403 → :class:`AuthError` (exit 4, with ``auth_hint``),
    404 → :class:`NotFoundError` (3), a ``usage`` status → :class:`UsageError` (2), any other →
    :class:`UnavailableError` (5). ``hint`` goes with every one but the authentication error."""
    if status in (401, 403):
        return AuthError(what, hint=auth_hint)
    if status == 404:
        return NotFoundError(what, hint=hint)
    if status in usage:
        return UsageError(what, hint=hint)
    return UnavailableError(what, hint=hint)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    return scheme, (url.host or "").lower(), url.port or {"http": 80, "https": 443}.get(scheme)


def _show_origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


class _Overdue(Exception):
    """The request's budget ran out while its body was being read."""


class _TooLarge(Exception):
    """The body grew past :attr:`HttpClient.max_body`."""


class _Garbled(Exception):
    """The body cannot be decoded as its ``Content-Encoding`` says."""

    def __init__(self, encoding: str, detail: str):
        super().__init__(detail)
        self.encoding, self.detail = encoding, detail


class HttpClient:
    """A thin, retrying wrapper around ``httpx.Client`` bound to one engine."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float = 30.0,
        insecure: bool = False,
        max_retries: int = 4,
        debug_log: Exchange | None = None,
        engine: str = "engine",
        auth_hint: str | None = None,
        transport: httpx.BaseTransport | None = None,
        max_body: int = MAX_BODY,
    ):
        if not base_url:
            raise UsageError(
                f"no URL configured for the {engine} backend",
                hint="pass --url or set 'url' in the profile (wfctl config set url ...)",
            )
        if not re.match(r"^https?://", base_url):
            raise UsageError(f"URL {base_url!r} must start with http:// or https://")
        all_headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        all_headers.update(headers or {})
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        self.engine = engine
        self.auth_hint = auth_hint or DEFAULT_AUTH_HINT
        self.max_retries = max_retries
        self.read_timeout = max(0.05, float(read_timeout))
        #: No request runs past this ``time.monotonic()`` value, retries included (None: no bound): a wait's
        #: ``--timeout`` (:meth:`wfctl.backends.base.Backend.bound`).
        self.until: float | None = None
        self.max_body = max_body
        self._secrets = [token or ""] + [v for k, v in (headers or {}).items() if k.lower() in SECRET_HEADERS]
        self._debug = debug_log
        self._sleep = time.sleep
        # Loading the CA bundle costs ~0.1 s per process; a plain-http engine never needs it. Should
        # such an engine redirect to https, the request is refused (another origin) rather than sent unverified.
        plain = base_url.startswith("http://")
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=all_headers,
            timeout=httpx.Timeout(self.read_timeout, connect=CONNECT_TIMEOUT),
            verify=False if plain else not insecure,
            follow_redirects=True,
            transport=transport,
            event_hooks={"request": [self._stay_on_origin]},
        )
        self._origin = _origin(self.client.base_url)

    def _stay_on_origin(self, request: httpx.Request) -> None:
        """Every request, redirects included, goes to the configured origin only."""
        if _origin(request.url) == self._origin:
            return
        base = self.client.base_url
        target = f"{_show_origin(request.url)}{request.url.path}"
        if request.url.scheme == "https" and base.scheme == "http" and request.url.host == base.host:
            raise UnavailableError(
                f"{self.engine} redirected a {request.method} to {target}, but wfctl was configured with its "
                "http:// URL and follows redirects within that origin only",
                hint="set the https:// URL in the profile (or --url)",
            )
        raise UnavailableError(
            f"{self.engine} redirected a {request.method} to {target}, another origin than {_show_origin(base)}: "
            "wfctl does not follow redirects away from the configured engine",
            hint="if that is where the engine lives now, set that URL in the profile (or --url)",
        )

    # -- debug -----------------------------------------------------------------
    def _log(self, text: str) -> None:
        if self._debug:
            self._debug(redact(text, self._secrets))

    def _log_request(self, request: httpx.Request) -> None:
        if not self._debug:
            return
        lines = [f"> {request.method} {request.url}"]
        for key, value in request.headers.items():
            lines.append(f"> {key}: {'***' if key.lower() in SECRET_HEADERS else value}")
        self._log("\n".join(lines))

    def _log_response(self, response: httpx.Response, elapsed: float) -> None:
        if not self._debug:
            return
        lines = [f"< {response.status_code} {response.reason_phrase} ({elapsed * 1000:.0f} ms)"]
        for key, value in response.headers.items():
            lines.append(f"< {key}: {'***' if key.lower() in SECRET_HEADERS else value}")
        self._log("\n".join(lines))

    # -- requests --------------------------------------------------------------
    @staticmethod
    def _timeout(remaining: float) -> httpx.Timeout:
        remaining = max(0.01, remaining)
        return httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT, remaining))

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: bool | None = None,
        expect: tuple[int, ...] = (),
        timeout: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request with retries, within one budget; raise a typed error for failure statuses.

        ``expect`` lists extra statuses the caller handles itself (e.g. 404). ``timeout`` replaces the
        profile's budget for this request (a long-poll's window plus a margin).
        """
        retryable = (method.upper() in IDEMPOTENT) if retry is None else retry
        budget = self.read_timeout if timeout is None else max(0.05, float(timeout))
        deadline = time.monotonic() + budget
        where = f"{method.upper()} {httpx.URL(path).path or path}"
        if self.until is not None and self.until < deadline:
            deadline = self.until
            budget = round(max(0.0, deadline - time.monotonic()), 3)
            if budget <= 0:
                raise UnavailableError(f"{self.engine}: {where} not sent: the time given has run out")
        attempt = 0
        while True:
            kwargs["timeout"] = self._timeout(deadline - time.monotonic())
            request = self.client.build_request(method, path, **kwargs)
            where = f"{request.method} {request.url.path}"
            self._log_request(request)
            started = time.monotonic()
            response: httpx.Response | None = None
            try:
                response = self._send(request, deadline)
            except (_Overdue, httpx.TimeoutException) as exc:
                error: Exception | None = exc
                reason = f"timed out (no complete answer within {budget:g}s)"
            except httpx.RemoteProtocolError as exc:
                error = exc
                text = str(exc) or type(exc).__name__
                reason = (
                    f"the answer was cut off ({text})"
                    if "body" in text or "chunk" in text.lower()
                    else f"connection failed (RemoteProtocolError: {text})"
                )
            except httpx.TransportError as exc:
                error = exc
                reason = f"connection failed ({type(exc).__name__}: {exc or 'no detail'})"
            except _Garbled as exc:
                raise UnavailableError(
                    f"{self.engine} answered {where} with a body that is not what its Content-Encoding "
                    f"{exc.encoding!r} says ({exc.detail})",
                    hint="the engine, or a proxy in front of it, mislabels its answers",
                ) from None
            except httpx.TooManyRedirects:
                raise UnavailableError(
                    f"{self.engine} redirected {where} in a loop (more than {self.client.max_redirects} redirects)"
                ) from None
            except _TooLarge:
                raise UnavailableError(
                    f"{self.engine} answered {where} with a body larger than "
                    f"{_size(self.max_body)}; wfctl stops reading there"
                ) from None
            except httpx.HTTPError as exc:  # anything else httpx refuses about the exchange
                raise UnavailableError(
                    f"{self.engine}: {where} failed ({type(exc).__name__}: {_first_line(exc)})"
                ) from None
            else:
                error = None
                self._log_response(response, time.monotonic() - started)
                if response.status_code < 400 or response.status_code in expect:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise self.error_for(response)
                reason = describe_body(response)
            remaining = deadline - time.monotonic()
            delay = backoff_delay(attempt)
            if response is not None:
                hinted = retry_after(response)
                if hinted is not None:
                    delay = min(hinted, 60.0)
                    if delay > remaining and retryable and attempt < self.max_retries:
                        self._log(f"Retry-After {hinted:g}s is beyond the {budget:g}s budget; giving up")
            if not retryable or attempt >= self.max_retries or remaining <= 0 or delay >= remaining:
                if response is not None:
                    raise self.error_for(response)
                raise UnavailableError(
                    f"{self.engine} at {self.client.base_url} unreachable: {reason}"
                    + (f" after {attempt + 1} attempts" if attempt else ""),
                    hint="check the URL and that the engine is running (wfctl config doctor)",
                ) from error
            self._log(f"retrying in {delay:.2f}s ({reason})")
            self._sleep(delay)
            attempt += 1

    def _send(self, request: httpx.Request, deadline: float) -> httpx.Response:
        """Send, then read the whole body before ``deadline`` and within :attr:`max_body`."""
        response = self.client.send(request, stream=True)
        try:
            self._read_body(response, deadline)
        except BaseException:
            response.close()
            raise
        return response

    def _read_body(self, response: httpx.Response, deadline: float) -> None:
        cut = threading.Event()
        timer: threading.Timer | None = None
        sock = _socket_of(response)
        if sock is not None:  # a stalled read is woken by shutting the socket down at the deadline

            def expire() -> None:
                cut.set()
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
            timer.daemon = True
            timer.start()
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body:
                    raise _TooLarge()
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _Overdue()
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if cut.is_set():
                raise _Overdue() from None
            if isinstance(exc, httpx.DecodingError):
                raise _Garbled(response.headers.get("content-encoding", ""), _first_line(exc)) from None
            raise
        finally:
            if timer is not None:
                timer.cancel()
        # The body was read here (bounded) instead of by Response.read(); give the response its content.
        response._content = b"".join(chunks)

    def error_for(self, response: httpx.Response) -> WfctlError:
        status = response.status_code
        message = server_message(response)
        what = f"{self.engine}: HTTP {status}" + (f": {message}" if message else "")
        if message is None and not _is_json(response) and response.content:
            request = response.request
            what = f"{self.engine} answered {describe_body(response)} ({request.method} {request.url.path})"
        return status_error(status, what, auth_hint=self.auth_hint)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return self.decode_json(response)

    def decode_json(self, response: httpx.Response) -> Any:
        """The JSON value of a body; a body that is not JSON, or not in the charset its Content-Type names,
        is an :class:`UnavailableError` saying so."""
        content = response.content
        if not content:
            return None
        where = f"({response.request.method} {response.request.url.path})"
        charset = response.charset_encoding
        try:
            if charset:  # what the header says the bytes are
                try:
                    codecs.lookup(charset)
                except LookupError:
                    raise UnavailableError(
                        f"{self.engine} answered {describe_body(response)} in an unknown charset {charset!r} {where}"
                    ) from None
                text = content.decode(charset)
                return json.loads(text[1:] if text.startswith("\ufeff") else text)
            return json.loads(content)  # no charset: UTF-8 (or UTF-16/32, detected as RFC 8259 allows)
        except UnicodeDecodeError as exc:
            raise UnavailableError(
                f"{self.engine} answered {describe_body(response)} whose body is not valid "
                f"{charset or 'UTF-8'} (byte {exc.start}) {where}",
                hint="the engine's Content-Type names another charset than its body uses" if charset else None,
            ) from None
        except json.JSONDecodeError as exc:
            if exc.doc.strip() and (exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated")):
                declared = response.headers.get("content-length")
                raise UnavailableError(
                    f"{self.engine} answered {describe_body(response)} whose JSON ends early, after "
                    f"{len(content)} bytes"
                    + (f" (Content-Length: {declared})" if declared else "")
                    + f": a truncated answer {where}",
                    hint="try again; reading changes nothing",
                ) from None
            raise UnavailableError(
                f"{self.engine} answered {describe_body(response)} that is not JSON {where}",
                hint="is the URL pointing at the API (not a proxy or web page)?",
            ) from None
        except RecursionError:
            raise UnavailableError(
                f"{self.engine} answered {describe_body(response)} with JSON nested too deeply to read {where}"
            ) from None
        except ValueError:
            raise UnavailableError(
                f"{self.engine} answered {describe_body(response)} that is not JSON {where}",
                hint="is the URL pointing at the API (not a proxy or web page)?",
            ) from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.json("GET", path, params=_clean(params), **kwargs)

    @contextmanager
    def stream(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """Open a streaming response; failure statuses raise typed errors. ``timeout`` is the read timeout
        of each read (the caller's idle watchdog), not a budget for the whole stream."""
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        request = self.client.build_request(method, path, **kwargs)
        self._log_request(request)
        where = f"{request.method} {request.url.path}"
        try:
            response = self.client.send(request, stream=True)
        except httpx.TooManyRedirects:
            raise UnavailableError(f"{self.engine} redirected {where} in a loop") from None
        except httpx.HTTPError as exc:
            raise UnavailableError(f"{self.engine} at {self.client.base_url} unreachable: {exc}") from exc
        try:
            if response.status_code >= 400:
                try:
                    self._read_body(response, time.monotonic() + self.read_timeout)
                except (_Overdue, _TooLarge, _Garbled, httpx.HTTPError):
                    response._content = b""
                raise self.error_for(response)
            yield response
        finally:
            response.close()

    def close(self) -> None:
        self.client.close()


class StreamSilent(Exception):
    """A streamed answer sent no byte within its read timeout (:meth:`HttpClient.stream`'s ``timeout``)."""


class StreamDropped(Exception):
    """The connection of a streamed answer broke before its end; the message names the transport error."""


def body_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body of a response opened with :meth:`HttpClient.stream`, decoded (``Content-Encoding``) chunk by chunk
    as it arrives: a read timeout raises :class:`StreamSilent` and a broken connection :class:`StreamDropped`, so
    callers read streams without importing httpx."""
    try:
        yield from response.iter_bytes()
    except httpx.TimeoutException:
        raise StreamSilent() from None
    except httpx.TransportError as exc:
        raise StreamDropped(f"{type(exc).__name__}: {exc or 'no detail'}") from None


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        sock = stream.get_extra_info("socket")
    except Exception:  # noqa: BLE001 - a transport without sockets
        return None
    return sock if isinstance(sock, socket.socket) else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_TYPE_NAMES = {
    str: "a string",
    int: "a number",
    float: "a number",
    dict: "an object",
    list: "an array",
    bool: "a boolean",
}


def json_type(value: Any) -> str:
    """``a string``, ``an array``, ... for a decoded JSON (or CBOR) value."""
    if value is None:
        return "null"
    for kind in (bool, str, int, float, dict, list):
        if isinstance(value, kind):
            return _TYPE_NAMES[kind]
    return f"a {type(value).__name__}"


def check_fields(engine: str, what: str, value: Any, spec: Mapping[str, Any]) -> dict:
    """``value`` must be an object whose keys in ``spec`` are, when present and not null, of the given type(s)
    (``int`` never matches a boolean); else an :class:`UnavailableError` naming the engine, the answer and the
    field. Returns ``value``."""
    if not isinstance(value, dict):
        raise UnavailableError(f"{engine} answered {what} with {json_type(value)} where its API has an object")
    for key, types in spec.items():
        field = value.get(key)
        if field is None:
            continue
        kinds = types if isinstance(types, tuple) else (types,)
        if not isinstance(field, kinds) or (isinstance(field, bool) and bool not in kinds):
            wanted = " or ".join(dict.fromkeys(_TYPE_NAMES.get(k, k.__name__) for k in kinds))
            raise UnavailableError(
                f"{engine} answered {what} with {key!r} as {json_type(field)} where its API has {wanted}"
            )
    return value


def shape_error(engine: str, exc: BaseException, what: str | None = None) -> UnavailableError:
    """One line for an answer wfctl cannot read: a value of another type than the engine's API documents."""
    return UnavailableError(
        f"{engine} answered {what or 'a request'} in a shape wfctl does not read "
        f"({type(exc).__name__}: {_first_line(exc)})",
        hint="the engine's API may have changed, or something between wfctl and it rewrites answers; "
        "--debug shows where",
    )


def guarded_call(fn: Callable[..., Any], owner: Any, what: str, args: tuple, kwargs: dict) -> Any:
    """Call a backend method that reads an engine's answers: a :data:`SHAPE_ERRORS` error raised while it runs
    (or while the iterator it returns is consumed) becomes :func:`shape_error`, naming the backend's ``label``
    and ``what`` (``"{0}"`` in it is the method's first argument, e.g. the run id). Backends wrap their public
    methods with a small decorator that calls this (it keeps their module imports free of httpx)."""
    label = getattr(owner, "label", None) or getattr(owner, "name", None) or "the engine"
    subject = what.format(*args) if args else what
    try:
        result = fn(owner, *args, **kwargs)
    except SHAPE_ERRORS as exc:
        raise shape_error(label, exc, subject) from exc
    if isinstance(result, IteratorABC):
        return _guarded(result, label, subject)
    return result


def _guarded(items: Iterator[Any], label: str, what: str) -> Iterator[Any]:
    try:
        yield from items
    except SHAPE_ERRORS as exc:
        raise shape_error(label, exc, what) from exc


def client_for(
    profile: Any,
    ctx: Any,
    *,
    engine: str,
    base_url: str | None = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> HttpClient:
    """Build an HttpClient from a resolved profile and backend context; ``base_url``, ``token`` and
    ``headers``, when given, replace the profile's ``url``, token and headers."""
    return HttpClient(
        base_url or profile.get("url"),
        token=token or profile.token(),
        headers=profile.headers() if headers is None else headers,
        read_timeout=float(profile.get("timeout", 30.0)),
        insecure=bool(profile.get("insecure")) or getattr(ctx, "insecure", False),
        debug_log=ctx.debug_log if getattr(ctx, "debug", False) else None,
        engine=engine,
        **kwargs,
    )
