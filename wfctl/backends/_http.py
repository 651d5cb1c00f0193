"""What every backend that reaches its engine over HTTP shares (Flue, workflow-runs v1/v2, Temporal, the
Workflow SDK's Vercel world): the client, built on first use and closed by :meth:`HttpBackend.close`; the typed
error for an HTTP failure status; and :func:`reads_answers`, which turns an answer of an unexpected shape into
one exit-5 line.

Nothing here imports httpx: :mod:`wfctl.http` (its only importer) is imported when the first request is about
to be made, so a command that never talks to an engine never loads it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Collection, TypeVar

from .base import Backend, BackendContext

if TYPE_CHECKING:
    from ..config import Profile
    from ..errors import WfctlError
    from ..http import HttpClient

F = TypeVar("F", bound=Callable[..., Any])


def reads_answers(what: str) -> Callable[[F], F]:
    """A public method that reads the engine's answers: an answer of an unexpected shape exits 5 in one line
    (:func:`wfctl.http.guarded_call`, naming the backend's ``label`` and ``what``; ``"{0}"`` in ``what`` is the
    method's first argument), never as an internal error."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            from ..http import guarded_call

            return guarded_call(fn, self, what, args, kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class HttpBackend(Backend):
    """A backend whose engine answers over HTTP, through one :class:`~wfctl.http.HttpClient` per backend.

    Subclasses say how their client differs from the profile's defaults (:meth:`client_options`: the base
    URL, and a token or headers resolved from elsewhere) and may extend :meth:`new_client`. ``transport`` (an
    httpx transport) is for unit tests.
    """

    #: The engine's name in the HTTP client's messages (``Flue answered ...``); the ``label`` when None.
    engine: ClassVar[str | None] = None
    #: The hint of an authentication failure (exit 4); the HTTP client's default when None.
    auth_hint: ClassVar[str | None] = None

    def __init__(self, profile: "Profile", ctx: BackendContext | None = None, *, transport: Any = None):
        super().__init__(profile, ctx)
        self._transport = transport
        self._http: "HttpClient | None" = None

    @property
    def http(self) -> "HttpClient":
        """The engine's client, built on first use."""
        if self._http is None:
            self._http = self.new_client()
        return self._http

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`wfctl.http.client_for` that differ from the profile's values
        (``base_url``, ``token``, ``headers``). The default: none, the profile's ``url`` is the base URL."""
        return {}

    def new_client(self) -> "HttpClient":
        from ..http import client_for

        return client_for(
            self.profile,
            self.ctx,
            engine=self.engine or self.label,
            auth_hint=self.auth_hint,
            transport=self._transport,
            **self.client_options(),
        )

    def bound(self, until: float | None) -> None:
        self.http.until = until

    def status_error(
        self, status: int, what: str, *, usage: Collection[int] | None = None, hint: str | None = None
    ) -> "WfctlError":
        """The typed error for an HTTP failure ``status`` (:func:`wfctl.http.status_error`), with this
        engine's authentication hint."""
        from ..http import DEFAULT_AUTH_HINT, USAGE_STATUSES, status_error

        return status_error(
            status,
            what,
            auth_hint=self.auth_hint or DEFAULT_AUTH_HINT,
            usage=USAGE_STATUSES if usage is None else usage,
            hint=hint,
        )

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
