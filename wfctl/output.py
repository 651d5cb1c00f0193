"""Output options and the formats that need no Rich: plain, json, jsonl, id (README, "Output").

stdout carries data only; :func:`note`, :func:`warn` and :func:`error_line` write to
stderr. Text that comes from an engine goes through :func:`clean` before it
reaches a terminal: control characters and escape sequences become visible
``\\xNN`` escapes. (Rich markup is neutralised in the renderers, which build
``Text`` objects instead of markup strings.)

A reader that goes away (``wfctl list | head -1``) ends wfctl quietly with exit 0: the
entry point wraps stdout and stderr in :class:`GuardedStream`, which turns a broken pipe
into :class:`OutputClosed` (README, "Output").
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Sequence, TextIO

from .errors import UsageError
from .times import iso

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass
else:
    from ._record import dataclass

FORMATS = ("table", "plain", "json", "jsonl", "id")
TIME_MODES = ("relative", "iso", "local")
COLOR_MODES = ("auto", "always", "never")

# C0 controls, DEL, C1 controls, the line and paragraph separators (a line end to str.splitlines and to
# JavaScript), bidi overrides/isolates, and lone surrogates (JSON can carry "\ud800" alone, and engines written in
# JavaScript do; no UTF-8 encodes one, so writing it raw would end the command).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: Any) -> str:
    """Engine-supplied text made safe for a terminal or a TSV cell."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text)


