"""Waiting for runs to finish, written once above every backend: ``--wait``, ``--timeout``, ``--interval``, and
the exit code of a set of runs (README, "Exit codes"; docs/architecture.md, "The rules that keep the layers
apart")."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from .errors import ExitCode, WaitTimeout
from .model import CANCELLED, FAILED, TERMINAL, Run

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


DURATION_FORMS = "a number of seconds (2, 0.5) or a duration with units: 500ms, 1s, 10m, 2h, 1d, 1h30m"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, flag: str = "duration") -> float:
    """``90``, ``0.5``, ``500ms``, ``90s``, ``10m``, ``2h``, ``7d``, ``1h30m`` → seconds; every duration option
    accepts exactly these forms (README, Commands)."""
    import re

    from .errors import UsageError

    raw = text.strip().lower()
    if len(raw) <= 64:
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            return float(raw)
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", raw)
        if parts and "".join(n + u for n, u in parts) == raw:
            return sum(float(n) * _UNITS[u] for n, u in parts)
    from .output import clean

    raise UsageError(f"invalid {flag} {clean(text)[:80]!r}: not a duration", hint=DURATION_FORMS)


def wait_for_runs(
    backend: "Backend",
    run_ids: list[str],
    *,
    timeout: float | None,
    interval: float,
    on_update: Callable[[list[Run], float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    first: list[Run] | None = None,
) -> list[Run]:
    """Poll until every run is terminal; raise WaitTimeout when ``timeout`` (seconds) elapses. ``first``: the
    runs' statuses the caller already read, in ``run_ids`` order."""
    started = clock()
    if first is not None and len(first) == len(run_ids):
        current = dict(zip(run_ids, first, strict=False))
    else:
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
        for rid in run_ids:
            if not current[rid].terminal:
                current[rid] = backend.get_status(rid)
