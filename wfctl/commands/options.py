"""Options several commands share, declared once: the run id argument, durations (``--interval``,
``--timeout``), times (``--since``, ``--until``), bounded counts (``--limit``, ``--last``), the filters
(``--status``, ``--workflow``), ``--wait`` and ``--dry-run``, free-text and identifier checks, and the help
layout every command uses (examples, the global options, ``RUN_ID`` in the usage line).

Each declaration is a small function returning the Typer option (or argument) a parameter takes as its
default: a command passes what differs (its help sentence, its default), the declaration keeps what must not
(flags, metavar, value type, bounds, error messages). Typer's ``Annotated`` aliases would fit only the few
options declared identically everywhere: most differ by their help sentence, and a duration's default would
have to be a number (the help would show ``[default: 2.0]`` where it shows ``[default: 2s]``).

Values are checked while the command line is parsed, so a bad one is a usage error (exit 2) with one
``error:`` line naming the option, before any engine is reached. The README (Commands, Decisions) describes
the accepted forms.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence

import typer
from typer import _click as click
from typer._click.types import ParamType
from typer.core import TyperCommand, TyperGroup

from ..errors import UsageError
from ..waiting import DURATION_FORMS
from . import completion as _complete

WHEN_FORMS = "a duration ago (30m, 2h, 7d) or an RFC 3339 time (2026-11-22T04:00:00Z)"
MAX_WAIT = 366 * 86400.0  # a year: anything longer is a typo
MAX_AGO_DAYS = 100 * 366
MAX_TEXT = 1024  # identifiers and filters (workflow names, statuses, cursors, offsets, event types)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _flag(param: Optional[click.Parameter]) -> str:
    if param is None or not getattr(param, "opts", None):
        return "value"
    return max(param.opts, key=len)


def _needs_value(text: str, flag: str, forms: str) -> None:
    """``--last --live``: the parser took the next option as the value."""
    if text.startswith("--") or (text.startswith("-") and len(text) == 2 and text[1].isalpha()):
        raise UsageError(f"option {flag} needs a value (it was followed by the option {text})", hint=forms)


# -- run ids ---------------------------------------------------------------------------------------------

RUN_HELP = "Run id."
MAX_RUN_ID = 512


#: TAB on a run id: the ids wfctl printed recently (the local cache; never the network).
complete_run_id = _complete.complete_run_ids


def run_argument(help: str = RUN_HELP) -> Any:
    """One run id, ``RUN_ID`` in the usage line, completed from the cache; check it with :func:`check_run_id`."""
    return typer.Argument(..., help=help, metavar="RUN_ID", autocompletion=complete_run_id, show_default=False)


def run_ids_argument(help: str = "Run ids.", required: bool = True) -> Any:
    """Run ids (``RUN_ID...``); with ``required=False`` none may be given (the command takes a filter instead)."""
    return typer.Argument(
        ... if required else None, help=help, metavar="RUN_ID", autocompletion=complete_run_id, show_default=False
    )


def check_run_id(run_id: str) -> str:
    """Reject ids that cannot be run ids on any engine (empty, control characters, slashes, huge)."""
    from ..output import clean

    if not run_id or not run_id.strip():
        raise UsageError("run id is empty")
    if len(run_id) > MAX_RUN_ID:
        raise UsageError(f"invalid run id {clean(run_id)[:40]!r}…: {len(run_id)} characters; at most {MAX_RUN_ID}")
    if clean(run_id) != run_id or "/" in run_id:
        raise UsageError(f"invalid run id {clean(run_id)[:80]!r}", hint="run ids have no slashes or control characters")
    return run_id


# -- durations -----------------------------------------------------------------------------------------


class Duration(ParamType):
    """Seconds from ``2``, ``0.5``, ``500ms``, ``1s``, ``10m``, ``2h``, ``1d``, ``1h30m``: more than 0, at most
    ``maximum``."""

    name = "duration"

    def __init__(self, maximum: float = MAX_WAIT):
        self.maximum = maximum

    def get_metavar(self, param: click.Parameter, ctx: Optional[click.Context] = None) -> str:
        return "DURATION"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> float:
        from ..waiting import parse_duration

        flag = _flag(param)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            text = str(value)
            _needs_value(text, flag, DURATION_FORMS)
            if text.strip().startswith("-"):
                parse_duration(text.strip()[1:], flag=flag)  # a negative duration: say so, not "not a duration"
                raise UsageError(f"invalid {flag} {text!r}: must be more than 0", hint=DURATION_FORMS)
            seconds = parse_duration(text, flag=flag)
        if not seconds > 0:
            raise UsageError(f"invalid {flag} {value!r}: must be more than 0", hint=DURATION_FORMS)
        if seconds > self.maximum:
            raise UsageError(f"invalid {flag} {value!r}: at most {_human(self.maximum)}", hint=DURATION_FORMS)
        return seconds


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def duration_option(default: Optional[str], flag: str, help: str, *, maximum: float = MAX_WAIT) -> Any:
    """A duration option; ``default`` is shown as written (``2s``), None for none."""
    suffix = f" Format: {DURATION_FORMS}."
    return typer.Option(
        default, flag, help=help + suffix, click_type=Duration(maximum), show_default=default is not None
    )


def interval_option(default: str, help: str = "Time between checks while waiting.") -> Any:
    return duration_option(default, "--interval", help, maximum=3600.0)


def timeout_option(help: str = "Give up waiting after this long (exit 124) [default: wait without limit].") -> Any:
    return duration_option(None, "--timeout", help)


# -- points in time --------------------------------------------------------------------------------------


class When(ParamType):
    """``--since``/``--until``: a duration ago (``30m``, ``2h``, ``7d``; any :class:`Duration` form) or an
    RFC 3339 time; an aware UTC datetime."""

    name = "when"

    def get_metavar(self, param: click.Parameter, ctx: Optional[click.Context] = None) -> str:
        return "WHEN"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> datetime:
        if isinstance(value, datetime):
            return value
        flag = _flag(param)
        text = str(value).strip()
        _needs_value(text, flag, WHEN_FORMS)
        if text and text[0].isdigit() and not any(c in text for c in "-:T"):
            try:
                seconds = Duration(MAX_AGO_DAYS * 86400.0).convert(text, param, ctx)
            except UsageError as exc:
                raise UsageError(exc.message, hint=f"use {WHEN_FORMS}") from None
            return datetime.now(timezone.utc) - timedelta(seconds=seconds)
        from ..model import parse_time

        when = parse_time(text) if len(text) <= 64 else None
        if when is None:
            raise UsageError(f"invalid {flag} {text[:80]!r}", hint=f"use {WHEN_FORMS}")
        return when


def when_option(flag: str, help: str) -> Any:
    return typer.Option(None, flag, help=f"{help} Format: {WHEN_FORMS}.", click_type=When(), show_default=False)


def since_option(help: str = "Created after.") -> Any:
    return when_option("--since", help)


def until_option(help: str = "Created before.") -> Any:
    return when_option("--until", help)


# -- bounded whole numbers ---------------------------------------------------------------------------------


class Count(ParamType):
    """A whole number within bounds, with wfctl's one-line error."""

    name = "count"

    def __init__(self, minimum: int, maximum: int, metavar: str = "N"):
        self.min, self.max = minimum, maximum
        self.metavar = metavar

    def get_metavar(self, param: click.Parameter, ctx: Optional[click.Context] = None) -> str:
        return self.metavar

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> int:
        flag = _flag(param)
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not re.fullmatch(r"[+-]?\d{1,30}", text):
                _needs_value(text, flag, f"a whole number from {self.min} to {self.max}")
                raise UsageError(
                    f"invalid {flag} {text[:80]!r}: not a whole number",
                    hint=f"a whole number from {self.min} to {self.max}",
                )
            number = int(text)
        if self.min is not None and number < self.min:
            raise UsageError(
                f"invalid {flag} {number}: must be at least {self.min}",
                hint=f"a whole number from {self.min} to {self.max}",
            )
        if self.max is not None and number > self.max:
            raise UsageError(
                f"invalid {flag} {_short_number(number)}: at most {self.max}",
                hint=f"a whole number from {self.min} to {self.max}",
            )
        return number