def clean_multiline(value: Any) -> str:
    """Like :func:`clean` but keeps newlines and tabs (for multi-line blocks)."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) in "\n\t" else _escape(m), text)


def to_json_text(value: Any, *, indent: int | None = None, spaced: bool = False) -> str:
    """JSON text made safe for a terminal: one compact line (``jsonl``), one line with a space after ``,``
    and ``:`` (``spaced``: values shown to people in tables and tail lines), or indented (``-o json``)."""
    if indent is None:
        text = (_encode_spaced if spaced else _encode)(value)
    else:
        text = json.dumps(value, ensure_ascii=False, indent=indent, default=_default)
    if text.isascii() and "\x7f" not in text:  # the common case, checked in C: nothing to escape
        return text
    # json escapes C0 already; escape C1/DEL/bidi too so a terminal never sees them raw.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (bytes, bytearray)):
        import base64

        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


#: One-line JSON (``jsonl``, values in cells) is compact, like ``jq -c``: no space after ``,`` and ``:``.
#: ``COMPACT_JSON`` is public for writers that build JSON lines column by column (``wfctl.render.flue``): its
#: ``encode`` and ``default`` are this module's; ``JSON_UNSAFE`` is what :func:`to_json_text` escapes after it.
COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)  # built once
_encode = COMPACT_JSON.encode
JSON_UNSAFE = _JSON_UNSAFE
_encode_spaced = json.JSONEncoder(ensure_ascii=False, default=_default).encode


# -- closed pipes --------------------------------------------------------------


class OutputClosed(BaseException):
    """stdout's (or stderr's) reader has gone away: stop, and exit 0 without a word.

    A ``BaseException``, like ``KeyboardInterrupt``: it ends the command wherever the write happened, and
    no ``except Exception`` fallback on the way (a backend's retry, a best-effort decoration) may swallow
    it and carry on writing into nothing. It is not an ``OSError`` either, so Click does not turn it into
    exit 1. :func:`wfctl.cli.main` catches it."""


class GuardedStream:
    """A text stream whose broken pipe raises :class:`OutputClosed`; everything else is the stream's own."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise OutputClosed() from None

    def writelines(self, lines: Iterable[str]) -> None:
        try:
            self._stream.writelines(lines)
        except BrokenPipeError:
            raise OutputClosed() from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise OutputClosed() from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_std_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (once) so that a closed pipe raises :class:`OutputClosed`."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, GuardedStream):
            setattr(sys, name, GuardedStream(stream))


# -- time ----------------------------------------------------------------------


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = abs(seconds)
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{int(seconds)}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def now() -> datetime:
    """The current time; ``WFCTL_NOW`` (RFC 3339) pins it for reproducible screenshots and snapshot tests."""
    pinned = os.environ.get("WFCTL_NOW")
    if pinned:
        from .times import parse_time

        value = parse_time(pinned)
        if value is not None:
            return value
    return datetime.now(timezone.utc)


def relative(when: datetime, now_: datetime | None = None) -> str:
    now_ = now_ or now()
    delta = (now_ - when).total_seconds()
    if abs(delta) < 1:
        return "just now"
    if delta > 0:
        return human_duration(_coarse(delta)) + " ago"
    return "in " + human_duration(_coarse(-delta))


def _coarse(seconds: float) -> float:
    # "5m ago", not "5m03s ago": relative times drop the smallest unit above a minute.
    if seconds < 60:
        return float(int(seconds))
    if seconds < 3600:
        return float(int(seconds // 60) * 60)
    if seconds < 48 * 3600:
        return float(int(seconds // 60) * 60)
    return float(int(seconds // 3600) * 3600)


def format_time(when: datetime | None, mode: str, now_: datetime | None = None) -> str:
    if when is None:
        return "-"
    if mode == "iso":
        return iso(when) or "-"
    if mode == "local":
        local = _local(when)
        return _date(local) + local.strftime(" %H:%M:%S") + ("" if local is not when else _own_zone(when))
    return relative(when, now_)


def _local(when: datetime) -> datetime:
    """``when`` in the local time zone; ``when`` itself if that falls outside the years 1-9999 (an engine's
    ``9999-12-31T23:30Z`` east of UTC), so the caller shows it in its own zone instead of failing."""
    try:
        return when.astimezone()
    except (OverflowError, ValueError):
        return when


def _own_zone(when: datetime) -> str:
    return " " + (when.tzname() or "UTC")


def _date(when: datetime) -> str:
    """``YYYY-MM-DD`` with four-digit years (``strftime("%Y")`` gives ``1`` for the year 1 on Linux)."""
    return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"


def clock(when: datetime, mode: str, *, dated: bool) -> str:
    """A time in a log line (``tail``), to the millisecond: ``iso`` RFC 3339 UTC, ``local`` the local date
    and time, otherwise (``relative``: a log's lines do not age) the local time of day, with the date in
    front when ``dated``."""
    if mode == "iso":
        return iso(when) or "-"
    local = _local(when)
    text = local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    if local is when:  # not in the local zone: say which, with the date
        return f"{_date(local)} {text}{_own_zone(when)}"
    return f"{_date(local)} {text}" if (dated or mode == "local") else text


def is_today(when: datetime, now_: datetime | None = None) -> bool:
    """Whether ``when`` falls on the local calendar day of now (``WFCTL_NOW`` when pinned)."""
    local = _local(when)
    return local is not when and local.date() == (now_ or now()).astimezone().date()


# -- options -------------------------------------------------------------------


@dataclass
class OutputOptions:
    format: str = "plain"
    fields: list[str] | None = None
    color: bool = False
    time: str = "relative"
    quiet: bool = False
    tty: bool = False
    width: int | None = None
    verbose: bool = False

    @property
    def structured(self) -> bool:
        return self.format in ("json", "jsonl")


def stream_is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def decide_color(mode: str | None, tty: bool, env: dict[str, str] | os._Environ[str]) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR") or env.get("CLICOLOR_FORCE"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return tty


def parse_fields(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    out = [f.strip() for f in raw.split(",") if f.strip()]
    return out or None


def check_fields(fields: Sequence[str] | None, valid: Sequence[str]) -> None:
    if not fields:
        return
    unknown = [f for f in fields if f not in valid]
    if unknown:
        raise UsageError(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            hint="valid fields: " + ", ".join(valid),
        )


def select(obj: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    if not fields:
        return obj
    return {f: obj.get(f) for f in fields}


# -- writers -------------------------------------------------------------------


def out() -> TextIO:
    return sys.stdout


def write(line: str = "") -> None:
    stream = sys.stdout
    stream.write(line + "\n")


def write_json(value: Any, *, pretty: bool = True) -> None:
    write(to_json_text(value, indent=2 if pretty else None))


def write_jsonl(value: Any) -> None:
    write(to_json_text(value))
    sys.stdout.flush()


def plain_cell(value: Any) -> str:
    """One TSV cell: RFC 3339 times, compact JSON for structures, escapes for controls."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return clean(to_json_text(value))
    return clean(value)


def write_tsv(rows: Iterable[Sequence[Any]]) -> None:
    for row in rows:
        write("\t".join(plain_cell(v) for v in row))


def note(message: str) -> None:
    """Progress or information for humans: stderr, never stdout. Notes quote engine text (a wake's message,
    a cursor), so control characters and escape sequences are neutralised here too; lines and tabs stay."""
    sys.stderr.write(clean_multiline(message) + "\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    note(f"warning: {message}")


def error_line(message: str, hint: str | None = None) -> None:
    note(f"error: {clean(message)}")
    if hint:
        note(f"hint: {clean(hint)}")
