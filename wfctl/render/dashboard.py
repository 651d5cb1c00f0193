"""The dashboard: counts as bars, recent runs with changes highlighted, failures.

Built from the primitives below it (:mod:`~wfctl.render.primitives`, :mod:`~wfctl.render.layout`); the
views (``dashboard --once`` on a terminal) and the live loop (:mod:`~wfctl.render.live`) use it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..model import STATUSES, Counts, Run
from ..output import OutputOptions, clean, now
from .layout import Column
from .layout import table as layout_table
from .names import workflow_label
from .primitives import run_columns, t
from .styles import STATUS_STYLE

SPARK = "▁▂▃▄▅▆▇█"


def bars(counts: Counts, width: int) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, min_width=10)
    table.add_column(justify="right", no_wrap=True, min_width=6)
    table.add_column(no_wrap=True)
    top = max([counts.counts.get(s, 0) for s in STATUSES] + [1])
    bar_width = max(10, min(60, width - 22))
    for status in STATUSES:
        n = counts.counts.get(status, 0)
        length = int(round(bar_width * n / top)) if n else 0
        table.add_row(
            Text(status, style=STATUS_STYLE[status]),
            Text(f"{n}+" if status in counts.capped else str(n)),
            Text("█" * length + ("▏" if n and not length else ""), style=STATUS_STYLE[status]),
        )
    table.add_row(
        Text("total", style="bold"), Text(f"{counts.total}{'+' if counts.capped else ''}", style="bold"), Text("")
    )
    for word, n in counts.apart.items():  # the engine's own statuses counted apart (not in the total)
        table.add_row(Text(clean(word), style="dim"), Text(str(n), style="dim"), Text("not in total", style="dim"))
    return table


def sparkline(runs: Sequence[Run], now: datetime, minutes: int = 60, width: int = 60) -> Text:
    """Runs started per minute over the last hour."""
    buckets = [0] * minutes
    for run in runs:
        when = run.createdAt
        if when is None:
            continue
        age = (now - when).total_seconds() / 60
        if 0 <= age < minutes:
            buckets[minutes - 1 - int(age)] += 1
    if width < minutes:
        step = minutes / width
        buckets = [sum(buckets[int(i * step) : int((i + 1) * step)]) for i in range(width)]
    top = max(buckets + [1])
    return Text(
        "".join(SPARK[min(len(SPARK) - 1, int(b * (len(SPARK) - 1) / top))] if b else " " for b in buckets),
        style="cyan",
    )


def recent_table(
    runs: Sequence[Run],
    opts: OutputOptions,
    changed: frozenset[str] | set[str] = frozenset(),
    limit: int = 10,
    width: int = 80,
) -> Table:
    return layout_table(run_columns(runs[:limit], opts, changed=changed), width)


def failures(runs: Sequence[Run], width: int, limit: int = 5) -> Table | Text:
    """The failed ones of ``runs`` (the backend's latest failures, or failing that the recent runs)."""
    failed = [r for r in runs if r.status == "failed"][:limit]
    if not failed:
        return Text("no recent failures", style="dim")
    messages = [
        Text(clean((r.error.message if r.error and r.error.message else "(no message)").splitlines()[0]), style="red")
        for r in failed
    ]
    columns = [
        Column("RUN ID", [t(r.runId) for r in failed], rank=0, fold=True),
        Column("MESSAGE", messages, flex=True, rank=1, min=10),
    ]
    return layout_table(columns, width, headed=False, show_header=False)


def snapshot(
    counts: Counts,
    recent: Sequence[Run],
    opts: OutputOptions,
    *,
    width: int = 80,
    header: str | None = None,
    changed: frozenset[str] | set[str] = frozenset(),
    history: Sequence[Run] = (),
    latest_failures: Sequence[Run] | None = None,
) -> Group:
    now_ = now()
    parts: list[Any] = []
    if header:
        parts.append(Text(clean(header), style="bold"))
    parts.append(Text("Runs by status" + (f" — {clean(counts.workflow)}" if counts.workflow else ""), style="bold"))
    parts.append(bars(counts, width))
    spark_source = history or recent
    if spark_source:
        parts.append(Text("Started per minute, last hour", style="bold"))
        parts.append(sparkline(spark_source, now_, width=min(60, max(20, width - 4))))
    parts.append(Text("Recent runs", style="bold"))
    parts.append(recent_table(recent, opts, changed, width=width) if recent else Text("no runs", style="dim"))
    parts.append(Text("Latest failures", style="bold"))
    parts.append(failures(recent if latest_failures is None else latest_failures, width))
    return Group(*parts)


def change_line(run: Run, previous: str | None, opts: OutputOptions) -> str:
    """One plain line per status change (off a terminal with --live)."""
    from ..model import iso

    before = previous or "new"
    return "\t".join(
        [
            iso(datetime.now(timezone.utc)) or "",
            clean(run.runId),
            clean(workflow_label(run) or ""),
            f"{before}->{run.status}",
        ]
    )