def _short_number(number: int) -> str:
    text = str(number)
    return text if len(text) <= 24 else text[:20] + "…"


def count_option(
    default: Optional[int], flags: Sequence[str], help: str, *, minimum: int, maximum: int, metavar: str = "N"
) -> Any:
    return typer.Option(
        default, *flags, help=help, click_type=Count(minimum, maximum, metavar), show_default=default is not None
    )


MAX_LIMIT = 1_000_000


def limit_option(default: int, help: str, *, short: bool = False) -> Any:
    """``--limit`` (and ``-n`` with ``short``): how many runs, 1 to a million."""
    flags = ["--limit", "-n"] if short else ["--limit"]
    return count_option(default, flags, help, minimum=1, maximum=MAX_LIMIT)


# -- filters and switches ------------------------------------------------------------------------------------


def status_option(help: str) -> Any:
    """``--status``/``-s``, repeatable: a normalized status or the engine's own word (check with
    :func:`check_texts`)."""
    return typer.Option(
        [],
        "--status",
        "-s",
        metavar="STATUS",
        help=help,
        autocompletion=_complete.complete_statuses,
    )


def workflow_option(help: str) -> Any:
    """``--workflow``/``-w``: a workflow name (or id, where the engine has both; check with :func:`check_text`)."""
    return typer.Option(None, "--workflow", "-w", metavar="NAME", help=help)


