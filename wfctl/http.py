"""The HTTP client every network backend uses (design §7). The only importer of httpx
besides the Durable Streams protocol reader (``wfctl.durable_streams``).

* connect timeout 5 s; the read timeout comes from the profile and is raised
  per request above any long-poll window;
* idempotent requests (and those marked ``retry=True``) are retried on
  connection errors, 429, 502, 503 and 504 with exponential backoff and full
  jitter, honouring ``Retry-After``;
* a ``wfctl/<version>`` user agent;
* ``--debug`` logs every exchange with credentials redacted;
* HTTP failures become typed :mod:`wfctl.errors` (401/403 → 4, 404 → 3,
  400 → 2, 5xx/network → 5); a body that is not JSON where JSON was expected is
  reported with its status and content type;
* redirects are followed, and httpx drops ``Authorization`` when a redirect
  leaves the origin, so credentials never reach another host.
"""

from __future__ import annotations

import json
import random
import re
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import httpx

from . import __version__
from .errors import AuthError, NotFoundError, UnavailableError, UsageError, WfctlError
from .times import retry_after_seconds

USER_AGENT = f"wfctl/{__version__}"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                            "temporal-api-key"})

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
    return random.uniform(0, min(cap, base * (2 ** attempt)))


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
    ):
        if not base_url:
            raise UsageError(f"no URL configured for the {engine} backend",
                             hint="pass --url or set 'url' in the profile (wfctl config set url ...)")
        if not re.match(r"^https?://", base_url):
            raise UsageError(f"URL {base_url!r} must start with http:// or https://")
        all_headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        all_headers.update(headers or {})
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        self.engine = engine
        self.auth_hint = auth_hint or "check the token (WFCTL_TOKEN, the profile's token_env or token)"
        self.max_retries = max_retries
        self.read_timeout = read_timeout
        self._secrets = [token or ""] + [v for k, v in (headers or {}).items() if k.lower() in SECRET_HEADERS]
        self._debug = debug_log
        self._sleep = time.sleep
        # Loading the CA bundle costs ~0.1 s per process; a plain-http engine never needs it. Should
        # such an engine redirect to https, the request is refused rather than sent unverified.
        plain = base_url.startswith("http://")
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=all_headers,
            timeout=httpx.Timeout(read_timeout, connect=5.0),
            verify=False if plain else not insecure,
            follow_redirects=True,
            transport=transport,
            event_hooks={"request": [self._refuse_unverified_tls]} if plain and not insecure else None,
        )

    def _refuse_unverified_tls(self, request: httpx.Request) -> None:
        if request.url.scheme == "https":
            raise UsageError(
                f"{self.engine} redirected to {request.url.scheme}://{request.url.host}: "
                "wfctl was configured with an http:// URL",
                hint="set the https:// URL in the profile (or --url)",
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
    def request(self, method: str, path: str, *, retry: bool | None = None, expect: tuple[int, ...] = (),
                timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        """Send a request with retries; raise a typed error for failure statuses.

        ``expect`` lists extra statuses the caller handles itself (e.g. 404).
        """
        retryable = (method.upper() in IDEMPOTENT) if retry is None else retry
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout, connect=5.0)
        attempt = 0
        while True:
            request = self.client.build_request(method, path, **kwargs)
            self._log_request(request)
            started = time.monotonic()
            try:
                response = self.client.send(request)
            except httpx.TimeoutException as exc:
                error: Exception = exc
                response = None
                reason = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                error, response = exc, None
                reason = f"connection failed ({exc.__class__.__name__}: {exc or 'no detail'})"
            else:
                self._log_response(response, time.monotonic() - started)
                if response.status_code < 400 or response.status_code in expect:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise self.error_for(response)
                reason = describe_body(response)
                error = None
            if not retryable or attempt >= self.max_retries:
                if response is not None:
                    raise self.error_for(response)
                raise UnavailableError(
                    f"{self.engine} at {self.client.base_url} unreachable: {reason}"
                    + (f" after {attempt + 1} attempts" if attempt else ""),
                    hint="check the URL and that the engine is running (wfctl config doctor)",
                ) from error
            delay = backoff_delay(attempt)
            if response is not None:
                hinted = retry_after(response)
                if hinted is not None:
                    delay = min(hinted, 60.0)
            self._log(f"retrying in {delay:.2f}s ({reason})")
            self._sleep(delay)
            attempt += 1

    def error_for(self, response: httpx.Response) -> WfctlError:
        status = response.status_code
        message = server_message(response)
        what = f"{self.engine}: HTTP {status}" + (f": {message}" if message else "")
        if message is None and not _is_json(response) and response.content:
            what = f"{self.engine} answered {describe_body(response)} ({response.request.method} {response.request.url.path})"
        if status in (401, 403):
            return AuthError(what, hint=self.auth_hint)
        if status == 404:
            return NotFoundError(what)
        if status in (400, 409, 422):
            return UsageError(what)
        return UnavailableError(what)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return self.decode_json(response)

    def decode_json(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise UnavailableError(
                f"{self.engine} answered {describe_body(response)} that is not JSON "
                f"({response.request.method} {response.request.url.path})",
                hint="is the URL pointing at the API (not a proxy or web page)?",
            ) from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.json("GET", path, params=_clean(params), **kwargs)

    @contextmanager
    def stream(self, method: str, path: str, *, timeout: float | None = None,
               **kwargs: Any) -> Iterator[httpx.Response]:
        """Open a streaming response; failure statuses raise typed errors."""
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout, connect=5.0)
        request = self.client.build_request(method, path, **kwargs)
        self._log_request(request)
        try:
            response = self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise UnavailableError(f"{self.engine} at {self.client.base_url} unreachable: {exc}") from exc
        try:
            if response.status_code >= 400:
                response.read()
                raise self.error_for(response)
            yield response
        finally:
            response.close()

    def close(self) -> None:
        self.client.close()


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def client_for(profile: Any, ctx: Any, *, engine: str, base_url: str | None = None, **kwargs: Any) -> HttpClient:
    """Build an HttpClient from a resolved profile and backend context."""
    return HttpClient(
        base_url or profile.get("url"),
        token=profile.token(),
        headers=profile.headers(),
        read_timeout=float(profile.get("timeout", 30.0)),
        insecure=bool(profile.get("insecure")) or getattr(ctx, "insecure", False),
        debug_log=ctx.debug_log if getattr(ctx, "debug", False) else None,
        engine=engine,
        **kwargs,
    )
