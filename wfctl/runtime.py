"""Per-invocation state: the global options, the resolved profile, output options,
the backend. Built once by the root callback and passed to every command through
the Typer context — never stored in module globals.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import output
from .errors import UsageError

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass, field
else:
    from ._record import dataclass, field

if TYPE_CHECKING:
    from .backends.base import Backend
    from .config import Profile
    from .render import Renderer


@dataclass
class Globals:
    """The options common to every command (defined once in ``wfctl.app``)."""

    profile: str | None = None
    backend: str | None = None
    url: str | None = None
    output: str | None = None
    fields: str | None = None
    color: str | None = None
    time: str | None = None
    debug: bool = False
    quiet: bool = False
    yes: bool = False
    data_dir: str | None = None
    app_url: str | None = None
    dsn: str | None = None
    namespace: str | None = None
    insecure: bool = False
    verbose: bool = False


@dataclass
class Runtime:
    g: Globals
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _backend: "Backend | None" = None

    # -- profile ---------------------------------------------------------------
    @cached_property
    def profile(self) -> "Profile":
        from .config import resolve

        flags: dict[str, Any] = {
            "backend": self.g.backend,
            "url": self.g.url,
            "data_dir": self.g.data_dir,
            "app_url": self.g.app_url,
            "dsn": self.g.dsn,
            "namespace": self.g.namespace,
            "output": self.g.output,
            "color": self.g.color,
            "time": self.g.time,
            "insecure": True if self.g.insecure else None,
        }
        profile = resolve(profile=self.g.profile, flags=flags, env=self.env)
        for message in profile.warnings:
            output.warn(message)
        return profile

    # -- output ----------------------------------------------------------------
    @cached_property
    def out(self) -> output.OutputOptions:
        tty = output.stream_is_tty(sys.stdout)
        # Flags are part of the resolved profile (flag > WFCTL_* > profile > default).
        fmt = self.profile.get("output") or ("table" if tty else "plain")
        if fmt not in output.FORMATS:
            raise UsageError(f"invalid --output {fmt!r}", hint="one of: " + ", ".join(output.FORMATS))
        color_mode = self.profile.get("color", "auto")
        if color_mode not in output.COLOR_MODES:
            raise UsageError(f"invalid --color {color_mode!r}", hint="one of: " + ", ".join(output.COLOR_MODES))
        time_mode = self.profile.get("time", "relative")
        if time_mode not in output.TIME_MODES:
            raise UsageError(f"invalid --time {time_mode!r}", hint="one of: " + ", ".join(output.TIME_MODES))
        width = None
        if self.env.get("COLUMNS", "").isdigit():
            width = int(self.env["COLUMNS"])
        return output.OutputOptions(
            format=fmt,
            fields=output.parse_fields(self.g.fields),
            color=output.decide_color(color_mode, tty, self.env) and fmt in ("table",),
            time=time_mode,
            quiet=self.g.quiet,
            tty=tty,
            width=width,
            verbose=self.g.verbose,
        )

    @property
    def format_without_profile(self) -> str:
        """The output format from ``-o`` alone (else table on a terminal, plain elsewhere), for the commands that
        must work while the configuration is broken: ``config profiles``, ``set``, ``use``, ``path``."""
        fmt = self.g.output or ("table" if output.stream_is_tty(sys.stdout) else "plain")
        if fmt not in output.FORMATS:
            raise UsageError(f"invalid --output {fmt!r}", hint="one of: " + ", ".join(output.FORMATS))
        return fmt

    @cached_property
    def render(self) -> "Renderer":
        from .render import Renderer

        return Renderer(self.out)

    # -- backend ---------------------------------------------------------------
    def backend(self, operation: str | None = None) -> "Backend":
        if self._backend is None:
            from .backends import create
            from .backends.base import BackendContext

            ctx = BackendContext(
                debug=self.g.debug,
                insecure=self.g.insecure,
                warn=output.warn,
                debug_log=lambda text: output.note(text),
            )
            self._backend = create(self.profile, ctx)
        if operation:
            self._backend.require(operation)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    # -- helpers ---------------------------------------------------------------
    def remember(self, run_ids: list[str]) -> None:
        from . import cache

        cache.remember(run_ids, self.env)

    def note(self, message: str) -> None:
        if not self.g.quiet:
            output.note(message)
