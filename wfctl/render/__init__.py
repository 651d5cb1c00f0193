"""Renderers: turn model objects into output. Only this package imports Rich.

:class:`Renderer` handles ``plain``, ``json``, ``jsonl`` and ``id`` itself (no
Rich import) and hands ``table`` to :mod:`wfctl.render.views`, imported on
first use.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .. import output
from ..interrupts import critical
from ..model import CancelOutcome, Chunk, Counts, Event, EventBatch, Run, RunPage, WakeResult
from ..output import OutputOptions, check_fields, select

RUN_FIELDS = Run.field_names()
EVENT_FIELDS = Event.field_names()
OUTCOME_FIELDS = CancelOutcome.field_names()
STATUS_FIELDS = [
    "runId",
    "status",
    "rawStatus",
    "workflowName",
    "createdAt",
    "startedAt",
    "completedAt",
    "updatedAt",
    "error",
]
PLAIN_RUN_COLUMNS = ["runId", "workflowName", "status", "createdAt", "startedAt", "completedAt"]


#: The Workflow SDK's machine names: ``{kind}//{module}//{function}``.
_MACHINE_KINDS = ("workflow", "step", "class")


def machine_function(name: str | None) -> str | None:
    """The function part of a Workflow SDK machine name (``workflow//./workflows/demo//demoWorkflow`` →
    ``demoWorkflow``; everything after the module's ``//``, however many ``/`` it holds); None for any
    other name."""
    if not name or "//" not in name:
        return None
    parts = name.split("//")
    if len(parts) < 3 or parts[0] not in _MACHINE_KINDS or not parts[1]:
        return None
    return "//".join(parts[2:]) or None


def short_name(name: str | None) -> str | None:
    """A name as tables show it: a Workflow SDK machine name is shortened at the SDK's own separator
    (``//``) to its function name; every other name (a Temporal type, a URL, anything holding ``/``) is
    shown whole — never cut inside the text, where a cut could leave half of a markup tag."""
    return machine_function(name) or name


def workflow_label(run: Run) -> str | None:
    """The workflow name tables show: the function part of the SDK's full name (``workflowId``) when the
    run has one, else the backend's ``workflowName``. A default export keeps the backend's name for it."""
    function = machine_function(run.workflowId)
    if function and function not in ("default", "__default"):
        return function
    return short_name(run.workflowName)


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
            output.write_tsv([_plain_value(r, c) for c in cols] for r in page.data)
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

    def statuses(self, runs: Sequence[Run]) -> None:
        fields = self.opts.fields
        check_fields(fields, STATUS_FIELDS)
        docs = [select({k: r.to_json()[k] for k in STATUS_FIELDS}, fields) for r in runs]
        if self.fmt == "json":
            output.write_json(docs[0] if len(docs) == 1 else docs)
        elif self.fmt == "jsonl":
            for doc in docs:
                output.write_jsonl(doc)
        elif self.fmt == "id":
            for run in runs:
                output.write(output.clean(run.runId))
        elif self.fmt == "plain":
            cols = fields or ["runId", "status"]
            output.write_tsv([doc.get(c) for c in cols] for doc in [r.to_json() for r in runs])
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

    def outcomes(self, outcomes: Sequence[CancelOutcome]) -> None:
        fields = self.opts.fields
        check_fields(fields, OUTCOME_FIELDS)
        docs = [select(o.to_json(), fields) for o in outcomes]
        if self.fmt == "json":
            output.write_json(docs)
        elif self.fmt == "jsonl":
            for doc in docs:
                output.write_jsonl(doc)
        elif self.fmt == "id":
            for o in outcomes:
                if o.outcome == "cancelled":
                    output.write(output.clean(o.runId))
        elif self.fmt == "plain":
            cols = fields or ["runId", "outcome", "message"]
            output.write_tsv([o.to_json().get(c) for c in cols] for o in outcomes)
        else:
            self.views.outcome_table(outcomes)

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

    # -- tail --------------------------------------------------------------------
    def tail_printer(self, run_id: str, *, stream: bool = False) -> "TailPrinter":
        return TailPrinter(self, run_id, stream=stream)

    # -- dashboard -----------------------------------------------------------------
    def counts(self, counts: Counts, recent: Sequence[Run] = ()) -> None:
        if self.fmt in ("json", "jsonl"):
            doc = {
                "counts": counts.counts,
                "total": counts.total,
                "workflow": counts.workflow,
                "capped": counts.capped,
                "recent": [r.to_json() for r in recent],
            }
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
        elif self.fmt in ("plain", "id"):

            def plus(status):
                return "+" if (status in counts.capped or (status == "total" and counts.capped)) else ""

            output.write_tsv(
                [[status, f"{n}{plus(status)}"] for status, n in counts.counts.items()]
                + [["total", f"{counts.total}{plus('total')}"]]
            )
        else:
            self.views.counts_snapshot(counts, recent)

    # -- generic -------------------------------------------------------------------
    def mapping(self, rows: Iterable[tuple[str, Any, str | None]], *, sources: bool = False) -> None:
        """Key/value rows (config view)."""
        rows = list(rows)
        if self.fmt in ("json", "jsonl"):
            doc = {k: ({"value": v, "source": s} if sources else v) for k, v, s in rows}
            output.write_json(doc) if self.fmt == "json" else output.write_jsonl(doc)
            return
        for key, value, source in rows:
            cells = [key, value] + ([source] if sources else [])
            if self.fmt == "table":
                output.write(
                    "  ".join([f"{key:<12}", output.plain_cell(value)] + ([f"({source})"] if sources else [])).rstrip()
                )
            else:
                output.write_tsv([cells])


def _plain_value(run: Run, column: str) -> Any:
    if column == "workflowName":
        return run.workflowName
    value = getattr(run, column, None)
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
        # ``-o jsonl`` without --fields: events whose class can write its lines in bulk (``json_lines``)
        # are held until the end of their batch and written at once
        self._bulk = renderer.fmt == "jsonl" and not renderer.opts.fields
        self._bulk_cls: Any = None
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
                    out.write(item.json_lines())
                    self.offset = item.last_offset
                self.count += len(item)
                out.flush()
            return
        if self._bulk:
            cls = item.__class__
            if cls is self._bulk_cls or (self._bulk_cls is None and callable(getattr(cls, "json_lines", None))):
                self._bulk_cls = cls
                pending = self._pending
                pending.append(item)
                self.count += 1
                if item.batch_end or len(pending) >= 8192:
                    self._write_pending(item.batch_end)
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
                output.out().write(self._bulk_cls.json_lines(pending))
                for event in reversed(pending):
                    if event.offset is not None:
                        self.offset = event.offset
                        break
                self._pending = []
        if flush:
            output.out().flush()

    def status_footer(self, text: str | None) -> None:
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
