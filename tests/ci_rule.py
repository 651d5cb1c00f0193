"""The one CI rule for skips, a pytest plugin loaded by tests/conftest.py (CONTRIBUTING.md, "Tests").

With CI=true a skipped test (or a skipped module) FAILS unless its reason starts with one of
:data:`CI_ALLOWED_SKIPS`. Everything else that skips (a missing peer, pytest.importorskip, a missing recording)
is a hole in CI. A module that skips itself fails as one item, so the rest of the suite still runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

#: Reasons a skip may have under CI=true. Empty: every test runs in CI. An entry needs a sentence here on why the
#: hole is acceptable (out-of-scope cases are better left out of collection, as the Durable Streams producer cases
#: are in tests/durable_streams/test_conformance.py).
CI_ALLOWED_SKIPS: tuple[str, ...] = ()


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def peer_missing(what: str) -> None:
    """A test whose peer is missing: a skip here, a failure under CI=true (see :data:`CI_ALLOWED_SKIPS`)."""
    pytest.skip(f"peer missing: {what}")


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason


def _fail_unallowed_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not (under_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report.longrepr)
    if reason.startswith(CI_ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, and the reason is not in CI_ALLOWED_SKIPS (tests/ci_rule.py): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    _fail_unallowed_skip(outcome.get_result())


class _SkippedModule(pytest.Item):
    """Stands in for a module that skipped itself under CI=true, so that the module's tests fail and the rest of
    the suite still runs (a failed collection would stop the whole session)."""

    def __init__(self, *, reason: str, **kwargs: object):
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        pytest.fail(
            f"skipped under CI=true, and the reason is not in CI_ALLOWED_SKIPS (tests/ci_rule.py): {self.reason}",
            pytrace=False,
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if under_ci() and report.skipped and isinstance(collector, pytest.Module):
        reason = _skip_reason(report.longrepr)
        if not reason.startswith(CI_ALLOWED_SKIPS):
            report.outcome = "passed"
            report.longrepr = None
            report.result = [_SkippedModule.from_parent(collector, name="<module skipped>", reason=reason)]
