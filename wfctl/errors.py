"""Exit codes (README, "Exit codes") and the typed errors that carry them.

Every failure a user can cause or meet is raised as a :class:`WfctlError`
subclass. The CLI layer turns it into one ``error:`` line (plus an optional
``hint:`` line) on stderr and the matching exit code; nothing below the CLI
prints.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    UNAVAILABLE = 5
    UNSUPPORTED = 6
    PARTIAL = 7
    RUN_FAILED = 10
    RUN_CANCELLED = 11
    RUN_NOT_FINISHED = 12
    TIMEOUT = 124
    INTERRUPTED = 130


EXIT_CODE_HELP = {
    ExitCode.OK: "success; for status/--wait/tail: the run completed",
    ExitCode.INTERNAL: "internal error (a bug; --debug shows the traceback)",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.NOT_FOUND: "run or resource not found (a data directory included)",
    ExitCode.AUTH: "authentication or permission refused",
    ExitCode.UNAVAILABLE: "engine unreachable, timed out, or failing (after retries)",
    ExitCode.UNSUPPORTED: "operation not supported by this backend",
    ExitCode.PARTIAL: "a bulk operation partly failed (each item's outcome is printed)",
    ExitCode.RUN_FAILED: "the run failed",
    ExitCode.RUN_CANCELLED: "the run was cancelled",
    ExitCode.RUN_NOT_FINISHED: "the run has not finished (status without --wait, tail without --live)",
    ExitCode.TIMEOUT: (
        "--timeout elapsed while waiting (also while the engine did not answer); the run was left untouched"
    ),
    ExitCode.INTERRUPTED: "interrupted, or a confirmation answered no (nothing was changed)",
}


class WfctlError(Exception):
    """An expected failure: one message line, an optional hint, an exit code."""

    code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None, code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code


class UsageError(WfctlError):
    code = ExitCode.USAGE


class ConfigError(WfctlError):
    """A broken configuration file or value; the message names path, line and key."""

    code = ExitCode.USAGE


class NotFoundError(WfctlError):
    code = ExitCode.NOT_FOUND


class AuthError(WfctlError):
    code = ExitCode.AUTH


class UnavailableError(WfctlError):
    code = ExitCode.UNAVAILABLE


class UnsupportedError(WfctlError):
    code = ExitCode.UNSUPPORTED


class PartialFailure(WfctlError):
    code = ExitCode.PARTIAL


class WaitTimeout(WfctlError):
    code = ExitCode.TIMEOUT


class Interrupted(WfctlError):
    code = ExitCode.INTERRUPTED
