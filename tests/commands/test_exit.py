"""How the ``wfctl`` console script ends (wfctl/cli.py): without the interpreter's teardown when nothing else
needs it (docs/architecture.md, "Start-up"), yet with the exit handlers run, every byte written and the exit
code kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import atexit, sys, threading
atexit.register(lambda: sys.stderr.write("handler ran\\n"))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: None).start()
from wfctl.cli import main
sys.argv[1:] = sys.argv[2:]
main()
"""


def _wfctl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WFCTL_CONFIG": str(tmp_path / "none.toml")}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_console_script_flushes_everything_and_runs_the_exit_handlers(tmp_path: Path) -> None:
    from wfctl.app import completion_script

    r = _wfctl(tmp_path, "fast", "completion", "bash")
    assert r.returncode == 0
    assert r.stdout == completion_script("bash") and r.stderr == "handler ran\n"


def test_the_exit_code_and_the_error_line_are_kept(tmp_path: Path) -> None:
    for mode in ("fast", "thread"):  # another thread alive: the interpreter's normal exit
        r = _wfctl(tmp_path, mode, "get", "wrun_01M81013R4XC1AH1NY0GMYME33")
        assert r.returncode == 3
        assert r.stdout == "" and r.stderr.startswith("error: no Workflow SDK local world data directory found")
        assert r.stderr.endswith("handler ran\n") and r.stderr.count("handler ran") == 1