def wait_option(help: str) -> Any:
    """``--wait``: wait until the run is terminal (with :func:`timeout_option` and :func:`interval_option`, which
    apply only with it: :func:`only_with`)."""
    return typer.Option(False, "--wait", help=help)


def dry_run_option(help: str) -> Any:
    """``--dry-run``: show what the command would do; change nothing."""
    return typer.Option(False, "--dry-run", help=help)


# -- text ----------------------------------------------------------------------------------------------------


def check_text(value: Optional[str], flag: str, *, limit: int = MAX_TEXT, lines: bool = False) -> Optional[str]:
    """An identifier or filter value: no control characters (tabs and newlines only where ``lines``), at most
    ``limit`` characters. Undecodable bytes never get here (the whole command line is checked first)."""
    if value is None:
        return None
    from ..output import clean

    allowed = "\t\n\r" if lines else ""
    bad = [c for c in _CONTROL.findall(value) if c not in allowed]
    if bad:
        raise UsageError(f"invalid {flag} {clean(value)[:80]!r}: control characters are not allowed")
    if len(value) > limit:
        raise UsageError(f"invalid {flag}: {len(value)} characters; at most {limit}")
    return value


def check_texts(values: Sequence[str], flag: str, *, limit: int = MAX_TEXT) -> list[str]:
    return [check_text(v, flag, limit=limit) or "" for v in values]


# -- help ------------------------------------------------------------------------------------------------------


def examples(*lines: str) -> str:
    """An epilog of examples, kept as written (click rewraps epilogs without the ``\\b`` marker)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def first_sentence(text: str) -> str:
    """The help text's first sentence, whole (``e.g.`` and ``i.e.`` do not end one)."""
    paragraph = text.strip().split("\n\n", 1)[0].replace("\n", " ")
    for match in re.finditer(r"\.(\s|$)", paragraph):
        head = paragraph[: match.start()]
        if re.search(r"(\be\.g|\bi\.e|\betc)$", head):
            continue
        return paragraph[: match.start() + 1]
    return paragraph


class HelpLayout:
    """What every wfctl command's ``--help`` shows beyond click's: ``RUN_ID`` (not ``{run_id}``) in the usage
    line, examples, the global options it accepts, and a one-sentence summary in the command list."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if getattr(self, "options_metavar", None) else []  # type: ignore[attr-defined]
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if param.param_type_name != "argument":
                continue
            name = param.metavar or (param.name or "").upper()
            if param.nargs == -1:
                name += "..."
            pieces.append(name if param.required else f"[{name}]")
        pieces.extend(getattr(self, "_extra_usage", []))
        return pieces

    def get_short_help_str(self, limit: int = 45) -> str:
        if getattr(self, "short_help", None):
            return self.short_help  # type: ignore[attr-defined]
        return first_sentence(getattr(self, "help", None) or "")

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        root = ctx.find_root()
        if root is not ctx:
            records = [
                record
                for param in root.command.get_params(root)
                if param.name not in ("help", "version") and (record := param.get_help_record(root))
            ]
            if records:
                with formatter.section("Global options (before or after the command)"):
                    formatter.write_dl(records)
        super().format_epilog(ctx, formatter)  # type: ignore[misc]


class WfctlCommand(HelpLayout, TyperCommand):
    pass


class WfctlSubGroup(HelpLayout, TyperGroup):
    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return TyperGroup.collect_usage_pieces(self, ctx)


def given(ctx: click.Context, name: str) -> bool:
    """Whether the option was given on the command line (not its default)."""
    from typer._click.core import ParameterSource

    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def only_with(
    ctx: click.Context, needed: bool, names: Sequence[str], requirement: str, hint: str | None = None
) -> None:
    """Refuse options that have no effect without ``requirement`` (exit 2), instead of ignoring them."""
    if needed:
        return
    for name in names:
        if given(ctx, name):
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} applies only with {requirement}", hint=hint or f"add {requirement}, or drop {flag}"
            )
