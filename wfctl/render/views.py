"""Rich views for terminals (``-o table``). Engine text is always wrapped in
``Text`` objects (never parsed as markup) after :func:`wfctl.output.clean`.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, Sequence

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..model import Chunk, CancelOutcome, Counts, Event, Run, STATUSES
from ..output import OutputOptions, clean, format_time, human_duration, now, to_json_text

STATUS_STYLE = {
    "pending": "yellow",
    "running": "cyan",
    "waiting": "magenta",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "dim",
    "unknown": "white",
}
STATUS_ICON = {
    "pending": "○",
    "running": "◐",
    "waiting": "◑",
    "completed": "✓",
    "failed": "✗",
    "cancelled": "⊘",
    "unknown": "?",
}
OUTCOME_STYLE = {"cancelled": "green", "already_completed": "dim", "not_eligible": "yellow",
                 "not_found": "red", "error": "bold red", "refused": "magenta"}


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


def status_text(status: str | None, raw: str | None = None) -> Text:
    status = status or "unknown"
    text = Text(f"{STATUS_ICON.get(status, '?')} {status}", style=STATUS_STYLE.get(status, ""))
    if raw and raw.lower() != status:
        text.append(f" ({clean(raw)})", style="dim")
    return text


def short_name(name: str | None) -> str | None:
    from . import short_name as _short

    return _short(name)


class RichViews:
    def __init__(self, opts: OutputOptions):
        self.opts = opts
        self.console = make_console(opts)
        self._footer_live: Any = None
        self._started: dict[str, datetime] = {}
        self._fragment: list | None = None  # [(runId, type), first event of the line, text so far]

    def when(self, value: datetime | None) -> Text:
        return Text(format_time(value, self.opts.time), style="" if value else "dim")

    # -- lists -----------------------------------------------------------------
    def run_table(self, runs: Sequence[Run], fields: list[str] | None, *, header: bool = True) -> None:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, show_header=header, pad_edge=False, expand=False)
        if fields:
            for f in fields:
                table.add_column(f, overflow="ellipsis", no_wrap=True)
            for run in runs:
                doc = run.to_json()
                table.add_row(*[self._cell(f, getattr(run, f, None), doc.get(f)) for f in fields])
        else:
            # Run ids are what users copy: they keep their full width; DURATION goes first when narrow.
            narrow = self.console.width < 100
            table.add_column("RUN ID", no_wrap=True, overflow="ellipsis", max_width=36 if narrow else 64)
            table.add_column("WORKFLOW", overflow="ellipsis", no_wrap=True, max_width=14 if narrow else 40)
            table.add_column("STATUS", no_wrap=True, min_width=11)
            table.add_column("CREATED", no_wrap=True, min_width=9)
            if not narrow:
                table.add_column("DURATION", justify="right", no_wrap=True, min_width=8)
            for run in runs:
                cells = [t(run.runId), t(short_name(run.workflowName)), status_text(run.status),
                         self.when(run.createdAt)]
                if not narrow:
                    cells.append(Text(human_duration(run.duration(now()))))
                table.add_row(*cells)
        if not runs:
            sys.stderr.write("no runs\n")
            return
        self.console.print(table)

    def _cell(self, name: str, raw: Any, doc_value: Any) -> Text:
        if name == "status":
            return status_text(raw)
        if isinstance(raw, datetime):
            return self.when(raw)
        if isinstance(doc_value, (dict, list)):
            return Text(short(doc_value, 60))
        return t(doc_value)

    def status_table(self, runs: Sequence[Run], fields: list[str] | None) -> None:
        if fields:
            self.run_table(runs, fields)
            return
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=40)
        table.add_column(no_wrap=True, min_width=11)
        table.add_column(overflow="ellipsis", no_wrap=True)
        for run in runs:
            detail = Text()
            if run.error and run.error.message:
                detail = Text(short(run.error.message.splitlines()[0] if run.error.message else "", 80), style="red")
            elif run.completedAt:
                detail = Text("finished " + format_time(run.completedAt, self.opts.time), style="dim")
            table.add_row(t(run.runId), status_text(run.status, run.rawStatus), detail)
        self.console.print(table)

    def outcome_table(self, outcomes: Sequence[CancelOutcome]) -> None:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("RUN ID", no_wrap=True, overflow="ellipsis", max_width=40)
        table.add_column("OUTCOME", no_wrap=True, min_width=17)
        table.add_column("MESSAGE", overflow="ellipsis", no_wrap=True)
        for o in outcomes:
            table.add_row(t(o.runId), Text(o.outcome, style=OUTCOME_STYLE.get(o.outcome, "")), t(o.message or ""))
        self.console.print(table)

    # -- one run ---------------------------------------------------------------
    def run_detail(self, run: Run) -> None:
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold", no_wrap=True)
        head.add_column(overflow="fold")
        head.add_row("Run", t(run.runId))
        head.add_row("Workflow", t(short_name(run.workflowName)))
        if run.workflowName and short_name(run.workflowName) != run.workflowName:
            head.add_row("", t(run.workflowName, "dim"))
        if run.workflowId:
            head.add_row("Workflow ID", t(run.workflowId))
        head.add_row("Status", status_text(run.status, run.rawStatus))
        head.add_row("Created", self._abs(run.createdAt))
        if run.startedAt:
            head.add_row("Started", self._abs(run.startedAt))
        if run.completedAt:
            head.add_row("Completed", self._abs(run.completedAt))
        head.add_row("Duration", Text(human_duration(run.duration(now())) + ("" if run.terminal else " (so far)")))
        self.console.print(Panel(head, title=Text(f"{run.backend} run"), title_align="left",
                                 box=box.ROUNDED, expand=False))
        width = self.console.width
        if run.input is not None:
            self._block("Input", run.input, width)
        if run.output is not None:
            self._block("Output", run.output, width)
        if run.error is not None and (run.error.message or run.error.code):
            msg = Text("Error", style="bold red")
            self.console.print(msg)
            code = f"[{run.error.code}] " if run.error.code else ""
            lines = (code + (run.error.message or "")).splitlines() or [""]
            limit = len(lines) if self.opts.verbose else 5
            for line in lines[:limit]:
                self.console.print(Text("  " + clean(line), style="red"), overflow="ellipsis", no_wrap=True,
                                   crop=True)
            if run.error.stack and self.opts.verbose:
                for line in run.error.stack.splitlines():
                    self.console.print(Text("    " + clean(line), style="dim"), overflow="ellipsis", no_wrap=True,
                                       crop=True)
        if run.steps:
            self.console.print(Text("Steps", style="bold"))
            self.console.print(self._steps(run))
        if run.waits:
            self.console.print(Text("Sleeps", style="bold"))
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            table.add_column("CORRELATION ID", no_wrap=True, overflow="ellipsis", min_width=20)
            table.add_column("STATUS", no_wrap=True, min_width=9)
            table.add_column("RESUMES", no_wrap=True, overflow="ellipsis")
            for w in run.waits:
                when = Text(format_time(w.resumeAt, "iso"))
                if w.resumeAt is not None and w.status == "waiting":
                    rel = format_time(w.resumeAt, "relative")
                    when = Text(rel if rel.startswith("in ") else f"was due {rel}", style="cyan")
                    when.append(f"  ({format_time(w.resumeAt, 'iso')})", style="dim")
                table.add_row(t(w.correlationId), t(w.status), when)
            self.console.print(table)
        if run.hooks:
            self.console.print(Text("Hooks", style="bold"))
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            table.add_column("HOOK ID", no_wrap=True, overflow="ellipsis", max_width=32)
            table.add_column("TOKEN", overflow="ellipsis", no_wrap=True,
                             max_width=max(12, self.console.width - 50))
            table.add_column("CREATED", no_wrap=True, min_width=9)
            for h in run.hooks:
                table.add_row(t(h.hookId), t(h.token), self.when(h.createdAt))
            self.console.print(table)
        if run.streams:
            self.console.print(Text("Streams", style="bold"))
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            table.add_column("NAME", overflow="ellipsis", no_wrap=True)
            table.add_column("CHUNKS", justify="right")
            table.add_column("TAIL", justify="right")
            table.add_column("DONE")
            for s in run.streams:
                table.add_row(t(s.name), t(s.chunks), t(s.tailIndex), t("yes" if s.done else "no"))
            self.console.print(table)
        self._mapping("Attributes", run.attributes)
        self._mapping("Engine", run.extra)

    def _mapping(self, title: str, values: dict[str, Any] | None) -> None:
        """A titled block of key/value rows (nothing when there are none)."""
        if not values:
            return
        self.console.print(Text(title, style="bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in values.items():
            grid.add_row(t(key), Text(short(value, 200)))
        self.console.print(grid)

    def _abs(self, when: datetime | None) -> Text:
        if when is None:
            return Text("-", style="dim")
        text = Text(format_time(when, "iso" if self.opts.time == "relative" else self.opts.time))
        if self.opts.time == "relative":
            text.append(f"  ({format_time(when, 'relative')})", style="dim")
        return text

    def _block(self, title: str, value: Any, width: int) -> None:
        self.console.print(Text(title, style="bold"))
        text = value if isinstance(value, str) else to_json_text(value, indent=2)
        lines = clean_lines(text)
        limit = 40 if not self.opts.verbose else 10_000
        for line in lines[:limit]:
            self.console.print(Text("  " + line), overflow="ellipsis", no_wrap=True, crop=True)
        if len(lines) > limit:
            self.console.print(Text(f"  … {len(lines) - limit} more lines (-o json for all)", style="dim"))

    def _steps(self, run: Run) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("", no_wrap=True)
        table.add_column("STEP", overflow="ellipsis", no_wrap=True, max_width=36)
        table.add_column("ATT", justify="right", no_wrap=True)
        table.add_column("START", justify="right", no_wrap=True)
        table.add_column("DURATION", justify="right", no_wrap=True)
        table.add_column("TIMELINE", no_wrap=True, min_width=10)
        origin = run.startedAt or run.createdAt
        now_ = now()
        end_all = run.completedAt or now_
        span = max(0.001, (end_all - origin).total_seconds()) if origin else 0.001
        bar_width = max(10, min(30, self.console.width - 80))
        for step in run.steps:
            start = step.startedAt
            end = step.completedAt or (now_ if step.status == "running" else None)
            offset = (start - origin).total_seconds() if (start and origin) else None
            duration = (end - start).total_seconds() if (start and end) else None
            bar = Text()
            if offset is not None:
                left = int(bar_width * max(0.0, offset) / span)
                length = max(1, int(bar_width * (duration or 0) / span))
                left = min(left, bar_width - 1)
                length = min(length, bar_width - left)
                bar.append(" " * left)
                bar.append("█" * length, style=STATUS_STYLE.get(step.status or "unknown", ""))
            row_err = None
            if step.status == "failed" and step.error and step.error.message:
                row_err = step.error.message.splitlines()[0]
            name = t(short_name(step.stepName) or step.stepId)
            if row_err:
                name.append("  " + short(row_err, 60), style="red")
            table.add_row(Text(STATUS_ICON.get(step.status or "unknown", "?"),
                               style=STATUS_STYLE.get(step.status or "unknown", "")),
                          name, t(step.attempt),
                          Text("+" + human_duration(offset) if offset is not None else "-"),
                          Text(human_duration(duration) if duration is not None else "-"), bar)
        return table

    # -- tail -------------------------------------------------------------------
    def tail_line(self, item: Event | Chunk) -> None:
        fragment = getattr(item, "fragment", None)
        if isinstance(fragment, str) and not self.opts.verbose:
            self._merge_fragment(item, fragment)  # text deltas: merged into lines
            return
        self.flush_fragments()
        self._tail_line(item)

    def _merge_fragment(self, item: Event, text: str) -> None:
        key = (item.runId, item.type)
        if self._fragment is not None and self._fragment[0] != key:
            self.flush_fragments()
        if self._fragment is None:
            self._fragment = [key, item, ""]
        *lines, rest = (self._fragment[2] + text).split("\n")
        for line in lines:
            self._tail_line(self._fragment[1], line)
            self._fragment[1] = item
        self._fragment[2] = rest

    def flush_fragments(self) -> None:
        """Print a partly merged line of text deltas (before another event, and at the end)."""
        if self._fragment is not None and self._fragment[2]:
            self._tail_line(self._fragment[1], self._fragment[2])
        self._fragment = None

    def _tail_line(self, item: Event | Chunk, text: str | None = None) -> None:
        if isinstance(item, Chunk):
            value = item.data
            line = Text(f"[{item.index}] ", style="dim")
            line.append(clean(value) if isinstance(value, str) else short(value, 10_000))
            self._print_line(line)
            return
        line = Text()
        if item.time is None:
            stamp = "-"
        elif self.opts.time == "iso":
            stamp = format_time(item.time, "iso")
        else:
            local = item.time.astimezone()
            stamp = local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        line.append(stamp, style="dim")
        line.append("  ")
        kind = clean(item.type or "event")
        line.append(f" {kind} ".ljust(max(18, len(kind) + 2)), style=_badge(kind))
        label = short_name(item.stepName) if item.stepName else None
        if label:
            line.append(" " + clean(label), style="bold")
        elif item.correlationId:
            line.append(" " + clean(item.correlationId), style="dim")
        key = item.stepId or item.correlationId
        if key and item.time is not None:
            if _is_start(kind):
                self._started.setdefault(key, item.time)
            elif _is_end(kind) and key in self._started:
                took = (item.time - self._started.pop(key)).total_seconds()
                line.append(f" ({human_duration(took)})", style="cyan")
        summary = summarize(item) if text is None else short(text, 1000)
        if summary:
            style = "red" if ("fail" in kind or "error" in kind) else ("dim italic" if kind == "thinking" else "")
            line.append("  " + summary, style=style)
        self._print_line(line)
        if self.opts.verbose and item.data is not None:
            for data_line in clean_lines(to_json_text(item.data, indent=2)):
                self._print_line(Text("    " + data_line, style="dim"))

    def _print_line(self, line: Text) -> None:
        if self._footer_live is not None:
            self._footer_live.console.print(line, overflow="ellipsis", no_wrap=True, crop=True)
        else:
            self.console.print(line, overflow="ellipsis", no_wrap=True, crop=True)

    def footer(self, text: str | None) -> None:
        """A one-line live status footer on terminals (removed with ``None``)."""
        from rich.live import Live

        if text is None:
            if self._footer_live is not None:
                self._footer_live.update(Text(""))
                self._footer_live.stop()
                self._footer_live = None
            return
        if self._footer_live is None:
            self._footer_live = Live(Text(text, style="dim"), console=self.console, transient=True,
                                     auto_refresh=False)
            self._footer_live.start()
        self._footer_live.update(Text(text, style="dim"), refresh=True)

    # -- dashboard snapshot -----------------------------------------------------------
    def counts_snapshot(self, counts: Counts, recent: Sequence[Run]) -> None:
        from .dashboard import snapshot

        self.console.print(snapshot(counts, recent, self.opts, width=self.console.width))


def clean_lines(text: str) -> list[str]:
    return [clean(line) for line in text.splitlines()] or [""]


def _is_start(kind: str) -> bool:
    k = kind.lower()
    return k.endswith("started") or k.endswith("scheduled") or k in ("step_created", "running")


def _is_end(kind: str) -> bool:
    k = kind.lower()
    return any(k.endswith(s) for s in ("completed", "failed", "timedout", "canceled", "cancelled", "_end"))


def _badge(kind: str) -> str:
    if "fail" in kind or "error" in kind:
        return "bold red"
    if "cancel" in kind:
        return "yellow"
    if kind.endswith("completed") or kind.endswith("_end") or kind == "completed":
        return "green"
    if kind.startswith("wait") or "sleep" in kind:
        return "magenta"
    if kind.startswith("step") or "activity" in kind.lower():
        return "cyan"
    return "blue"


# Keys that repeat what the line already shows (type badge, step name) or that only engines care about.
_NOISE = frozenset({"stepName", "workflowName", "deploymentId", "executionContext", "specVersion", "eventType",
                    "runId", "stepId", "correlationId"})
_RESULT_KEYS = ("result", "output", "returnValue", "value")
_INPUT_KEYS = ("input", "args", "payload", "metadata")


def summarize(event: Event) -> str:
    """A short one-line summary of an event's data (or the backend's own, ``event.summary``)."""
    own = getattr(event, "summary", None)
    if isinstance(own, str):
        return short(own.splitlines()[0] if own else "", 120)
    data = event.data
    if data is None:
        return ""
    if isinstance(data, dict):
        for key in ("error", "failure", "message", "text", "summary", "reason", "cause"):
            value = data.get(key)
            if isinstance(value, dict) and value.get("message"):
                value = value["message"]
            if isinstance(value, str) and value:
                return short(value.splitlines()[0], 120)
        if "resumeAt" in data and isinstance(data["resumeAt"], str):
            return "until " + data["resumeAt"]
        for key in _RESULT_KEYS:
            if key in data:
                return "→ " + short(data[key], 118)
        for key in _INPUT_KEYS:
            if key in data:
                return short(data[key], 120)
        rest = {k: v for k, v in data.items() if k not in _NOISE}
        if not rest:
            return ""
        return short(" ".join(f"{k}={v if isinstance(v, str) else to_json_text(v, spaced=True)}"
                              for k, v in rest.items()), 120)
    return short(data, 120)
