"""Timestamp parsing and RFC 3339 formatting (no heavy imports: used at start-up)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any


def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds: ``2026-11-22T04:19:07.060Z`` (four-digit years: ``0999-...``). A time
    within hours of year 1 or 9999 whose UTC instant Python cannot hold keeps its own offset
    (``0001-01-01T00:30:00.000+01:00``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        value = value.astimezone(timezone.utc)
    except OverflowError:
        return value.isoformat(timespec="milliseconds")
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_time(value: Any) -> datetime | None:
    """Parse an engine timestamp (ISO string, epoch ms, datetime) into aware UTC; None when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # beyond the years 1-9999, or NaN
            return None
    text = str(value).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    # Python < 3.11 accepts at most 6 fractional digits; engines send up to 9.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{(digits + '000000')[:6]}{rest}"
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` value (delta-seconds or an HTTP date); None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def is_wfctl_time(ts: Any) -> bool:
    """True when ``ts`` is already an RFC 3339 UTC time in wfctl's form (``2026-11-22T04:20:58.449Z``)."""
    return ts.__class__ is str and len(ts) == 24 and ts[23] == "Z" and ts[10] == "T" and ts[19] == "."
