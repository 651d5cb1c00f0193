"""A spinner with elapsed time on stderr, for `status --wait` on a terminal."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.status import Status

from ..model import Run
from ..output import OutputOptions, clean, human_duration


class Spinner:
    def __init__(self, opts: OutputOptions):
        console = Console(stderr=True, no_color=not opts.color, highlight=False, markup=False)
        self._status = Status("waiting…", console=console, spinner="dots")
        self._status.start()

    def update(self, runs: Sequence[Run], elapsed: float) -> None:
        pending = [r for r in runs if not r.terminal]
        if len(runs) == 1:
            run = runs[0]
            text = f"waiting for {clean(run.runId)} ({run.status}) {human_duration(elapsed)}"
        else:
            text = f"waiting for {len(pending)} of {len(runs)} runs {human_duration(elapsed)}"
        self._status.update(text)

    def stop(self) -> None:
        self._status.stop()
