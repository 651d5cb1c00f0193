"""Renderers: turn model objects into output; they own the terminal. Only this package imports Rich.

:class:`Renderer` handles ``plain``, ``json``, ``jsonl`` and ``id`` itself (no Rich import) and hands
``table`` to :mod:`wfctl.render.views`, imported on first use. The package is layered, each module importing
only the ones below it:

* bottom, no Rich: :mod:`~wfctl.render.styles` (status styles and icons), :mod:`~wfctl.render.names`
  (workflow and step names as shown);
* primitives: :mod:`~wfctl.render.layout` (column layout), :mod:`~wfctl.render.primitives` (console, text,
  status cells, run-list columns, event summaries), :mod:`~wfctl.render.progress` (the wait spinner);
* views: :mod:`~wfctl.render.dashboard`, then :mod:`~wfctl.render.views` and :mod:`~wfctl.render.live`;
* this module, the :class:`Renderer`, on top (it imports the Rich modules lazily).

:mod:`~wfctl.render.flue` (Flue's ``-o jsonl`` lines and one-line summaries, no Rich) imports no other render
module; the tail printer and the event summaries reach it through :mod:`~wfctl.render.formats`, by the event
class's ``render_as``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from .. import output
from ..interrupts import critical
from ..model import (
    CancelOutcome,
    Chunk,
    Counts,
    Event,
    EventBatch,
    RerunOutcome,
    ResumeOutcome,
    Run,
    RunPage,
    WakeResult,
)
from ..output import OutputOptions, check_fields, select
from . import formats
from .names import workflow_label

if TYPE_CHECKING:
    from pathlib import Path

    from ..backends.base import Backend
    from ..model import Check
    from .progress import Spinner

RUN_FIELDS = Run.field_names()
EVENT_FIELDS = Event.field_names()
OUTCOME_FIELDS = CancelOutcome.field_names()
RERUN_FIELDS = RerunOutcome.field_names()
RESUME_FIELDS = ResumeOutcome.field_names()
STATUS_FIELDS = [
    "runId",
    "status",
    "rawStatus",
    "waitingFor",
    "workflowName",
    "createdAt",
    "startedAt",
    "completedAt",
    "updatedAt",
    "error",
]
PLAIN_RUN_COLUMNS = ["runId", "workflowName", "status", "createdAt", "startedAt", "completedAt"]


class Renderer:
    def __init__(self, opts: OutputOptions):
        self.opts = opts
        self._views: Any = None

    @property
    def fmt(self) -> str:
        return self.opts.format

    @property
    def views(self) -> Any:
        if self._views is None:
            from .views import RichViews

            self._views = RichViews(self.opts)
        return self._views

    # -- runs --------------------------------------------------------------------
    def run_list(self, page: RunPage, *, first_page: bool = True, last_page: bool = True) -> None:
        fields = self.opts.fields
        check_fields(fields, RUN_FIELDS)
        if self.fmt == "json":
            # One document; with --all the command collects pages before calling this.
            doc = {
                "data": [select(r.to_json(), fields) for r in page.data],
                "cursor": page.cursor,
                "hasMore": page.hasMore,
            }
            output.write_json(doc)
        elif self.fmt == "jsonl":
            for run in page.data:
                output.write_jsonl(select(run.to_json(), fields))
        elif self.fmt == "id":
            for run in page.data:
                output.write(output.clean(run.runId))
        elif self.fmt == "plain":
            cols = fields or PLAIN_RUN_COLUMNS
            output.write_tsv(_plain_row([_plain_value(r, c) for c in cols], r, fields) for r in page.data)
        else:
            self.views.run_table(page.data, fields, header=first_page)

    def run_detail(self, run: Run) -> None:
        fields = self.opts.fields
        check_fields(fields, RUN_FIELDS)
        if self.fmt in ("json", "jsonl"):
            doc = select(run.to_json(), fields)
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
        elif self.fmt == "id":
            output.write(output.clean(run.runId))
        elif self.fmt == "plain" or fields:
            doc = run.to_json()
            for key in fields or RUN_FIELDS:
                value = doc.get(key)
                if fields and len(fields) == 1:
                    output.write(output.plain_cell(value))
                else:
                    output.write_tsv([[key, value]])
        else:
            self.views.run_detail(run)

    def statuses(self, runs: Sequence[Run], *, array: bool = False) -> None:
        """One status per run. ``-o json`` writes one object for one run, else an array (always an array with
        ``array``: several runs were asked for, whatever number were found)."""
        fields = self.opts.fields
        check_fields(fields, STATUS_FIELDS)
        docs = [select({k: r.to_json()[k] for k in STATUS_FIELDS}, fields) for r in runs]
        if self.fmt == "json":
            output.write_json(docs[0] if len(docs) == 1 and not array else docs)
        elif self.fmt == "jsonl":
            for doc in docs:
                output.write_jsonl(doc)
        elif self.fmt == "id":
            for run in runs:
                output.write(output.clean(run.runId))
        elif self.fmt == "plain":
            cols = fields or ["runId", "status"]
            output.write_tsv(_plain_row([r.to_json().get(c) for c in cols], r, fields) for r in runs)
        else:
            self.views.status_table(runs, fields)

    def preview(self, runs: Sequence[Run], title: str) -> None:
        """What a bulk operation matched — on stderr, so stdout stays the outcome data."""
        import sys

        output.note(title)
        for run in runs:
            sys.stderr.write(
                "  "
                + "\t".join(output.plain_cell(v) for v in (run.runId, workflow_label(run), run.status, run.createdAt))
                + "\n"
            )

    def _per_run(
        self, outcomes: Sequence[Any], allowed: Sequence[str], ids: Iterable[str], cols: list[str], *, tsv: bool
    ) -> bool:
        """The machine formats of per-run outcomes (bulk cancel, rerun): ``-o json`` an array, ``-o jsonl`` one
        object a line, ``-o id`` the ``ids``, plain (and any format where ``tsv``) the ``cols`` (or --fields) as
        TSV. False when the terminal view is the caller's to write."""
        fields = self.opts.fields
        check_fields(fields, allowed)
        if self.fmt in ("json", "jsonl"):
            docs = [select(o.to_json(), fields) for o in outcomes]
            if self.fmt == "json":
                output.write_json(docs)
            else:
                for doc in docs:
                    output.write_jsonl(doc)
        elif self.fmt == "id":
            for run_id in ids:
                output.write(output.clean(run_id))
        elif self.fmt == "plain" or tsv:
            output.write_tsv([o.to_json().get(c) for c in fields or cols] for o in outcomes)
        else:
            return False
        return True

    def outcomes(self, outcomes: Sequence[CancelOutcome]) -> None:
        cancelled = (o.runId for o in outcomes if o.outcome == "cancelled")
        if not self._per_run(outcomes, OUTCOME_FIELDS, cancelled, ["runId", "outcome", "message"], tsv=False):
            self.views.outcome_table(outcomes)

    def rerun_outcomes(self, outcomes: Sequence[RerunOutcome]) -> None:
        """``rerun``: one line per source run with the new run's id (``-o id``: the new ids only; ``-o json`` an
        array, ``-o jsonl`` one object a line)."""
        started = (o.runId for o in outcomes if o.runId and o.outcome == "started")
        cols = ["sourceRunId", "runId", "outcome", "message"]
        if not self._per_run(outcomes, RERUN_FIELDS, started, cols, tsv=bool(self.opts.fields)):
            width = max((len(o.sourceRunId) for o in outcomes), default=0)
            for o in outcomes:
                new = output.clean(o.runId) if o.runId else "-"
                line = f"{output.clean(o.sourceRunId):<{width}}  →  {new}  {output.clean(o.outcome)}"
                output.write(line + (f"  {output.clean(o.message)}" if o.message else ""))

    def resume(self, outcome: ResumeOutcome) -> None:
        """``resume``: ``{"runId", "hook", "outcome", ...}``."""
        fields = self.opts.fields
        check_fields(fields, RESUME_FIELDS)
        doc = select(outcome.to_json(), fields)
        if self.fmt in ("json", "jsonl"):
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
        elif self.fmt == "id":
            output.write(output.clean(outcome.runId))
        elif self.fmt == "plain" or fields:
            cols = fields or ["runId", "hook", "outcome"]
            output.write_tsv([[outcome.to_json().get(c) for c in cols]])
        else:
            verb = "would resume" if outcome.outcome == "would_resume" else "resumed"
            what = f"{outcome.kind} {output.to_json_text(outcome.hook)}" if outcome.hook is not None else outcome.kind
            output.write(f"{verb} {output.clean(outcome.runId)}: {what}")

    def run_ids(self, run_ids: Iterable[str]) -> None:
        """Run ids, one a line, whatever the format (``cancel --dry-run -o id``: the runs it would cancel)."""
        for run_id in run_ids:
            output.write(output.clean(run_id))

    def wake(self, result: WakeResult, *, dry_run: bool, waits: Sequence[Any] = ()) -> None:
        doc = result.to_json()
        if self.fmt in ("json", "jsonl"):
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
        elif self.fmt == "id":
            for cid in result.correlationIds:
                output.write(output.clean(cid))
        elif self.fmt == "plain":
            output.write_tsv([[result.runId, result.stoppedCount, ",".join(result.correlationIds)]])
        else:
            verb = "would stop" if dry_run else "stopped"
            noun = "sleep" if result.stoppedCount == 1 else "sleeps"
            output.write(
                f"{verb} {result.stoppedCount} {noun} of {output.clean(result.runId)}"
                + (f": {', '.join(map(output.clean, result.correlationIds))}" if result.correlationIds else "")
            )

    def spinner(self) -> "Spinner":
        """A spinner with the elapsed time on stderr while runs are awaited (the caller decides that stderr is a
        terminal); ``stop()`` removes it."""
        from .progress import Spinner

        return Spinner(self.opts)

    # -- tail --------------------------------------------------------------------
    def tail_printer(self, run_id: str, *, stream: bool = False) -> "TailPrinter":
        return TailPrinter(self, run_id, stream=stream)

    # -- dashboard -----------------------------------------------------------------
    def counts(self, counts: Counts, recent: Sequence[Run] = (), failures: Sequence[Run] | None = None) -> None:
        """The dashboard's snapshot: counts, recent runs and (their own query) the latest failures."""
        if self.fmt in ("json", "jsonl"):
            doc = {
                "counts": counts.counts,
                "total": counts.total,
                "workflow": counts.workflow,
                "capped": counts.capped,
                "apart": counts.apart,
                "recent": [r.to_json() for r in recent],
                "failures": [r.to_json() for r in (failures or [])],
            }
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
        elif self.fmt in ("plain", "id"):

            def plus(status):
                return "+" if (status in counts.capped or (status == "total" and counts.capped)) else ""

            output.write_tsv(
                [[status, f"{n}{plus(status)}"] for status, n in counts.counts.items()]
                + [["total", f"{counts.total}{plus('total')}"]]
                + [[word, str(n)] for word, n in counts.apart.items()]
            )
        else:
            self.views.counts_snapshot(counts, recent, failures)

    def live_dashboard(
        self, backend: "Backend", profile: Any, *, workflow: str | None, interval: float, recent: int, lines: bool
    ) -> None:
        """The dashboard until the user quits: full screen on a terminal, else (``lines``) one line per status
        change."""
        from .live import run_dashboard

        run_dashboard(backend, profile, self.opts, workflow=workflow, interval=interval, recent=recent, lines=lines)

    # -- configuration ---------------------------------------------------------------
    def config_view(
        self, rows: Sequence[tuple[str, Any, str]], *, sources: bool, notes: Mapping[str, str] | None = None
    ) -> None:
        """The resolved profile's key/value rows (``config view``); ``sources``: where each value came from;
        ``notes``: a comment after the keys whose purpose is easy to mistake (tables only)."""
        notes = notes or {}
        if self.fmt in ("json", "jsonl"):
            doc = {k: ({"value": v, "source": s} if sources else v) for k, v, s in rows}
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
            return
        for key, value, source in rows:
            if self.fmt == "table":
                cells = [f"{key:<12}", output.plain_cell(value if value is not None else "-")]
                if sources:
                    cells.append(f"({source})")
                if key in notes:
                    cells.append(f"# {notes[key]}")
                output.write("  ".join(cells).rstrip())
            else:
                output.write("\t".join(output.plain_cell(c) for c in [key, value] + ([source] if sources else [])))

    def profiles(self, current: Any, tables: Mapping[str, Mapping[str, Any]]) -> None:
        """The profiles of the configuration file, the current one marked with ``*`` (``config profiles``).
        Secrets are the caller's to redact."""
        if self.fmt in ("json", "jsonl"):
            output.write_json({"current": current, "profiles": {n: dict(t) for n, t in tables.items()}})
            return
        for name, table in tables.items():
            mark = "*" if name == current else " "
            where = table.get("url") or table.get("data_dir") or ""
            backend = table.get("backend", "workflow-sdk")
            output.write(f"{mark} {output.clean(name)}\t{output.clean(backend)}\t{output.clean(where)}".rstrip())

    def path(self, path: "Path | str") -> None:
        """A file's path, as a line of text whatever the format (``config path``)."""
        output.write(str(path))

    def checks(self, checks: Sequence["Check"]) -> None:
        """``config doctor``'s checks: one line each, or a JSON array with ``-o json`` and ``-o jsonl``."""
        if self.fmt in ("json", "jsonl"):
            output.write_json([c.to_json() for c in checks])
            return
        for c in checks:
            output.write(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<10} {output.clean(c.detail)}")


