"""Times at the ends of what Python can hold (the years 1 and 9999: an engine's "sleep until the end of time")
shown in local time: where the local zone would carry them past the year 9999 or before the year 1, they are
shown in their own zone, named, instead of failing (README, "Output")."""

import time as time_module
from datetime import datetime, timedelta, timezone

import pytest

from wfctl.output import clock, format_time, is_today

END = datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc)
START = datetime(1, 1, 1, 0, 10, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 22, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch):
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time_module.tzset()

    yield set_zone
    monkeypatch.setenv("TZ", "UTC")
    time_module.tzset()


@pytest.mark.parametrize(
    "tz, when, local, clocked",
    [
        # east of UTC, the end of 9999 is already the year 10000 there
        ("Asia/Tokyo", END, "9999-12-31 23:30:00 UTC", "9999-12-31 23:30:00.000 UTC"),
        # west of UTC, the start of the year 1 is still the year 0 there
        ("America/New_York", START, "0001-01-01 00:10:00 UTC", "0001-01-01 00:10:00.000 UTC"),
        # where the local zone holds it, local time as always, with four-digit years
        ("America/New_York", END, "9999-12-31 18:30:00", "18:30:00.000"),
        ("UTC", START, "0001-01-01 00:10:00", "00:10:00.000"),
    ],
)
def test_the_ends_of_time_in_local_time(zone, tz: str, when: datetime, local: str, clocked: str) -> None:
    zone(tz)
    assert format_time(when, "local", NOW) == local
    assert clock(when, "relative", dated=False) == clocked
    assert format_time(when, "iso", NOW) in ("9999-12-31T23:30:00.000Z", "0001-01-01T00:10:00.000Z")
    assert format_time(when, "relative", NOW)  # an age or a time to come, never an error
    assert is_today(when, NOW) is False


def test_an_ordinary_time_is_unchanged(zone) -> None:
    zone("Asia/Tokyo")
    when = NOW - timedelta(minutes=5)
    assert format_time(when, "local", NOW) == "2026-11-22 15:55:00"
    assert clock(when, "relative", dated=False) == "15:55:00.000"
    assert clock(when, "relative", dated=True) == "2026-11-22 15:55:00.000"
    assert is_today(when, NOW) is True


@pytest.mark.parametrize("command", [["list"], ["get", "r-end"], ["status", "r-end"], ["tail", "r-end"]])
@pytest.mark.parametrize("fmt", ["table", "plain", "json"])
def test_commands_show_the_ends_of_time_in_every_zone(cli, memory_world, zone, command, fmt) -> None:
    for run_id, when in (("r-end", END), ("r-start", START)):
        run = memory_world.add(run_id, "completed")
        run.createdAt = run.startedAt = run.updatedAt = run.completedAt = when
        for event in memory_world.events[run_id]:
            event.time = when
    for tz in ("Asia/Tokyo", "America/New_York"):
        zone(tz)
        r = cli("--backend", "memory", *command, "-o", fmt, "--time", "local")
        assert r.exit_code == 0, r.stderr
        assert r.stderr == ""
