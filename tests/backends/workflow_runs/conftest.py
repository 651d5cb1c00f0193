"""Fixtures of the workflow-runs tests: the contract fake (tests/doubles/workflow_runs.py) and fast retries."""

import pytest

from tests.doubles.workflow_runs import FakeWorkflowRuns


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    """Retries still happen (and honour Retry-After), but the jittered backoff is tiny."""
    import wfctl.http

    monkeypatch.setattr(wfctl.http, "backoff_delay", lambda attempt, **kw: 0.01)


@pytest.fixture
def make_fake():
    """``make_fake(**kw)`` starts a fake; every fake is stopped after the test and must have seen no errors."""
    fakes = []

    def make(**kw):
        fake = FakeWorkflowRuns(**kw)
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.stop()
    for fake in fakes:
        assert fake.errors == []
