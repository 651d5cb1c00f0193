"""Console entry point. ``wfctl --version`` answers here, before Typer, Rich or
httpx are imported; everything else goes to :mod:`wfctl.app`.

A closed pipe ends wfctl here, quietly and with exit 0 (README, "Output"):
``wfctl list | head -1`` is a reader that took what it wanted, not an error.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from . import __version__

        try:
            sys.stdout.write(f"wfctl {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            _silence()
        raise SystemExit(0)
    import gc

    # A short-lived process that may allocate millions of short-lived objects (a catch-up of a million
    # events): look for cycles among young objects every 10,000 allocations instead of every 700, so most
    # of them are freed before the collector ever walks them (~3% of such a catch-up's time).
    gc.set_threshold(10_000, 10, 10)
    console = argv is None
    if console:
        # Start-up (docs/architecture.md, "Start-up"): the modules, classes and parser built until the command
        # runs are kept until the process ends, so the cycle collector is off while they are built (it walked
        # them two or three times, ~3.5 ms of a read command) and they are then frozen out of its sight; the
        # standard modules that Typer imports and a command may never use load on first use.
        gc.disable()
        from ._defer import install

        install()
    from .output import OutputClosed, guard_std_streams

    guard_std_streams()
    try:
        from .app import run

        if console:
            gc.freeze()
            gc.enable()
        code = run(args)
        sys.stdout.flush()  # here, where a closed pipe can still be caught, not in the interpreter's exit
    except OutputClosed:
        _silence()
        code = 0
    if console:  # the console script: the process ends here
        _exit_now(code)
    raise SystemExit(code)


def _exit_now(code: int) -> None:
    """End the process without the interpreter's teardown — freeing every module and object one by one, about
    7 ms of a read command's ~80 (docs/architecture.md, "Start-up") — when nothing else needs it: no other
    thread alive, the exit handlers (``atexit``: weakref finalizers, temporary directories) run first, and
    stdout and stderr flushed. Otherwise (or if any of that fails) the normal exit."""
    import atexit
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if threading.active_count() != 1 or run_exit_handlers is None or not isinstance(code, int):
        return
    try:
        run_exit_handlers()
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    import os

    os._exit(code)


def _silence() -> None:
    """The reader has gone: point file descriptors 1 and 2 at ``/dev/null``, so that the interpreter's last
    flush of whatever is still buffered finds a reader and prints nothing."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    main()
