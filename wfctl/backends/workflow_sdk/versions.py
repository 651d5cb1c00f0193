"""The Workflow SDK version gate: which format versions wfctl reads, and which it writes, per world.

Every Workflow SDK run carries a ``specVersion`` (missing means 1, the SDK's own rule). The SDK gates on it
itself: a world older than a run refuses the run (``requiresNewerWorld``). wfctl does the same, more
strictly for writes: it writes (cancel, wake, start, rerun, resume) only into runs whose spec version it was
proven against on a real app of that line (per operation where they differ: ``WorldSupport.operations``), and
refuses anything else before touching the store (exit 6). Reads of a newer run
show what they can, with one warning per version. ``docs`` for users: the README's compatibility table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ...errors import UnsupportedError

if TYPE_CHECKING:  # the standard decorator for type checkers; at run time, one without its import cost
    from dataclasses import dataclass, field
else:
    from ..._record import dataclass, field

#: What each spec version added (``@workflow/world`` ``spec-version``).
SPEC_FEATURES = {
    1: "legacy (pre-event-sourcing)",
    2: "event sourcing",
    3: "CBOR queue transport",
    4: "run attributes",
    5: "compressed payloads",
    6: "slot-numbered event ids",
    7: "sealed log",
}

#: The highest spec version wfctl reads completely (payload formats, event ids, event types).
READ_MAX = 7
SPEC_LEGACY = 1
SPEC_SLOT_IDS = 6


@dataclass(frozen=True)
class WorldSupport:
    """The spec versions wfctl writes into on one world, and what those writes were proven against."""

    world: str
    writes: frozenset[int]
    proven: str
    #: Where the user can act instead when wfctl refuses.
    fallback: str
    #: Operations proven on fewer spec versions than ``writes`` (none today: cancel, wake, start, rerun and
    #: resume are proven on the same ones). For start and rerun the spec version is the new run's.
    operations: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def writes_for(self, operation: str) -> frozenset[int]:
        return self.operations.get(operation, self.writes)

    def writes_text(self, operation: str | None = None) -> str:
        return _join(sorted(self.writes if operation is None else self.writes_for(operation))) or "none"


LOCAL = WorldSupport(
    "local",
    frozenset({3, 6, 7}),
    "workflow 4.8.9 (spec 3) and 5.0.0-beta.55 (specs 6 and 7) apps",
    "the app's own 'npx workflow cancel', or the Wake up button of 'npx workflow web'",
)
POSTGRES = WorldSupport(
    "postgres",
    frozenset({3}),
    "@workflow/world-postgres 4.3.7 (spec 3)",
    "the app's own 'npx workflow cancel --backend @workflow/world-postgres', or the Wake up button of "
    "'npx workflow web'",
)
VERCEL = WorldSupport(
    "vercel",
    frozenset({1, 2, 3}),
    "the @workflow/world-vercel 4.x API contract",
    "the app's own 'npx workflow cancel --backend vercel', or the Vercel dashboard",
)


def spec_of(value: Any) -> int:
    """A run's spec version: an int (or a numeric string, as Postgres stores it); missing means 1 (legacy)."""
    if isinstance(value, bool):
        return SPEC_LEGACY
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return SPEC_LEGACY


def describe(spec: int) -> str:
    feature = SPEC_FEATURES.get(spec)
    return f"specVersion {spec}" + (f" ({feature})" if feature else " (unknown to this wfctl)")


def write_refusal(support: WorldSupport, run_id: str, spec_value: Any, operation: str) -> str | None:
    """Why ``operation`` may not write into this run (one sentence), or None when it may."""
    spec = spec_of(spec_value)
    if spec in support.writes_for(operation):
        return None
    newer = " newer than wfctl knows;" if spec > READ_MAX else ""
    return (
        f"run {run_id} has {describe(spec)},{newer} wfctl {operation}s Workflow SDK {support.world}-world runs "
        f"of spec versions {support.writes_text(operation)} only; nothing was changed"
    )


def refusal_hint(support: WorldSupport) -> str:
    return f"upgrade wfctl, or use {support.fallback}"


def check_write(support: WorldSupport, run_id: str, spec_value: Any, operation: str) -> None:
    """Raise :class:`UnsupportedError` (exit 6) unless wfctl writes into runs of this spec version."""
    reason = write_refusal(support, run_id, spec_value, operation)
    if reason is not None:
        raise UnsupportedError(reason, hint=refusal_hint(support))


class ReadWarner:
    """Warn once per spec version newer than :data:`READ_MAX` (reads go on and show what they can)."""

    def __init__(self, warn: Callable[[str], None]):
        self.warn = warn
        self.seen: set[int] = set()

    def check(self, spec_value: Any, run_id: str | None = None) -> None:
        spec = spec_of(spec_value)
        if spec > READ_MAX and spec not in self.seen:
            self.seen.add(spec)
            where = f"run {run_id} has" if run_id else "runs have"
            self.warn(
                f"{where} specVersion {spec}, newer than this wfctl reads (up to {READ_MAX}): "
                "showing what it can; upgrade wfctl"
            )


def doctor_line(support: WorldSupport, specs: Iterable[Any]) -> tuple[bool, str]:
    """(ok, detail) for ``config doctor``: the spec versions seen and which wfctl reads and writes."""
    counts: dict[int, int] = {}
    for value in specs:
        spec = spec_of(value)
        counts[spec] = counts.get(spec, 0) + 1
    if not counts:
        return True, (
            f"no runs yet; wfctl reads spec versions 1-{READ_MAX} and writes "
            f"{support.writes_text()} ({support.world} world)"
        )
    parts = []
    for spec in sorted(counts):
        mode = "read+write" if spec in support.writes else ("read only" if spec <= READ_MAX else "newer: partly read")
        parts.append(f"{spec} ×{counts[spec]} ({mode})")
    ok = max(counts) <= READ_MAX
    return ok, "spec versions seen: " + ", ".join(parts) + f"; wfctl writes {support.writes_text()}"


def _join(items: list[int]) -> str:
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
