"""A peer process a test started: its PID, its log, and how it is stopped (SIGTERM to its process group, then
SIGKILL after a grace period). The peers start their children in a session of their own (``start_new_session``),
so the PID is the group id and the whole tree goes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal a child we started in its own session (its pid is the group id), falling back to the pid."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


class PeerProcess:
    """A running peer: use as a context manager or call :meth:`stop`. Subclasses set ``proc`` and ``log_path``
    and say how long a graceful stop may take (``stop_grace``)."""

    proc: subprocess.Popen
    log_path: Path
    stop_grace: float = 3.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def is_running(self) -> bool:
        return self.proc.poll() is None

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, grace: float | None = None) -> int | None:
        """SIGTERM to the process group, then SIGKILL after ``grace`` seconds (``stop_grace`` by default)."""
        if self.proc.poll() is None:
            signal_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_grace if grace is None else grace)
            except subprocess.TimeoutExpired:
                signal_group(self.proc, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode
