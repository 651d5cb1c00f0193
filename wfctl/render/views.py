"""Rich views for terminals (``-o table``). Engine text is always wrapped in
``Text`` objects (never parsed as markup) after :func:`wfctl.output.clean`.
Tables are laid out by :mod:`wfctl.render.layout`: ids and times are never cut.

The top of the render layer with the dashboard: built from :mod:`~wfctl.render.primitives`,
:mod:`~wfctl.render.styles` and :mod:`~wfctl.render.names`; only :class:`wfctl.render.Renderer` imports it.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Callable, Sequence

from rich import box
from rich.cells import cell_len
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..model import CancelOutcome, Chunk, Counts, Event, Run, WaitingFor
from ..output import OutputOptions, clean, clock, format_time, human_duration, is_today, now, to_json_text
from ..times import parse_time
from .dashboard import snapshot
from .layout import Column
from .layout import table as layout_table
from .names import short_name, workflow_label
from .primitives import (
    MESSAGE_KEYS,
    clean_lines,
    make_console,
    run_columns,
    same_word,
    short,
    status_text,
    summarize,
    t,
    until_text,
    waiting_summary,
    whole_line,
)
from .styles import OUTCOME_STYLE, STATUS_ICON, STATUS_STYLE

#: ``--fields`` columns never shortened (ids and statuses; times and numbers are found by their values).
_WHOLE_FIELDS = frozenset({"runId", "status", "rawStatus", "stepId", "correlationId", "hookId"})

#: What a run's end time is called in ``get``, by how it ended.
END_LABEL = {"completed": "Completed", "failed": "Failed", "cancelled": "Cancelled"}


class RichViews:
    def __init__(self, opts: OutputOptions):
        self.opts = opts
        self.console = make_console(opts)
        self._footer_live: Any = None
        self._started: dict[str, datetime] = {}
        self._fragment: list | None = None  # [(runId, type), first event of the line, text so far]
        self._dated = False  # tail: once a line's day is not today, every line carries its date

    def when(self, value: datetime | None) -> Text:
        return Text(format_time(value, self.opts.time), style="" if value else "dim")

    # -- lists -----------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.console.width

    def run_table(self, runs: Sequence[Run], fields: list[str] | None, *, header: bool = True) -> None:
        if not runs:
            sys.stderr.write("no runs\n")
            return
        if fields:
            columns = []
            docs = [r.to_json() for r in runs]
            for i, f in enumerate(fields):
                cells = [self._cell(f, run, doc.get(f)) for run, doc in zip(runs, docs, strict=False)]
                flex = not (
                    f in _WHOLE_FIELDS
                    or f.endswith("At")
                    or all(isinstance(d.get(f), (int, float, bool, type(None))) for d in docs)
                )
                # The first field is essential; ids, statuses, times and numbers join before names and values.
                rank = 0 if i == 0 else (100 + i if flex else i)
                columns.append(Column(f, cells, flex=flex and i > 0, rank=rank, fold=i == 0))
        else:
            columns = run_columns(runs, self.opts, duration=True)
        self.console.print(layout_table(columns, self.width, show_header=header))

    def _cell(self, name: str, run: Run, doc_value: Any) -> Text:
        raw = getattr(run, name, None)
        if name == "status":
            return status_text(raw, waiting=run.waitingFor)
        if name == "waitingFor":
            return waiting_summary(raw, self.opts.time) if raw is not None else Text("-", style="dim")
        if isinstance(raw, datetime):
            return self.when(raw)
        if isinstance(doc_value, (dict, list)):
            return Text(short(doc_value, 500))  # a value in a cell gives way anyway (-o json shows it whole)
        return t(doc_value)

    def status_table(self, runs: Sequence[Run], fields: list[str] | None) -> None:
        if fields:
            self.run_table(runs, fields)
            return
        details: list[Text] = []
        times = set()
        for i, run in enumerate(runs):
            waiting = run.waitingFor if run.status == "waiting" else None
            if waiting is not None and (waiting.until is not None or waiting.token is not None):
                # until a time, or on a hook token: an id and a time are shown whole or not at all
                detail = Text("until ", style="dim") if waiting.until is not None else Text("token ", style="dim")
                detail.append_text(
                    until_text(waiting.until, self.opts.time) if waiting.until is not None else t(waiting.token)
                )
                times.add(i)
            elif run.error and run.error.message:
                detail = Text(clean(run.error.message.splitlines()[0]), style="red")
            elif run.completedAt:
                detail = Text("finished " + format_time(run.completedAt, self.opts.time), style="dim")
                times.add(i)  # a time: whole, or not at all
            else:
                detail = Text()
            details.append(detail)
        # The engine's own word for the status is engine text: it gives way like a message. A waiting run's
        # status already says on what it waits (``◑ waiting (sleep)``), in place of the engine's word.
        raws = [
            Text(f"({clean(r.rawStatus)})", style="dim")
            if r.rawStatus and not same_word(r.rawStatus, r.status) and not (r.status == "waiting" and r.waitingFor)
            else Text()
            for r in runs
        ]
        columns = [
            Column("RUN ID", [t(r.runId) for r in runs], rank=0, fold=True),
            Column("STATUS", [status_text(r.status, waiting=r.waitingFor) for r in runs], rank=0),
            Column("RAW", raws, flex=True, rank=2, min=8),
            Column("DETAIL", details, flex=True, rank=1, min=10, whole=frozenset(times)),
        ]
        if not any(raw.plain for raw in raws):
            del columns[2]
        self.console.print(layout_table(columns, self.width, headed=False, show_header=False))

    def outcome_table(self, outcomes: Sequence[CancelOutcome]) -> None:
        columns = [
            Column("RUN ID", [t(o.runId) for o in outcomes], rank=0, fold=True),
            Column("OUTCOME", [Text(o.outcome, style=OUTCOME_STYLE.get(o.outcome, "")) for o in outcomes], rank=0),
            Column("MESSAGE", [t(o.message or "") for o in outcomes], flex=True, rank=1, min=10),
        ]
        self.console.print(layout_table(columns, self.width))

    # -- one run ---------------------------------------------------------------
    def run_detail(self, run: Run) -> None:
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold", no_wrap=True)
        head.add_column(overflow="fold")
        head.add_row("Run", t(run.runId))
        label = workflow_label(run)
        head.add_row("Workflow", t(label))
        if run.workflowName and run.workflowName not in (label, run.workflowId):
            head.add_row("", t(run.workflowName, "dim"))
        if run.workflowId:
            head.add_row("Workflow ID", t(run.workflowId))
        head.add_row("Status", status_text(run.status, run.rawStatus))
        for warning in run.warnings:
            head.add_row(Text("Warning", style="bold yellow"), Text(clean(warning), style="yellow"))
        if run.waitingFor is not None:
            head.add_row("Waiting", self._waiting(run.waitingFor))
            if run.waitingFor.hint:
                head.add_row("Resume", t(run.waitingFor.hint))
        head.add_row("Created", self._abs(run.createdAt))
        if run.startedAt:
            head.add_row("Started", self._abs(run.startedAt))
        if run.completedAt:
            # A cancelled run did not complete: its end time is named by how it ended.
            head.add_row(END_LABEL.get(run.status, "Ended"), self._abs(run.completedAt))
        head.add_row("Duration", Text(human_duration(run.duration(now())) + ("" if run.terminal else " (so far)")))
        self.console.print(
            Panel(head, title=Text(f"{run.backend} run"), title_align="left", box=box.ROUNDED, expand=False)
        )
        width = self.console.width
        if run.input is not None:
            self._block("Input", run.input, width)
        if run.output is not None:
            self._block("Output", run.output, width)
        if run.error is not None and (run.error.message or run.error.code):
            self._error(run)
        if run.steps:
            self.console.print(Text("Steps", style="bold"))
            self.console.print(self._steps(run))
        if run.waits:
            self.console.print(Text("Sleeps", style="bold"))
            self.console.print(self._sleeps(run))
        if run.hooks:
            self.console.print(Text("Hooks", style="bold"))
            columns = [
                Column("HOOK ID", [t(h.hookId) for h in run.hooks], rank=0, fold=True),
                # A token is what `resume --hook` takes: an id, never cut.
                Column("TOKEN", [t(h.token) for h in run.hooks], rank=0, fold=True),
                Column("CREATED", [self.when(h.createdAt) for h in run.hooks], rank=1),
            ]
            self.console.print(layout_table(columns, self.width))
        if run.streams:
            self.console.print(Text("Streams", style="bold"))
            self.console.print(self._streams(run))
        self._mapping("Attributes", run.attributes)
        self._mapping("Engine", run.extra)

    def _waiting(self, waiting: WaitingFor) -> Text:
        """``sleep until 2026-11-22T07:45:21.823Z  (in 53m)``, ``hook token approval:doc1``, ``hook token
        approval:doc1, at most until …``, ``input at Review``."""
        text = Text(clean(waiting.kind), style=STATUS_STYLE["waiting"])
        if waiting.token is not None:
            text.append(" token ")
            text.append_text(t(waiting.token))
        if waiting.name is not None:
            text.append(" at ")
            text.append_text(t(waiting.name))
        if waiting.until is not None:
            text.append(", at most until " if waiting.kind != "sleep" else " until ")
            if self.opts.time == "relative":
                text.append(format_time(waiting.until, "iso"))
                text.append("  (")
                text.append_text(until_text(waiting.until, "relative"))
                text.append(")")
            else:
                text.append(format_time(waiting.until, self.opts.time))
        return text

    def _error(self, run: Run) -> None:
        """The run's error: its first lines, or with ``-v`` all of it and the stack trace, whole."""
        assert run.error is not None
        verbose = self.opts.verbose
        self.console.print(Text("Error", style="bold red"))
        code = f"[{run.error.code}] " if run.error.code else ""
        lines = (code + (run.error.message or "")).splitlines() or [""]
        limit = len(lines) if verbose else 5
        for line in lines[:limit]:
            self._detail_line(Text("  " + clean(line), style="red"))
        if len(lines) > limit:
            self.console.print(Text(f"  … {len(lines) - limit} more lines (-v for all)", style="dim"))
        if run.error.stack:
            if verbose:
                for line in run.error.stack.splitlines():
                    self._detail_line(Text("    " + clean(line), style="dim"))
            else:
                self.console.print(Text("  (-v shows the stack trace)", style="dim"))

    def _detail_line(self, line: Text) -> None:
        """One line of a block: cut at the terminal's edge, or with ``-v`` printed whole (the terminal wraps
        it, and a path in a stack trace stays one line to copy)."""
        if self.opts.verbose:
            whole_line(self.console, line)
        else:
            self.console.print(line, overflow="ellipsis", no_wrap=True, crop=True)

    def _sleeps(self, run: Run) -> Any:
        relative = self.opts.time == "relative"
        resumes: list[Text] = []
        for w in run.waits:
            if w.resumeAt is None:
                resumes.append(Text("-", style="dim"))
            elif relative and w.status == "waiting":
                resumes.append(until_text(w.resumeAt, "relative"))
            else:
                resumes.append(Text(format_time(w.resumeAt, self.opts.time)))
        columns = [
            Column("CORRELATION ID", [t(w.correlationId) for w in run.waits], rank=0, fold=True),
            Column("STATUS", [t(w.status) for w in run.waits], rank=1),
            Column("RESUMES", resumes, rank=2),
        ]
        if relative:
            columns.append(
                Column(
                    "AT", [Text(format_time(w.resumeAt, "iso"), style="dim") for w in run.waits], rank=3, optional=True
                )
            )
        return layout_table(columns, self.width)

    def _streams(self, run: Run) -> Any:
        # What `tail --stream=NAME` takes: the namespace; the one stream without a namespace is the default
        # one (a bare --stream). Should several lack a namespace, their full names are what --stream takes.
        unnamed = [s for s in run.streams if s.namespace is None]
        names = []
        for s in run.streams:
            if s.namespace is not None:
                names.append(t(s.namespace))
            elif len(unnamed) == 1:
                names.append(Text("(default)", style="dim"))
            else:
                names.append(t(s.name))
        columns = [
            Column("STREAM", names, rank=0, fold=True),
            Column("CHUNKS", [t(s.chunks) for s in run.streams], rank=1, justify="right"),
            Column("TAIL", [t(s.tailIndex) for s in run.streams], rank=2, justify="right"),
            Column("DONE", [t("yes" if s.done else "no") for s in run.streams], rank=3),
            Column("NAME", [t(s.name, "dim") for s in run.streams], rank=4),
        ]
        return layout_table(columns, self.width)

    def _mapping(self, title: str, values: dict[str, Any] | None) -> None:
        """A titled block of key/value rows (nothing when there are none)."""
        if not values:
            return
        self.console.print(Text(title, style="bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in values.items():
            text = value if isinstance(value, str) else to_json_text(value, spaced=True)
            grid.add_row(t(key), Text(clean(text) if self.opts.verbose else short(text, 200)))
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
            self._detail_line(Text("  " + line))
        if len(lines) > limit:
            self.console.print(Text(f"  … {len(lines) - limit} more lines (-o json for all)", style="dim"))

    def _steps(self, run: Run) -> Any:
        origin = run.startedAt or run.createdAt
        now_ = now()
        end_all = run.completedAt or now_
        span = max(0.001, (end_all - origin).total_seconds()) if origin else 0.001
        bar_width = max(10, min(30, self.width - 80))
        icons, names, attempts, starts, durations, bars = [], [], [], [], [], []
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
            name = t(short_name(step.stepName) or step.stepId)
            if step.status == "failed" and step.error and step.error.message:
                name.append("  " + clean(step.error.message.splitlines()[0]), style="red")
            elif step.status in ("pending", "running") and step.error and step.error.message:
                # retrying: when the next attempt is due, and the last attempt's failure (cut first)
                name.append("  retrying", style="yellow")
                if step.nextAttemptAt is not None:
                    name.append(" (next ", style="dim")
                    name.append_text(self._next_attempt(step.nextAttemptAt))
                    name.append(")", style="dim")
                name.append(": " + clean(step.error.message.splitlines()[0]), style="yellow")
            icons.append(
                Text(
                    STATUS_ICON.get(step.status or "unknown", "?"), style=STATUS_STYLE.get(step.status or "unknown", "")
                )
            )
            names.append(name)
            attempts.append(
                t(f"{step.attempt}/{step.maxAttempts}" if step.attempt and step.maxAttempts else step.attempt)
            )
            starts.append(Text("+" + human_duration(offset) if offset is not None else "-"))
            durations.append(Text(human_duration(duration) if duration is not None else "-"))
            bars.append(bar)
        columns = [
            Column("", icons, rank=0),
            Column("STEP", names, flex=True, rank=0, min=12),
            Column("ATT", attempts, rank=4, justify="right"),
            Column("START", starts, rank=3, justify="right"),
            Column("DURATION", durations, rank=2, justify="right"),
            Column("TIMELINE", bars, rank=5),
        ]
        return layout_table(columns, self.width)

    def _next_attempt(self, when: datetime) -> Text:
        """When a retrying step's next attempt is due: ``in 3s`` (or ``due 2s ago``), else the time."""
        if self.opts.time == "relative":
            rel = format_time(when, "relative")
            return Text(rel if rel.startswith("in ") else f"due {rel}", style="cyan")
        return Text(format_time(when, self.opts.time), style="cyan")

    # -- tail -------------------------------------------------------------------
    def tail_line(self, item: Event | Chunk) -> None:
        fragment = getattr(item, "fragment", None)
        if isinstance(fragment, str) and isinstance(item, Event) and not self.opts.verbose:
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

    def stamp(self, when: datetime | None) -> str:
        """A tail line's time: ``--time iso`` RFC 3339, ``local`` the local date and time, by default the
        local time of day — with the date once any line's day is not today."""
        if when is None:
            return "-"
        if not self._dated and self.opts.time == "relative" and not is_today(when):
            self._dated = True
        return clock(when, self.opts.time, dated=self._dated)

    def _tail_line(self, item: Event | Chunk, text: str | None = None) -> None:
        if isinstance(item, Chunk):
            value = item.data
            line = Text(f"[{item.index}] ", style="dim")
            line.append(clean(value) if isinstance(value, str) else clean(to_json_text(value, spaced=True)))
            self._print_line(line, cut=not self.opts.verbose)
            return
        line = Text()
        line.append(self.stamp(item.time), style="dim")
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
        # The line so far (time, type, step name or id) is never cut; the summary after it gives way —
        # except a time ("until …"), which is shown whole or not at all.
        if text is None:
            summary, whole = self._summary(item)
        else:
            summary, whole = clean(text), False
        if summary:
            style = "red" if ("fail" in kind or "error" in kind) else ("dim italic" if kind == "thinking" else "")
            room = self.width - line.cell_len - 2
            if self.opts.verbose:
                line.append("  " + summary, style=style)
            elif whole:
                if cell_len(summary) <= room:
                    line.append("  " + summary, style=style)
            elif room >= min(8, cell_len(summary)):
                part = Text(summary, style=style)
                part.truncate(room, overflow="ellipsis")
                line.append("  ")
                line.append_text(part)
        self._print_line(line, cut=False)
        if self.opts.verbose and item.data is not None:
            for data_line in clean_lines(to_json_text(item.data, indent=2)):
                self._print_line(Text("    " + data_line, style="dim"), cut=False)

    def _summary(self, item: Event) -> tuple[str, bool]:
        """The event's one-line summary, and whether it is a time (then never cut)."""
        data = item.data
        if (
            getattr(item, "summary", None) is None
            and isinstance(data, dict)
            and isinstance(data.get("resumeAt"), str)
            and not any(isinstance(data.get(k), (str, dict)) for k in MESSAGE_KEYS)
        ):
            when = parse_time(data["resumeAt"])
            if when is not None:  # in the lines' format; dated when not today (without dating later lines)
                return "until " + clock(when, self.opts.time, dated=self._dated or not is_today(when)), True
        return summarize(item, limit=None if self.opts.verbose else 1000), False

    def _print_line(self, line: Text, *, cut: bool) -> None:
        """A tail line. ``cut``: shortened at the terminal's edge (a stream chunk's data); otherwise printed
        whole (its summary was already fitted; a time, type or id wider than the terminal is not cut, the
        terminal wraps the line)."""
        console = self._footer_live.console if self._footer_live is not None else self.console
        if cut:
            console.print(line, overflow="ellipsis", no_wrap=True, crop=True)
        else:
            whole_line(console, line)

    def footer(self, text: "str | Callable[[], str] | None") -> None:
        """A one-line live status footer on terminals (removed with ``None``). Given a function instead of a
        text, the footer asks it again every second, so a footer that shows elapsed time keeps time while
        nothing else happens (a tail waiting for events)."""
        from rich.live import Live

        if text is None:
            if self._footer_live is not None:
                self._footer_live.update(Text(""))
                self._footer_live.stop()
                self._footer_live = None
            return
        content: Any = _Ticking(text) if callable(text) else Text(text, style="dim")
        if self._footer_live is None:
            self._footer_live = Live(
                content,
                console=self.console,
                transient=True,
                auto_refresh=callable(text),
                refresh_per_second=1,
            )
            self._footer_live.start()
        self._footer_live.update(content, refresh=True)

    # -- dashboard snapshot -----------------------------------------------------------
    def counts_snapshot(self, counts: Counts, recent: Sequence[Run], failures: Sequence[Run] | None = None) -> None:
        self.console.print(snapshot(counts, recent, self.opts, width=self.console.width, latest_failures=failures))


class _Ticking:
    """A footer whose text is made when it is drawn (Rich's refresh thread draws it every second)."""

    def __init__(self, make: "Callable[[], str]") -> None:
        self.make = make

    def __rich__(self) -> Text:
        return Text(clean(self.make()), style="dim")


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
