"""The live dashboard loop: a full-screen Rich Live view on a terminal, or one
line per status change off it (never screen redraws in a pipe)."""

from __future__ import annotations

import select
import sys
import time
from typing import TYPE_CHECKING, Any

from ..model import Run
from ..output import OutputOptions, to_json_text, write
from .dashboard import change_line, snapshot

if TYPE_CHECKING:
    from ..backends.base import Backend


def _poll(backend: "Backend", workflow: str | None, recent: int) -> tuple[Any, list[Run]]:
    return backend.counts(workflow), backend.recent_runs(max(recent, 50), workflow)


def _failures(backend: "Backend", workflow: str | None) -> list[Run]:
    from ..backends.dashboard import latest_failures

    return latest_failures(backend, workflow=workflow)


def run_dashboard(
    backend: "Backend",
    profile: Any,
    opts: OutputOptions,
    *,
    workflow: str | None,
    interval: float,
    recent: int,
    lines: bool,
    max_ticks: int | None = None,
) -> None:
    if lines:
        _lines(backend, opts, workflow=workflow, interval=interval, recent=recent, max_ticks=max_ticks)
    else:
        _screen(backend, profile, opts, workflow=workflow, interval=interval, recent=recent)


def _lines(
    backend: "Backend",
    opts: OutputOptions,
    *,
    workflow: str | None,
    interval: float,
    recent: int,
    max_ticks: int | None,
) -> None:
    seen: dict[str, str] = {}
    ticks = 0
    while True:
        _, runs = _poll(backend, workflow, recent)
        for run in reversed(runs):
            before = seen.get(run.runId)
            if before != run.status:
                if opts.format in ("json", "jsonl"):
                    write(
                        to_json_text(
                            {"runId": run.runId, "from": before, "to": run.status, "workflowName": run.workflowName}
                        )
                    )
                else:
                    write(change_line(run, before, opts))
                sys.stdout.flush()
                seen[run.runId] = run.status
        ticks += 1
        if max_ticks is not None and ticks >= max_ticks:
            return
        time.sleep(interval)


def _screen(
    backend: "Backend", profile: Any, opts: OutputOptions, *, workflow: str | None, interval: float, recent: int
) -> None:
    from rich.console import Console
    from rich.live import Live

    console = Console(no_color=not opts.color, highlight=False, markup=False)
    previous: dict[str, str] = {}
    changed_at: dict[str, float] = {}
    keys = _Keys()

    def header():
        return f"wfctl dashboard · profile {profile.display_name} · {backend.label} · every {interval:g}s · q to quit"

    try:
        with keys, Live(console=console, screen=True, auto_refresh=False) as live:
            _first_frame_progress(backend, live, header())
            while True:
                counts, runs = _poll(backend, workflow, recent)
                now = time.monotonic()
                for run in runs:
                    if run.runId in previous and previous[run.runId] != run.status:
                        changed_at[run.runId] = now
                    previous[run.runId] = run.status
                changed = {rid for rid, at in changed_at.items() if now - at < max(3 * interval, 5)}
                live.update(
                    snapshot(
                        counts,
                        runs[:recent],
                        opts,
                        width=console.width,
                        header=header(),
                        changed=changed,
                        history=runs,
                        latest_failures=_failures(backend, workflow),
                    ),
                    refresh=True,
                )
                if keys.wait_for_quit(interval):
                    return
    except KeyboardInterrupt:
        return


def _first_frame_progress(backend: "Backend", live: Any, header: str) -> None:
    """Until the first counts are in, the screen says how far they are: a backend that reads many files for
    them (the local world before its summaries are cached: seconds for 100,000 runs) reports its progress
    through ``count_progress(done, total)``."""
    from rich.text import Text

    live.update(Text(f"{header}\n\ncounting runs…"), refresh=True)
    if not hasattr(backend, "count_progress"):
        return

    def progress(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "█" * int(share * 30) + "░" * (30 - int(share * 30))
        text = f"{header}\n\ncounting runs: {bar} {done:,} of {total:,} run files (the first count is kept)"
        live.update(Text(text), refresh=True)

    backend.count_progress = progress


class _Keys:
    """Read 'q' from a terminal in cbreak mode; restores the terminal on exit."""

    def __init__(self) -> None:
        self._old: Any = None

    def __enter__(self) -> "_Keys":
        try:
            import termios
            import tty

            if sys.stdin.isatty():
                self._old = termios.tcgetattr(sys.stdin.fileno())
                tty.setcbreak(sys.stdin.fileno())
        except (ImportError, OSError, ValueError):
            self._old = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._old)

    def wait_for_quit(self, timeout: float) -> bool:
        if self._old is None:
            time.sleep(timeout)
            return False
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([sys.stdin], [], [], remaining)
            if ready:
                ch = sys.stdin.read(1)
                if ch in ("q", "Q", "\x03"):
                    return True
