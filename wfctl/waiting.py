"""Waiting for runs to finish, written once above every backend: ``--wait``, ``--timeout``, ``--interval``, and
the exit code of a set of runs (README, "Exit codes"; docs/architecture.md, "The rules that keep the layers
apart")."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Callable, TypeVar

from .errors import ExitCode, UnavailableError, WaitTimeout
from .model import CANCELLED, FAILED, TERMINAL, Run

if TYPE_CHECKING:
    from .backends.base import Backend

T = TypeVar("T")


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


class Deadline:
    """A wait's ``--timeout``, counted from when the command began reading the runs, and backend calls bounded
    by it: an engine that stops answering ends the wait with exit 124 at the deadline, not a profile timeout
    (or a database's reconnecting) later. ``timeout`` None: no deadline."""

    def __init__(self, timeout: float | None, clock: Callable[[], float] = time.monotonic):
        self.timeout = timeout
        self.clock = clock
        self.started = clock()
        self._until = None if timeout is None else time.monotonic() + timeout  # the backends' clock

    def elapsed(self) -> float:
        return self.clock() - self.started

    def expired(self) -> bool:
        return self.timeout is not None and self.elapsed() >= self.timeout

    def read(self, backend: "Backend", fn: Callable[[], T], waiting_for: Callable[[], list[Run | str]]) -> T:
        """``fn()``, a read of ``backend``, bounded by the deadline; an engine that did not answer by then is a
        :class:`WaitTimeout` for the runs ``waiting_for()`` gives (a run, or an id not read yet)."""
        if self.timeout is None:
            return fn()
        backend.bound(self._until)
        try:
            return fn()
        except UnavailableError as exc:
            if not self.expired():
                raise
            raise self.timed_out(waiting_for(), f" ({exc.message})") from None
        finally:
            backend.bound(None)

    def timed_out(self, runs: list[Run | str], why: str = "") -> WaitTimeout:
        ids = [run if isinstance(run, str) else run.runId for run in runs]
        names = ", ".join(run if isinstance(run, str) else f"{run.runId} ({run.status})" for run in runs)
        return WaitTimeout(
            f"timed out after {self.timeout:g}s waiting for {names}{why}; the run was left untouched",
            hint="wait again with: wfctl status " + " ".join(ids) + " --wait",
        )


def wait_for_runs(
    backend: "Backend",
    run_ids: list[str],
    *,
    timeout: float | None,
    interval: float,
    on_update: Callable[[list[Run], float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    first: list[Run] | None = None,
    deadline: Deadline | None = None,
) -> list[Run]:
    """Poll until every run is terminal; raise WaitTimeout when ``timeout`` (seconds) elapses, also while the
    engine does not answer. ``first``: the runs' statuses the caller already read, in ``run_ids`` order;
    ``deadline``: the caller's, when its own first reads counted towards the timeout."""
    if deadline is None:
        deadline = Deadline(timeout, clock)
    timeout = deadline.timeout

    def pending() -> list[Run | str]:
        return [current[rid] for rid in run_ids if not current[rid].terminal]

    current: dict[str, Run] = {}
    if first is not None and len(first) == len(run_ids):
        current = dict(zip(run_ids, first, strict=False))
    else:
        for rid in run_ids:
            current[rid] = deadline.read(backend, partial(backend.get_status, rid), lambda: list(run_ids))
    while True:
        runs = [current[rid] for rid in run_ids]
        elapsed = deadline.elapsed()
        if on_update:
            on_update(runs, elapsed)
        unfinished = [r for r in runs if not r.terminal]
        if not unfinished:
            return runs
        if timeout is not None and elapsed >= timeout:
            raise deadline.timed_out(list(unfinished))
        step = interval if timeout is None else max(0.0, min(interval, timeout - elapsed))
        if len(unfinished) == 1:
            deadline.read(backend, partial(backend.wait_for_change, unfinished[0], step), pending)
        else:
            time.sleep(step)
        for rid in run_ids:
            if not current[rid].terminal:
                current[rid] = deadline.read(backend, partial(backend.get_status, rid), pending)
