"""Console entry point. ``wfctl --version`` answers here, before Typer, Rich or
httpx are imported; everything else goes to :mod:`wfctl.app`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from . import __version__

        sys.stdout.write(f"wfctl {__version__}\n")
        raise SystemExit(0)
    import gc

    # A short-lived process that may allocate millions of short-lived objects (a catch-up of a million
    # events): look for cycles among young objects every 10,000 allocations instead of every 700, so most
    # of them are freed before the collector ever walks them (~3% of such a catch-up's time).
    gc.set_threshold(10_000, 10, 10)
    from .app import run

    raise SystemExit(run(args))


if __name__ == "__main__":  # pragma: no cover
    main()