def _plain_row(cells: list[Any], run: Run, fields: list[str] | None) -> list[Any]:
    """A plain row. Without ``--fields``, a waiting run's row ends with one more cell, what it waits for as
    compact JSON (README, "Output"); other rows keep their columns."""
    if run.waitingFor is not None and not fields:
        cells.append(run.waitingFor.to_json())
    return cells


def _plain_value(run: Run, column: str) -> Any:
    if column == "workflowName":
        return run.workflowName
    value: Any = getattr(run, column, None)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list):
        return [v.to_json() if hasattr(v, "to_json") else v for v in value]
    return value


class TailPrinter:
    """Prints tail items as they arrive and the final line; remembers the last offset."""

    def __init__(self, renderer: Renderer, run_id: str, *, stream: bool):
        self.r = renderer
        self.run_id = run_id
        self.stream = stream
        self.offset: str | None = None
        self.count = 0
        self.collected: list[dict[str, Any]] = []
        self._line: Any = None
        check_fields(renderer.opts.fields, ["index", "data", "offset"] if stream else EVENT_FIELDS)
        # ``-o jsonl`` without --fields: events of an engine format whose writer writes lines in bulk
        # (wfctl.render.formats) are held until the end of their batch and written at once
        self._bulk = renderer.fmt == "jsonl" and not renderer.opts.fields
        self._bulk_cls: Any = None
        self._bulk_writer: Any = None
        self._pending: list[Any] = []

    @property
    def batches(self) -> bool:
        """Whether :meth:`item` takes :class:`~wfctl.model.EventBatch` blocks as they are (``-o jsonl``)."""
        return self._bulk

    def item(self, item: Event | Chunk | EventBatch) -> None:
        if isinstance(item, EventBatch):
            if not self._bulk:
                for event in item.events():
                    self.item(event)
                return
            self._write_pending(False)
            if len(item):
                out = output.out()
                with critical:  # the line and its offset together (see wfctl.interrupts)
                    out.write(formats.batch_lines(item))
                    self.offset = item.last_offset
                self.count += len(item)
                out.flush()
            return
        if self._bulk:
            cls = item.__class__
            if cls is self._bulk_cls or (self._bulk_cls is None and formats.writer(cls) is not None):
                if self._bulk_cls is None:
                    self._bulk_cls, self._bulk_writer = cls, formats.writer(cls)
                pending = self._pending
                pending.append(item)
                self.count += 1
                batch_end = getattr(item, "batch_end", True)  # only events have batch_end
                if batch_end or len(pending) >= 8192:
                    self._write_pending(batch_end)
                return
            self._write_pending(False)
        self.count += 1
        with critical:  # the line and its offset together (see wfctl.interrupts)
            self._write_item(item)
        # A backend that knows its batches marks the last event of each (``batch_end``): flushing there
        # keeps a live tail prompt without one write per event in a catch-up of millions.
        if getattr(item, "batch_end", True):
            output.out().flush()

    def _write_item(self, item: Event | Chunk) -> None:
        fmt = self.r.fmt
        fields = self.r.opts.fields
        if isinstance(item, Chunk):
            doc = {"kind": "chunk", **select({"index": item.index, "data": item.data, "offset": item.offset}, fields)}
        else:
            doc = {"kind": "event", **select(item.to_json(), fields)}
        if fmt == "jsonl":
            output.write(output.to_json_text(doc))
        elif fmt == "json":
            self.collected.append(doc)
        elif fmt == "id":
            output.write(output.clean(item.offset or item.index))
        elif fmt == "plain":
            if isinstance(item, Chunk):
                value = item.data
                output.write(output.clean(value) if isinstance(value, str) else output.plain_cell(value))
            else:
                # Plain lines are for programs: the data is whole (compact JSON), never shortened.
                cols = fields or ["time", "type", "stepName", "correlationId", "data"]
                output.write_tsv([[getattr(item, c, None) for c in cols]])
        else:
            self.r.views.tail_line(item)
        if item.offset is not None:
            self.offset = item.offset

    def _write_pending(self, flush: bool) -> None:
        """Write the held events (byte for byte the lines :meth:`item` writes one at a time)."""
        pending = self._pending
        if pending:
            with critical:  # the lines and their offset together (see wfctl.interrupts)
                output.out().write(self._bulk_writer.event_lines(pending))
                for event in reversed(pending):
                    if event.offset is not None:
                        self.offset = event.offset
                        break
                self._pending = []
        if flush:
            output.out().flush()

    def status_footer(self, text: "str | Callable[[], str] | None") -> None:
        if self.r.fmt == "table" and self.r.opts.tty:
            self.r.views.footer(text)

    def end(self, status: str | None) -> None:
        self._write_pending(True)
        if self.r.fmt == "table":
            self.r.views.flush_fragments()
        self.status_footer(None)
        if self.r.fmt == "jsonl":
            output.write_jsonl({"kind": "end", "runId": self.run_id, "status": status, "offset": self.offset})
        elif self.r.fmt == "json":
            output.write_json({"runId": self.run_id, "status": status, "offset": self.offset, "items": self.collected})
