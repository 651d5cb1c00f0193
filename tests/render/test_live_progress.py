"""The live dashboard's first frame says how far the first count is (issue 18): a backend that reads many files
for its counts reports ``count_progress(done, total)``, shown until the counts are in."""

from __future__ import annotations

from typing import Any

from wfctl.render.live import _first_frame_progress


class _Live:
    def __init__(self) -> None:
        self.frames: list[str] = []

    def update(self, renderable: Any, refresh: bool = False) -> None:
        assert refresh
        self.frames.append(str(renderable))


class _Counting:
    count_progress = None


def test_the_first_frame_shows_the_count_and_its_progress() -> None:
    live, backend = _Live(), _Counting()
    _first_frame_progress(backend, live, "wfctl dashboard")  # type: ignore[arg-type]
    assert live.frames == ["wfctl dashboard\n\ncounting runs…"]
    assert backend.count_progress is not None
    backend.count_progress(25_000, 100_000)
    assert "25,000 of 100,000 run files" in live.frames[-1] and live.frames[-1].count("█") == 7


def test_a_backend_without_progress_gets_the_plain_first_frame() -> None:
    live, backend = _Live(), object()
    _first_frame_progress(backend, live, "h")  # type: ignore[arg-type]
    assert live.frames == ["h\n\ncounting runs…"] and not hasattr(backend, "count_progress")
