"""The CI rule (tests/ci_rule.py): with CI=true, a skip fails unless its reason is on the allowlist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CASES = """
import pytest

def test_missing_peer():
    pytest.skip("peer missing: a server")

def test_allowed():
    pytest.skip("allowed for this test: a listed reason")

def test_passes():
    pass
"""

MODULE_SKIP = """
import pytest

pytest.importorskip("no_such_module_for_wfctl_tests")

def test_never_runs():
    pass
"""


CONFTEST = """
import tests.ci_rule

tests.ci_rule.CI_ALLOWED_SKIPS = ("allowed for this test",)
pytest_plugins = ("tests.ci_rule",)
"""

ROOT = Path(__file__).resolve().parents[1]


def run_pytest(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_cases.py").write_text(CASES)
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-rf", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_under_ci_only_allowlisted_skips_pass(tmp_path):
    result = run_pytest(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout
    assert "2 failed, 1 passed, 1 skipped" in result.stdout
    assert "not in CI_ALLOWED_SKIPS (tests/ci_rule.py): peer missing: a server" in result.stdout
    # the module that skipped itself fails as one test, and the rest of the suite still ran
    assert "test_module_skip.py::<module skipped>" in result.stdout
    assert "no_such_module_for_wfctl_tests" in result.stdout


def test_outside_ci_skips_are_skips(tmp_path):
    result = run_pytest(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 3 skipped" in result.stdout
