"""The Workflow SDK's health check, as ``start`` asks it before writing a run (docs/architecture.md, "Start,
re-run and resume on the Workflow SDK").

``npx workflow start`` takes the deployment of the workflow's newest run and asks that deployment for its spec
version with ``healthCheck(world, 'workflow', {deploymentId})`` (``@workflow/core`` ``runtime/helpers``, the
same on 4.8.9 and 5.0.0-beta.55): it queues ``{"__healthCheck": true, "correlationId": <ULID>}`` on
``__wkf_workflow_health_check`` (JSON transport), the app's workflow handler answers by writing one JSON chunk
``{"healthy": true, "specVersion", "workflowCoreVersion", ...}`` to the stream ``__health_check__<id>`` of its
world and closing it, and the caller reads that stream until it is closed or its time (10 s) is up. The answer's
``specVersion`` decides the new run's; when there is none, the newest run's own stays.

This module holds what the worlds share: the message, the stream name, reading the answer (what
``parseHealthCheckResponse`` accepts) and the bounded wait. The worlds queue the message their way
(``localcontrol``: one POST to the app's flow route; ``postgrescontrol``: a graphile-worker job) and read the
stream from their own store.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .ids import new_ulid

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass
else:
    from ..._record import dataclass

#: The queue the SDK sends the health check on (``getQueueTopicPrefix('workflow') + 'health_check'``).
QUEUE = "__wkf_workflow_health_check"
#: What ``npx workflow start`` gives the health check (``timeout: 10_000``).
TIMEOUT = 10.0
#: How often the answer's stream is looked at (the SDK's ``HEALTH_CHECK_POLL_INTERVAL``).
POLL = 0.1


@dataclass(frozen=True)
class Health:
    """The app's answer: ``specVersion`` and ``workflowCoreVersion`` when it gave them (an app older than
    spec 3 answers plain text: healthy, no version)."""

    healthy: bool
    specVersion: int | None = None
    workflowCoreVersion: str | None = None
    hookResumeInputVersion: int | None = None
    seconds: float = 0.0

    def described(self) -> str:
        """The answer for a ``--debug`` line."""
        return (
            f"answered in {self.seconds:g}s: healthy={self.healthy}, specVersion={self.specVersion}, "
            f"workflowCoreVersion={self.workflowCoreVersion}"
        )


def correlation_id() -> str:
    return new_ulid()


def stream_name(correlation: str) -> str:
    return f"__health_check__{correlation}"


def message(correlation: str) -> dict[str, Any]:
    return {"__healthCheck": True, "correlationId": correlation}


def parse(data: bytes) -> Health | None:
    """The answer in a closed stream's bytes, as the SDK reads it; None when there is none to use."""
    if not data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        answer = json.loads(text)
    except ValueError:
        return Health(True)  # "Workflow SDK ... endpoint is healthy": an old app, no version
    if not isinstance(answer, dict) or not isinstance(answer.get("healthy"), bool):
        return None
    spec = answer.get("specVersion")
    core = answer.get("workflowCoreVersion")
    hook = answer.get("hookResumeInputVersion")
    return Health(
        answer["healthy"],
        spec if isinstance(spec, int) and not isinstance(spec, bool) else None,
        core if isinstance(core, str) else None,
        hook if isinstance(hook, int) and not isinstance(hook, bool) else None,
    )


def closed_stream(chunks: Iterable[tuple[bool, bytes] | None]) -> bytes | None:
    """The answer stream's bytes, ``chunks`` (eof flag, data) joined up to the EOF chunk; None while the stream
    is still open or a chunk cannot be read."""
    parts: list[bytes] = []
    for chunk in chunks:
        if chunk is None:
            return None
        eof, data = chunk
        if eof:
            return b"".join(parts)
        parts.append(data)
    return None


def wait_answer(read: Callable[[], bytes | None], deadline: float, started: float) -> Health | None:
    """Poll ``read`` (the stream's bytes once it is closed, else None) until it gives an answer or
    ``deadline`` (``time.monotonic()``) passes."""
    while True:
        data = read()
        if data is not None:
            answer = parse(data)
            if answer is not None:
                return Health(
                    answer.healthy,
                    answer.specVersion,
                    answer.workflowCoreVersion,
                    answer.hookResumeInputVersion,
                    round(time.monotonic() - started, 3),
                )
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(POLL, left))


def decide(newest_spec: int, answer: Health | None) -> tuple[int, bool]:
    """The new run's spec version and whether the app said it: the answer's when it is healthy and has one
    (``npx workflow start``'s rule), else the newest run's."""
    if answer is not None and answer.healthy and answer.specVersion is not None:
        return answer.specVersion, True
    return newest_spec, False


def app_context(template: Any, answer: Health) -> dict[str, Any]:
    """The newest run's execution context with the versions the app reported (its core, its hook-resume
    input version) in place of that run's."""
    context = dict(template) if isinstance(template, dict) else {}
    if answer.workflowCoreVersion is not None:
        context["workflowCoreVersion"] = answer.workflowCoreVersion
    if answer.hookResumeInputVersion is not None:
        context["hookResumeInputVersion"] = answer.hookResumeInputVersion
    return context


def why_not(answer: Health | None, why: str | None) -> str:
    """Why an answer (or its absence) does not decide the spec version."""
    if answer is None:
        return why or "no answer"
    return "it answered unhealthy" if not answer.healthy else "it answered without a spec version"


def fallback_warning(where: str, why: str, run_id: str, spec: int) -> str:
    return (
        f"the app {where} did not answer the Workflow SDK health check ({why}): the new run takes spec version "
        f"{spec} from the newest run of the workflow ({run_id})"
    )
