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
    from .app import run

    raise SystemExit(run(args))


if __name__ == "__main__":  # pragma: no cover
    main()
