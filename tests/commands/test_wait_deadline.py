"""A wait's ``--timeout`` bounds the backend's calls too (``wfctl.waiting.Deadline``): an engine that stops
answering ends the wait at its deadline with exit 124 (on real engines: ``tests/test_faults.py``,
``test_a_wait_ends_at_its_timeout_when_the_engine_goes_silent``)."""

import pytest

from wfctl.errors import ExitCode, UnavailableError, WaitTimeout
from wfctl.model import Run
from wfctl.waiting import Deadline, wait_for_runs


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SilentEngine:
    """A backend whose reads take ``takes`` seconds of the clock and then fail as an engine that did not
    answer; it records the bounds it was given."""

    def __init__(self, clock: Clock, takes: float, running: Run | None = None):
        self.clock, self.takes, self.running = clock, takes, running
        self.bounds: list[float | None] = []
        self.reads = 0

    def bound(self, until: float | None) -> None:
        self.bounds.append(until)

    def get_status(self, run_id: str) -> Run:
        self.reads += 1
        if self.running is not None and self.reads == 1:
            return self.running
        self.clock.now += self.takes
        raise UnavailableError("engine at http://127.0.0.1:1 unreachable: timed out")

    def wait_for_change(self, run: Run, interval: float) -> None:
        self.clock.now += interval


def test_a_read_the_deadline_overtakes_is_a_wait_timeout_naming_the_runs():
    clock = Clock()
    engine = SilentEngine(clock, takes=3.0)
    deadline = Deadline(2.0, clock)
    with pytest.raises(WaitTimeout) as raised:
        deadline.read(engine, lambda: engine.get_status("r1"), lambda: ["r1"])
    assert raised.value.code == ExitCode.TIMEOUT
    assert raised.value.message == (
        "timed out after 2s waiting for r1 (engine at http://127.0.0.1:1 unreachable: timed out); "
        "the run was left untouched"
    )
    assert raised.value.hint == "wait again with: wfctl status r1 --wait"
    assert len(engine.bounds) == 2 and engine.bounds[0] is not None and engine.bounds[1] is None


def test_an_engine_that_fails_before_the_deadline_is_still_unavailable():
    clock = Clock()
    engine = SilentEngine(clock, takes=0.5)
    with pytest.raises(UnavailableError) as raised:
        Deadline(2.0, clock).read(engine, lambda: engine.get_status("r1"), lambda: ["r1"])
    assert raised.value.code == ExitCode.UNAVAILABLE
    assert engine.bounds[-1] is None  # the bound is lifted after the read, failed or not


def test_without_a_timeout_nothing_is_bounded():
    clock = Clock()
    engine = SilentEngine(clock, takes=1000.0)
    with pytest.raises(UnavailableError):
        Deadline(None, clock).read(engine, lambda: engine.get_status("r1"), lambda: ["r1"])
    assert engine.bounds == []


def test_wait_for_runs_ends_at_the_deadline_while_the_engine_is_silent():
    clock = Clock()
    running = Run(runId="r1", backend="memory", status="running")
    engine = SilentEngine(clock, takes=10.0, running=running)
    with pytest.raises(WaitTimeout) as raised:
        wait_for_runs(engine, ["r1"], timeout=5.0, interval=1.0, clock=clock)  # type: ignore[arg-type]
    assert raised.value.message.startswith("timed out after 5s waiting for r1 (running) (engine at ")
    assert engine.reads == 2  # the first status, then the poll the deadline overtook
