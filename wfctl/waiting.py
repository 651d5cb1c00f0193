"""Waiting for runs to finish, written once above every backend (design §4, §6)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from .errors import ExitCode, WaitTimeout
from .model import CANCELLED, FAILED, Run, TERMINAL

if TYPE_CHECKING:
    from .backends.base import Backend


def exit_code_for(runs: list[Run]) -> ExitCode:
    """One code for a set of runs: failed beats cancelled beats unfinished beats completed."""
    statuses = {r.status for r in runs}
    if FAILED in statuses:
        return ExitCode.RUN_FAILED
    if CANCELLED in statuses:
        return ExitCode.RUN_CANCELLED
    if statuses - TERMINAL:
        return ExitCode.RUN_NOT_FINISHED
    return ExitCode.OK


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``2h``, ``7d``, ``1h30m`` → seconds."""
    import re

    from .errors import UsageError

    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return float(raw)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise UsageError(f"invalid duration {text!r}", hint="use e.g. 30s, 10m, 2h, 7d")
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(float(n) * unit[u] for n, u in parts)


def wait_for_runs(
    backend: "Backend",
    run_ids: list[str],
    *,
    timeout: float | None,
    interval: float,
    on_update: Callable[[list[Run], float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Run]:
    """Poll until every run is terminal; raise WaitTimeout when ``timeout`` elapses."""
    started = clock()
    current = {rid: backend.get_status(rid) for rid in run_ids}
    while True:
        runs = [current[rid] for rid in run_ids]
        elapsed = clock() - started
        if on_update:
            on_update(runs, elapsed)
        pending = [r for r in runs if not r.terminal]
        if not pending:
            return runs
        if timeout is not None and elapsed >= timeout:
            names = ", ".join(f"{r.runId} ({r.status})" for r in pending)
            raise WaitTimeout(
                f"timed out after {timeout:g}s waiting for {names}; the run was left untouched",
                hint="wait again with: wfctl status " + " ".join(r.runId for r in pending) + " --wait",
            )
        step = interval if timeout is None else max(0.0, min(interval, timeout - elapsed))
        if len(pending) == 1:
            backend.wait_for_change(pending[0], step)
        else:
            time.sleep(step)
        for run in pending:
            current[run.runId] = backend.get_status(run.runId)
