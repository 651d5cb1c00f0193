"""Building blocks of the terminal views, below :mod:`wfctl.render.views` and :mod:`wfctl.render.dashboard`:
the console, engine text as Rich ``Text`` (never parsed as markup, escaped by :func:`wfctl.output.clean`), a
status with its icon, the columns of a run list, and an event's one-line summary.

Imports only the bottom of the render layer (:mod:`~wfctl.render.styles`, :mod:`~wfctl.render.names`,
:mod:`~wfctl.render.layout`), never the views.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Sequence

from rich.console import Console
from rich.text import Text

from ..model import Event, Run, WaitingFor
from ..output import OutputOptions, clean, format_time, human_duration, now, to_json_text
from . import formats
from .layout import Column
from .names import workflow_label
from .styles import STATUS_ICON, STATUS_STYLE


def make_console(opts: OutputOptions, *, stderr: bool = False) -> Console:
    return Console(
        file=sys.stderr if stderr else sys.stdout,
        width=opts.width,
        force_terminal=opts.color or None,
        no_color=not opts.color,
        color_system="standard" if opts.color else None,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )


def t(value: Any, style: str = "") -> Text:
    """Untrusted text → a Text object (no markup parsing, controls escaped)."""
    if value is None:
        return Text("-", style="dim")
    return Text(clean(value), style=style)


def short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else to_json_text(value, spaced=True)
    text = clean(text)
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def status_text(status: str | None, raw: str | None = None, waiting: WaitingFor | None = None) -> Text:
    """A status with its icon; ``raw``: the engine's word after it when it differs (``get``); ``waiting``: what
    a waiting run waits for after it (``◑ waiting (sleep)``, the tables)."""
    status = status or "unknown"
    text = Text(f"{STATUS_ICON.get(status, '?')} {status}", style=STATUS_STYLE.get(status, ""))
    if waiting is not None and status == "waiting":
        text.append(f" ({clean(waiting.kind)})", style=STATUS_STYLE["waiting"])
    elif raw and not same_word(raw, status):
        text.append(f" ({clean(raw)})", style="dim")
    return text


def same_word(raw: str, status: str) -> bool:
    """Whether the engine's word says no more than the normalized status (``Completed``, ``IN-PROGRESS`` for
    ``in_progress``, ``Canceled`` for ``cancelled``): then it is not shown beside it."""

    def squash(word: str) -> str:
        return "".join(c for c in word.lower() if c.isalnum()).replace("cancelled", "canceled")

    return squash(raw) == squash(status)


def until_text(when: datetime | None, mode: str) -> Text:
    """When a sleep ends: with relative times ``in 53m``, or ``was due 3d ago`` once the time has passed (the
    run has not been woken yet); otherwise the time in ``mode``."""
    if when is None:
        return Text("-", style="dim")
    if mode == "relative":
        rel = format_time(when, "relative")
        return Text(rel if rel.startswith("in ") else f"was due {rel}", style="cyan")
    return Text(format_time(when, mode))


def waiting_summary(waiting: WaitingFor, mode: str) -> Text:
    """One line on what a run waits for: ``sleep until in 53m``, ``hook approval:doc1``, ``hook approval:doc1
    until in 1d``, ``input at Review`` (a ``--fields waitingFor`` cell)."""
    text = Text(clean(waiting.kind))
    if waiting.token is not None:
        text.append(" " + clean(waiting.token))
    if waiting.name is not None:
        text.append(" at " + clean(waiting.name))
    if waiting.until is not None:
        text.append(" until ")
        text.append_text(until_text(waiting.until, mode))
    return text


def whole_line(console: Console, line: Text) -> None:
    """Print ``line`` as one line however wide: neither cut nor wrapped by wfctl (a terminal wraps it)."""
    console.print(line, overflow="ignore", no_wrap=True, crop=False)


def clean_lines(text: str) -> list[str]:
    return [clean(line) for line in text.splitlines()] or [""]


def _word(raw: str | None) -> str | None:
    """The engine's status word when it is a plain word short enough for a list's status column (anything
    else is shown by ``get`` and ``status``, where it can give way)."""
    if raw and len(raw) <= 24 and raw[0].isalpha() and all(c.isascii() and (c.isalnum() or c in "_-") for c in raw):
        return raw
    return None


def run_columns(
    runs: Sequence[Run],
    opts: OutputOptions,
    *,
    duration: bool = False,
    changed: frozenset[str] | set[str] = frozenset(),
) -> list[Column]:
    """The columns of a run list (``list``, the dashboard's recent runs). The run id is essential; then the
    status (a waiting run's says on what: ``◑ waiting (sleep)``), the creation time and the workflow name join
    while they fit (the name shrinks first); then, when a run on the page waits until a time, UNTIL; the
    duration only when everything else fits whole."""
    columns = [
        Column("RUN ID", [t(r.runId, "reverse" if r.runId in changed else "") for r in runs], rank=0, fold=True),
        Column("WORKFLOW", [t(workflow_label(r)) for r in runs], flex=True, rank=3, min=8),
        # The engine's word beside the normalized one where it says more (Terminated, ContinuedAsNew, TimedOut).
        Column("STATUS", [status_text(r.status, _word(r.rawStatus), waiting=r.waitingFor) for r in runs], rank=1),
        Column(
            "CREATED",
            [Text(format_time(r.createdAt, opts.time), style="" if r.createdAt else "dim") for r in runs],
            rank=2,
        ),
    ]
    if any(r.waitingFor is not None and r.waitingFor.until is not None for r in runs):
        columns.append(
            Column(
                "UNTIL",
                [
                    until_text(r.waitingFor.until, opts.time)
                    if r.waitingFor is not None and r.waitingFor.until is not None
                    else Text("")
                    for r in runs
                ],
                rank=4,
            )
        )
    if duration:
        now_ = now()
        columns.append(
            Column(
                "DURATION",
                [Text(human_duration(r.duration(now_))) for r in runs],
                rank=5,
                optional=True,
                justify="right",
            )
        )
    return columns


# -- an event's summary -------------------------------------------------------------------------------------

# Keys that repeat what the line already shows (type badge, step name) or that only engines care about.
_NOISE = frozenset(
    {
        "stepName",
        "workflowName",
        "deploymentId",
        "executionContext",
        "specVersion",
        "eventType",
        "runId",
        "stepId",
        "correlationId",
    }
)
_RESULT_KEYS = ("result", "output", "returnValue", "value")
_INPUT_KEYS = ("input", "args", "payload", "metadata")


MESSAGE_KEYS = ("error", "failure", "message", "text", "summary", "reason", "cause")


def summarize(event: Event, limit: int | None = 1000) -> str:
    """A one-line summary of an event's data (or its engine format's own, :mod:`wfctl.render.formats`), escaped, at most
    ``limit`` characters (None: whole); a terminal line shortens it further to its width."""

    def cut(value: Any, n: int | None = limit) -> str:
        return (
            short(value, n)
            if n is not None
            else clean(value if isinstance(value, str) else to_json_text(value, spaced=True))
        )

    engine_format = formats.writer(event)
    if engine_format is not None:
        own = engine_format.describe(event.data)
        return cut(own.splitlines()[0] if own else "")
    data = event.data
    if data is None:
        return ""
    if isinstance(data, dict):
        for key in MESSAGE_KEYS:
            value = data.get(key)
            if isinstance(value, dict) and value.get("message"):
                value = value["message"]
            if isinstance(value, str) and value:
                return cut(value.splitlines()[0])
        if "resumeAt" in data and isinstance(data["resumeAt"], str):
            return cut("until " + data["resumeAt"])
        for key in _RESULT_KEYS:
            if key in data:
                return "→ " + cut(data[key])
        for key in _INPUT_KEYS:
            if key in data:
                return cut(data[key])
        rest = {k: v for k, v in data.items() if k not in _NOISE}
        if not rest:
            return ""
        return cut(
            " ".join(f"{k}={v if isinstance(v, str) else to_json_text(v, spaced=True)}" for k, v in rest.items())
        )
    return cut(data)
