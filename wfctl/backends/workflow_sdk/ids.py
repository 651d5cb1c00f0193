"""Workflow SDK ids: ULIDs (their time, minting them in order), the slot-numbered event ids of 5.0 logs, and run
ids as given on the command line. Shared by the local, Postgres and Vercel worlds."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "ID_FUTURE_MARGIN_MS",
    "ID_PAST_MARGIN_MS",
    "UlidFactory",
    "epoch_ms",
    "is_ulid",
    "new_ulid",
    "normalize_run_id",
    "slot_event_id",
    "slot_of",
    "ulid_time_ms",
    "ulid_time_prefix",
]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {c: i for i, c in enumerate(_CROCKFORD)}
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_MAX_ULID_TIME = (1 << 48) - 1

# The world accepts a client-minted run id whose ULID time is up to 24 h before or 5 min after its clock
# (@workflow/world validateUlidTimestamp), so createdAt - 24 h <= id time <= createdAt + 5 min: a run created
# at or after T has an id time at or after T - ID_PAST_MARGIN_MS, one created at or before T an id time at or
# before T + ID_FUTURE_MARGIN_MS.
ID_PAST_MARGIN_MS = 24 * 60 * 60 * 1000
ID_FUTURE_MARGIN_MS = 5 * 60 * 1000


def is_ulid(text: str) -> bool:
    return bool(_ULID_RE.match(text))


def normalize_run_id(run_id: str) -> str:
    """A run id as given on the command line: stripped, and a bare ULID prefixed with ``wrun_``."""
    run_id = run_id.strip()
    if is_ulid(run_id.upper()):
        run_id = "wrun_" + run_id.upper()
    return run_id


def slot_of(event_id: Any) -> int | None:
    """The position in a 5.0 slot-numbered event id (``evnt_`` + 26 decimal digits, the first 10 zeros); None
    for a ULID id or anything else."""
    if not isinstance(event_id, str):
        return None
    body = event_id.rsplit("_", 1)[-1]
    if len(body) != 26 or not body.isdigit() or not body.startswith("0" * 10):
        return None
    slot = int(body)
    return slot if slot >= 1 else None


def slot_event_id(slot: int) -> str:
    """Position ``slot`` (from 1) as an event id: ``evnt_00000000000000000000000007``."""
    if slot < 1:
        raise ValueError(f"invalid event slot {slot}")
    return f"evnt_{slot:026d}"


def ulid_time_ms(value: str | None) -> int | None:
    """Milliseconds since the epoch encoded in a ULID or a prefixed id (``wrun_<ULID>``); None if not one
    (a slot-numbered event id is a position, not a time)."""
    if not value:
        return None
    ulid = value.rsplit("_", 1)[-1] if "_" in value else value
    ulid = ulid.upper()
    if not _ULID_RE.match(ulid) or ulid.startswith("0" * 10):
        return None
    ms = 0
    for ch in ulid[:10]:
        ms = ms * 32 + _CROCKFORD_VALUE[ch]
    return ms


def ulid_time_prefix(ms: int) -> str:
    """The 10-character time part of a ULID for ``ms`` (clamped to the ULID range)."""
    return _crockford(max(0, min(ms, _MAX_ULID_TIME)), 10)


def epoch_ms(value: datetime | None) -> int | None:
    """Milliseconds since the epoch (a naive datetime is UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1000)


def _crockford(value: int, length: int) -> str:
    """The low ``5 * length`` bits of ``value`` in Crockford base32, most significant first."""
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class UlidFactory:
    """Monotonic ULIDs: within one millisecond the random part is incremented, so ids sort in call order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def __call__(self, now_ms: int | None = None) -> str:
        with self._lock:
            ms = int(time.time() * 1000) if now_ms is None else now_ms
            if ms <= self._last_ms:
                ms = self._last_ms
                self._last_rand += 1
                if self._last_rand >= 1 << 80:  # pragma: no cover - 2^80 ids in one millisecond
                    raise OverflowError("ULID random part overflow")
            else:
                import random  # minting ids is for writes; reads never import it

                self._last_ms = ms
                self._last_rand = random.getrandbits(80)
            value = (min(ms, _MAX_ULID_TIME) << 80) | self._last_rand
        return _crockford(value, 26)


new_ulid = UlidFactory()
