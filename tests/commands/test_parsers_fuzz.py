"""Property-based tests (Hypothesis) of the parsers of user and engine text that are not payloads: durations,
points in time and counts on the command line (wfctl/commands/options.py, wfctl/waiting.py's
``parse_duration``), engine timestamps and ``Retry-After`` (wfctl/times.py), run ids and offsets
(``check_run_id``, wfctl/backends/workflow_sdk/ids.py, the local world's offset check), and record times
(wfctl/backends/workflow_sdk/records.py).

Properties: a bad value is a :class:`UsageError` (exit 2, one line), never another exception; engine text that is
not a time is ``None``; every time wfctl reads is written back as RFC 3339 and read again as the same instant.
Through the CLI too: any duration, time or count argument exits 0 or 2 against the memory backend, never 1. The
budget: the Hypothesis profile (tests/conftest.py; CONTRIBUTING.md, "Fuzzing").
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wfctl.backends.workflow_sdk import ids, records
from wfctl.backends.workflow_sdk.local import _CHUNK_OFFSET, _EVENT_OFFSET
from wfctl.backends.workflow_sdk.streams import chunk_offset
from wfctl.commands.options import MAX_RUN_ID, Count, Duration, When, check_run_id, check_text
from wfctl.errors import UsageError
from wfctl.times import iso, parse_time, retry_after_seconds

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: text as a user types it, or an engine sends it: some of it near the accepted forms
texts = st.one_of(
    st.text(max_size=30),
    st.from_regex(
        r"[ +-]?[0-9٣²]{0,5}(\.[0-9]{0,3})?(ms|s|m|h|d|w|S|M|x)?([0-9]{1,3}(ms|s|m|h|d))?\s?", fullmatch=True
    ),
    st.from_regex(
        r"-?[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{0,12})?)?)?"
        r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?",
        fullmatch=True,
    ),
)
aware_datetimes = st.datetimes(
    timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60 - 59, 23 * 60 + 59))
)


def one_line(exc: UsageError) -> None:
    assert exc.message and "\n" not in exc.message


# -- durations, points in time, counts ----------------------------------------------------------------------------


@given(texts)
@example("1e400")
@example("9" * 64)
@example("-0")
@example("٣s")
@example("²")
def test_a_duration_is_seconds_within_bounds_or_a_usage_error(text):
    try:
        seconds = Duration(3600.0).convert(text, None, None)
    except UsageError as exc:
        one_line(exc)
        return
    assert isinstance(seconds, float) and 0 < seconds <= 3600.0 and math.isfinite(seconds)


@given(st.lists(st.tuples(st.integers(0, 999), st.sampled_from(sorted(UNITS))), min_size=1, max_size=3))
def test_duration_forms_add_up(parts):
    text = "".join(f"{n}{unit}" for n, unit in parts)
    seconds = sum(n * UNITS[unit] for n, unit in parts)
    try:
        assert Duration(10**12).convert(text, None, None) == pytest.approx(seconds)
    except UsageError:
        assert seconds == 0


@given(texts)
@example("0001-01-01T00:00:00+01:00")  # before year 1 in UTC
@example("9999-12-31T23:59:59-23:59")
@example("2026-11-22T04:19:07.123456789Z")
@example("36600d")
def test_a_point_in_time_is_an_aware_datetime_or_a_usage_error(text):
    try:
        when = When().convert(text, None, None)
    except UsageError as exc:
        one_line(exc)
        return
    assert when.tzinfo is not None
    assert RFC3339.fullmatch(iso(when))


@given(aware_datetimes)
def test_a_time_wfctl_writes_is_read_back_as_the_same_instant(when):
    text = iso(when)
    assert RFC3339.fullmatch(text), text
    read = When().convert(text, None, None)
    assert read == when.replace(microsecond=when.microsecond // 1000 * 1000)
    assert iso(read) == text


@given(texts, st.integers(-5, 5), st.integers(0, 10**7))
@example("1" * 40, 1, 10)
@example("+0", 0, 0)
def test_a_count_is_within_bounds_or_a_usage_error(text, low, span):
    try:
        number = Count(low, low + span).convert(text, None, None)
    except UsageError as exc:
        one_line(exc)
        return
    assert low <= number <= low + span and number == int(text.strip())


# -- engine timestamps --------------------------------------------------------------------------------------------


@given(
    st.one_of(
        texts,
        st.integers(),
        st.floats(),
        st.datetimes(),
        aware_datetimes,
        st.none(),
        st.booleans(),
    )
)
@example(1e20)  # epoch ms beyond year 9999: was OverflowError
@example(float("nan"))  # was ValueError
@example(-(10**17))
@example("0001-01-01T00:00:00+01:00")  # a UTC instant before year 1: iso() raised OverflowError
@example("0999-01-01T00:00:00Z")  # iso() wrote "999-01-01..." (strftime's %Y has no leading zeros here)
def test_engine_timestamps_are_a_time_or_none(value):
    when = parse_time(value)
    if when is None:
        return
    assert when.tzinfo is not None
    text = iso(when)
    assert RFC3339.fullmatch(text), text
    assert parse_time(text) == when.replace(microsecond=when.microsecond // 1000 * 1000)


@given(texts | st.from_regex(r"(Mon|Tue), [0-9]{1,2} [A-Z][a-z]{2} [0-9]{2,4} [0-9:]{0,8}( GMT| [+-][0-9]{4})?"))
@example("1e400")
@example("nan")
@example("Wed, 21 Oct 2015 07:28:00 GMT")
@example("Wed, 21 Oct 99999 07:28:00 GMT")
def test_retry_after_is_seconds_or_none(value):
    seconds = retry_after_seconds(value)
    assert seconds is None or (isinstance(seconds, float) and seconds >= 0)


# -- run ids, offsets, record times ---------------------------------------------------------------------------------


@given(st.text(max_size=40) | st.text(min_size=MAX_RUN_ID - 2, max_size=MAX_RUN_ID + 2))
@example("wrun_01M81013R4XC1AH1NY0GMYME33")
@example("a/b")
@example("\x1b[31m")
@example("\ud800")
def test_a_run_id_is_kept_or_a_usage_error(run_id):
    try:
        assert check_run_id(run_id) == run_id
    except UsageError as exc:
        one_line(exc)
        return
    assert "/" not in run_id and len(run_id) <= MAX_RUN_ID
    normalized = ids.normalize_run_id(run_id)
    assert normalized == run_id.strip() or normalized == "wrun_" + run_id.strip().upper()


@given(st.text(max_size=40), st.booleans())
def test_free_text_is_kept_or_a_usage_error(text, lines):
    try:
        assert check_text(text, "--workflow", lines=lines) == text
    except UsageError as exc:
        one_line(exc)


@given(st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZabcz_#٣²", max_size=40) | st.text(max_size=40))
@example("chnk_01ARZ3NDEKTSV4RRFFQ69G5FAV#٣")  # \d takes every decimal digit: read as 3, as int() does
def test_offsets_the_local_world_accepts_are_read_as_written(offset):
    if _CHUNK_OFFSET.fullmatch(offset):
        chunk, _, k = offset.partition("#")
        assert chunk_offset(offset) == (chunk, int(k) if k else 0)
    _EVENT_OFFSET.fullmatch(offset)


@given(st.integers(0, (1 << 48) - 1), st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=16, max_size=16))
@example((1 << 48) - 1, "Z" * 16)  # the last ULID time, year 10889: record_time raised ValueError
def test_ulid_times_and_record_times(ms, randomness):
    ulid = ids.ulid_time_prefix(ms) + randomness
    assert ids.is_ulid(ulid)
    if not ulid.startswith("0" * 10):
        assert ids.ulid_time_ms("wrun_" + ulid) == ms
    when = records.record_time(None, "wrun_" + ulid)
    assert when is None or iso(when)


@given(st.text(max_size=40), st.one_of(st.none(), texts, st.integers(), st.floats()))
def test_record_times_and_ids_never_raise(text, value):
    ids.ulid_time_ms(text)
    ids.slot_of(text)
    ids.normalize_run_id(text)
    when = records.record_time(value, text)
    assert when is None or RFC3339.fullmatch(iso(when))


# -- through the CLI --------------------------------------------------------------------------------------------

#: half the profile's examples: each runs wfctl in-process (~15 ms)
CLI = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    max_examples=max(25, settings.default.max_examples // 2),
)


@pytest.fixture
def world(memory_world):
    memory_world.add("r1", "completed", minutes=1)
    return memory_world


def _exits_0_or_2(r) -> None:
    assert r.exit_code in (0, 2), (r.exit_code, r.stderr)
    if r.exit_code == 2:
        lines = r.stderr.rstrip("\n").split("\n")  # lines a terminal shows (U+2028 is no line end there)
        assert lines and lines[0].startswith("error: ") and len(lines) <= 2 and r.stdout == "", r.stderr


@CLI
@given(st.sampled_from(["--since", "--until"]), texts)
def test_cli_times_exit_0_or_2(cli, world, flag, text):
    _exits_0_or_2(cli("--backend", "memory", "list", flag, text, "-o", "json"))


@CLI
@given(st.sampled_from(["--interval", "--timeout"]), texts)
@example("--interval", "\x1f\u2028\u2028")  # U+2028 in the error line: a line end to str.splitlines only
def test_cli_durations_exit_0_or_2(cli, world, flag, text):
    _exits_0_or_2(cli("--backend", "memory", "status", "r1", "--wait", flag, text, "-o", "json"))


@CLI
@given(texts)
def test_cli_counts_exit_0_or_2(cli, world, text):
    _exits_0_or_2(cli("--backend", "memory", "list", "--limit", text, "-o", "json"))


@pytest.fixture
def project(tmp_path):
    """A copy of the recorded Workflow SDK local world (examples/workflow-sdk-demo); the commands below only read."""
    import shutil
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "examples" / "workflow-sdk-demo" / ".workflow-data"
    shutil.copytree(demo, tmp_path / "app" / ".workflow-data")
    return tmp_path / "app"


RUNNING = "wrun_01M81013R4XC1AH1NY0GMYME33"  # sleeping in the recording
#: a quarter of the profile's examples: each reads the recorded world (~20 ms)
CLI_WORLD = settings(CLI, max_examples=max(25, settings.default.max_examples // 4))
offsets = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"(evnt|chnk)_[0-9A-Za-z٣]{24,27}(#[0-9²٣]{0,12})?", fullmatch=True),
)


@CLI_WORLD
@given(st.text(max_size=40) | st.sampled_from([RUNNING, RUNNING.lower()[5:], " " + RUNNING, RUNNING + ".json"]))
@example("../runs")
@example("wrun_" + "Z" * 26)  # a ULID time past year 9999
def test_cli_run_ids_exit_0_2_or_3(cli, project, run_id):
    r = cli("status", run_id, "-o", "json", cwd=project)
    assert r.exit_code in (0, 2, 3, 10, 11, 12), (r.exit_code, r.stderr)
    if r.exit_code in (2, 3):
        lines = r.stderr.rstrip("\n").split("\n")  # lines a terminal shows (U+2028 is no line end there)
        assert lines[0].startswith("error: ") and len(lines) <= 2 and r.stdout == "", r.stderr


@CLI_WORLD
@given(offsets, st.booleans())
@example("chnk_01M81013R4XC1AH1NY0GMYME33#²", True)
@example("chnk_01M81013R4XC1AH1NY0GMYME33#٣", True)
def test_cli_offsets_exit_with_the_runs_state_or_2(cli, project, offset, stream):
    args = ["tail", RUNNING, "--offset", offset, "-o", "jsonl"] + (["--stream"] if stream else [])
    r = cli(*args, cwd=project)
    assert r.exit_code in (2, 12), (r.exit_code, r.stderr)  # the recorded run is sleeping: 12 once printed
    if r.exit_code == 2:
        lines = r.stderr.rstrip("\n").split("\n")  # lines a terminal shows (U+2028 is no line end there)
        assert lines[0].startswith("error: ") and len(lines) <= 2 and r.stdout == "", r.stderr


# -- list cursors (user input: a cursor a previous list printed, or anything) -------------------------------------


def _vercel_cursor(payload: bytes) -> str:
    from wfctl.backends.workflow_sdk.streams import b64url
    from wfctl.backends.workflow_sdk.vercel import CURSOR_PREFIX

    return CURSOR_PREFIX + b64url(payload)


cursor_payloads = st.one_of(
    st.binary(max_size=60),
    st.fixed_dictionaries(
        {},
        optional={
            "c": st.none() | st.text(max_size=5) | st.integers(),
            "s": st.integers(-3, 10**30) | st.floats() | st.text(max_size=3),
            "l": st.integers(-3, 10**6) | st.floats() | st.none(),
        },
    ).map(lambda d: json.dumps(d).encode()),
)


@given(cursor_payloads | st.text(max_size=30).map(str.encode))
@example(b'{"c":null,"s":1e400,"l":10}')
@example(b"[" * 3000)
def test_a_vercel_list_cursor_is_read_or_a_usage_error(payload):
    from wfctl.backends.workflow_sdk.vercel import _decode_list_cursor

    for cursor in (_vercel_cursor(payload), payload.decode("utf-8", "replace")):
        try:
            _decode_list_cursor(cursor)
        except UsageError as exc:
            one_line(exc)
