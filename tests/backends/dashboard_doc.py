"""What the dashboard tests of every backend check in ``dashboard --once -o json`` (written once for the
workflow-runs, Postgres and Vercel tests)."""

from typing import Any


def counts(running: int, *, completed: int = 0, failed: int = 0, cancelled: int = 0) -> dict[str, int]:
    """The ``counts`` of a world with these runs and none pending or waiting."""
    return {
        "pending": 0,
        "running": running,
        "waiting": 0,
        "completed": completed,
        "failed": failed,
        "cancelled": cancelled,
    }


def assert_recent_all_running(doc: dict[str, Any], running: list[str], recent: int) -> None:
    """The recent runs: the newest ``recent`` of ``running`` (in creation order), newest first, with distinct
    creation times, all running (the failures are older: found by a query of their own)."""
    assert [r["runId"] for r in doc["recent"]] == running[::-1][:recent]
    starts = [r["createdAt"] for r in doc["recent"]]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == recent
    assert {r["status"] for r in doc["recent"]} == {"running"}
