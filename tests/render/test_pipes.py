"""Closed pipes: a reader that goes away (`wfctl list | head -1`) ends wfctl quietly with exit 0 (README,
"Output"). Every test here runs wfctl as a real process writing into a real pipe, and checks wfctl's own exit
code (what `set -o pipefail` reports), not the pipeline's last command.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from wfctl.output import GuardedStream, OutputClosed

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "workflow-sdk-demo"
COMPLETED = "wrun_01M81014TS51H8GCDZKV8CP8WA"  # logsWorkflow, completed, 12 events
CANCELLED = "wrun_01M81014XB5XVMQTACHGNZRVGV"  # demoWorkflow, cancelled

#: wfctl on the in-memory backend in a process of its own, with a world large enough (runs, events) that its
#: output cannot fit in a pipe's buffer: once the reader has gone, a write must fail.
MEMORY = (
    "import sys\n"
    "from tests.doubles.memory_backend import MemoryBackend, World\n"
    "from wfctl import backends\n"
    "from wfctl.model import Event\n"
    "w = World()\n"
    "for i in range({runs}): w.add(f'run-{{i:06d}}', 'completed', workflow='demoWorkflow', minutes=i)\n"
    "w.events['run-000000'] = [Event('run-000000', str(i), i, 'step_completed', w.runs['run-000000'].createdAt,\n"
    "                                data={{'n': i, 'text': 'x' * 80}}) for i in range({events})]\n"
    "MemoryBackend.world = w\n"
    "backends.register('memory', MemoryBackend)\n"
    "from wfctl.cli import main\n"
    "main(['--backend', 'memory'] + sys.argv[1:])\n"
)


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
    out.update(
        PYTHONPATH=str(ROOT),
        WFCTL_CONFIG=os.environ["WFCTL_CONFIG"],  # the isolated_env fixture's: this test's own, never written
        NO_COLOR="1",
        COLUMNS="100",
        WFCTL_CACHE_DIR=str(Path(os.environ["WFCTL_CACHE_DIR"]) / "pipes"),
    )
    return out


def wfctl_demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "wfctl.cli", *args]


def wfctl_memory(*args: str, runs: int = 20_000, events: int = 20_000) -> list[str]:
    script = MEMORY.format(runs=runs, events=events)  # the checkout is on PYTHONPATH (env())
    return [sys.executable, "-c", script, *args]


def run_into_closed_pipe(argv: list[str], *, cwd: Path = DEMO, close: str = "stdout") -> subprocess.CompletedProcess:
    """Run with stdout (or stderr) the write end of a pipe whose read end is already closed: the first write
    that reaches the pipe fails, every time."""
    read, write = os.pipe()
    os.close(read)
    try:
        if close == "stdout":
            return subprocess.run(argv, cwd=cwd, env=env(), stdout=write, stderr=subprocess.PIPE, timeout=120)
        return subprocess.run(argv, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=write, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("list", "-o", "table"),
        ("list", "-o", "plain"),
        ("list", "-o", "id"),
        ("list", "-o", "json"),
        ("list", "-o", "jsonl"),
        ("get", COMPLETED, "-o", "table"),
        ("get", COMPLETED, "-o", "plain"),
        ("get", COMPLETED, "-o", "json"),
        ("status", CANCELLED),
        ("tail", COMPLETED),
        ("tail", COMPLETED, "-o", "jsonl"),
        ("tail", COMPLETED, "-o", "table"),
        ("tail", COMPLETED, "--stream=logs"),
        ("dashboard", "--once", "-o", "table"),
        ("--version",),
    ],
    ids=lambda a: " ".join(a),
)
def test_closed_stdout_exits_0_with_nothing_on_stderr(args):
    result = run_into_closed_pipe(wfctl_demo(*args))
    assert (result.returncode, result.stderr) == (0, b"")


def test_closed_stderr_exits_0_too():
    # `list --limit 2` writes its next-page cursor to stderr; nobody reads it.
    result = run_into_closed_pipe(wfctl_demo("list", "--limit", "2"), close="stderr")
    assert result.returncode == 0


def pipeline(command: str, *, cwd: Path = DEMO) -> tuple[int, str, str]:
    """``set -o pipefail; COMMAND``: the pipeline's status (non-zero if wfctl's is), its stdout, its stderr."""
    result = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + command], cwd=cwd, env=env(), capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout, result.stderr


def sh(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


def test_list_head_1_on_the_recording():
    assert pipeline(sh(wfctl_demo("list")) + " | head -1") == (
        0,
        "wrun_01M81014YNKJFXJ0NSSJ1X6Y3E\tapprovalWorkflow\tcancelled\t2026-11-22T06:45:22.006Z\t"
        "2026-11-22T06:45:22.020Z\t2026-11-22T06:45:32.395Z\n",
        "",
    )


def test_tail_jsonl_head_1_on_the_recording():
    status, out, err = pipeline(sh(wfctl_demo("tail", COMPLETED, "-o", "jsonl")) + " | head -1")
    assert (status, err) == (0, "")
    assert (
        out.startswith('{"kind":"event","runId":"wrun_01M81014TS51H8GCDZKV8CP8WA","offset":')
        and '"type":"run_created"' in out
        and out.count("\n") == 1
    )


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--limit", "20000"),
        ("list", "--limit", "20000", "-o", "table"),
        ("list", "--limit", "20000", "-o", "jsonl"),
        ("list", "--all", "--limit", "500", "-o", "id"),
        ("tail", "run-000000", "-o", "jsonl"),
        ("tail", "run-000000", "-o", "plain"),
        ("tail", "run-000000", "-o", "table"),
    ],
    ids=lambda a: " ".join(a),
)
def test_head_1_of_a_large_output(args):
    # Megabytes of output: wfctl is still writing when head exits, so its next write fails (EPIPE).
    status, out, err = pipeline(sh(wfctl_memory(*args)) + " | head -1")
    assert (status, err, out.count("\n")) == (0, "", 1)


def test_a_reader_that_stays_gets_everything_and_the_exit_code():
    # The same commands without an early exit: nothing is lost, and the run's state decides the code.
    status, out, err = pipeline(sh(wfctl_memory("list", "--limit", "20000", "-o", "id", runs=20_000)) + " | wc -l")
    assert (status, out.strip(), err) == (0, "20000", "")
    status, _, _ = pipeline(sh(wfctl_demo("status", CANCELLED)) + " | cat")
    assert status == 11


def test_guarded_stream_turns_a_broken_pipe_into_output_closed():
    class Broken:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        writelines = write
        encoding = "utf-8"

    stream = GuardedStream(Broken())  # type: ignore[arg-type]
    assert stream.encoding == "utf-8"
    for action in (lambda: stream.write("x"), stream.flush, lambda: stream.writelines(["x"])):
        with pytest.raises(OutputClosed):
            try:
                action()
            except Exception:  # a fallback that catches Exception must not swallow a closed pipe
                pytest.fail("OutputClosed was caught as an Exception")
    assert not issubclass(OutputClosed, Exception) and not issubclass(OutputClosed, OSError)
