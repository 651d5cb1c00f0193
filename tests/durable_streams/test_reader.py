"""Tests of wfctl.durable_streams.

* Integration tests against the real Durable Streams reference server (``@durable-streams/server@0.3.7``,
  started by tests/doubles/ds_server.py): catch-up, long-poll, SSE (JSON, text, base64), closure, resume,
  ``now``, beyond-tail offsets, the idle watchdog and fault injection (``/_test/inject-error``).
* Unit tests with ``httpx.MockTransport`` for retry classification, ``Retry-After``, retry budgets, the
  Flue quirks (``-1`` as a next offset, echoed offsets, pages without ``Stream-Up-To-Date``) and the SSE
  parser.

No test sleeps for a fixed time: they wait on conditions with deadlines (``wait_for``/``run_bounded``).
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import tracemalloc
from typing import Any, Callable

import httpx
import pytest

from tests.doubles.ds_server import DSServer, require_server, wait_for
from wfctl.durable_streams import (  # noqa: E402
    Backoff,
    BadRequestError,
    Batch,
    GoneError,
    InvalidOffsetError,
    NetworkError,
    NotFoundError,
    ParseError,
    RateLimitedError,
    ServerError,
    SSEParser,
    StreamError,
    StreamReader,
    UnauthorizedError,
    UnexpectedStatusError,
)

FAST = Backoff(initial=0.01, multiplier=2.0, max_delay=0.2)


# ----------------------------------------------------------------------------------------------------------
# fixtures and helpers
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    yield from require_server()


@pytest.fixture(scope="module")
def slow_server():
    """A second server whose long-polls and SSE keep-alives take 5 s: live connections go silent."""
    yield from require_server(long_poll_timeout_ms=5000)


class Recorder:
    """An httpx client that records requests (method, params) — a real client, not a mock."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.client = httpx.Client(event_hooks={"request": [self.requests.append]})

    def gets(self, live: str | None = "any") -> list[httpx.Request]:
        out = [r for r in self.requests if r.method == "GET"]
        if live != "any":
            out = [r for r in out if r.url.params.get("live") == live]
        return out

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def rec():
    r = Recorder()
    yield r
    r.close()


def new_stream(server: DSServer, content_type: str = "application/json", events: list | None = None) -> str:
    path = server.new_path()
    assert server.create(path, content_type=content_type).status_code == 201
    if events:
        server.append_json(path, events)
    return path


def reader(server: DSServer, path: str, **kw: Any) -> StreamReader:
    kw.setdefault("backoff", FAST)
    kw.setdefault("idle_timeout", 10.0)
    return StreamReader(server.stream_url(path), **kw)


def run_bounded(fn: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Run ``fn`` in a thread; fail if it does not finish within ``timeout`` (no hanging test run)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"did not finish within {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def follow(
    r: StreamReader,
    offset: str = "-1",
    live: str | None = "long-poll",
    on_batch: Callable[[Batch], None] | None = None,
    stop: Callable[[list], bool] | None = None,
    rereads: list[ParseError] | None = None,
) -> tuple[list, list[Batch]]:
    """Consume ``r.read`` until the generator ends (closure) or ``stop(items)``; return items and batches.

    With ``rereads`` (a list), a :class:`ParseError` is recorded there and the stream is read again from
    its ``offset``, skipping its ``delivered`` messages (what ``wfctl tail`` does), up to 10 times."""
    items: list = []
    batches: list[Batch] = []
    gen = r.read(offset, live)
    try:
        while True:
            try:
                batch = next(gen)
            except StopIteration:
                break
            except ParseError as e:
                if rereads is None or len(rereads) >= 10:
                    raise
                rereads.append(e)
                gen.close()
                gen = r.read(e.offset, live, skip=e.delivered)
                continue
            batches.append(batch)
            if batch.items:
                items.extend(batch.items)
            if on_batch:
                on_batch(batch)
            if stop and stop(items):
                break
    finally:
        gen.close()
    return items, batches


def events(n: int, start: int = 0) -> list[dict]:
    return [{"type": "log", "eventIndex": i, "message": f"tick {i}"} for i in range(start, start + n)]


def indexes(items: list) -> list[int]:
    return [e["eventIndex"] for e in items]


class Writer:
    """Appends events from a thread once ``go`` is set (the reader reached the tail)."""

    def __init__(
        self,
        server: DSServer,
        path: str,
        n: int,
        close: bool = True,
        before_append: Callable[[int], None] | None = None,
        start: int = 0,
    ):
        self.go = threading.Event()
        self.error: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                if not self.go.wait(20):
                    raise AssertionError("the reader never reached the tail")
                for i in range(start, start + n):
                    if before_append:
                        before_append(i)
                    last = i == start + n - 1
                    server.append_json(path, events(1, i)[0], close=close and last)
            except BaseException as e:  # noqa: BLE001
                self.error = e
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def on_batch(self, batch: Batch) -> None:
        if batch.up_to_date:
            self.go.set()

    def join(self) -> None:
        self.thread.join(30)
        if self.error:
            raise self.error


# ----------------------------------------------------------------------------------------------------------
# catch-up
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_catch_up_reads_everything_and_stops(server, rec):
    path = new_stream(server, events=events(3))
    server.append_json(path, events(2, 3))
    with reader(server, path, client=rec.client) as r:
        items, batches = follow(r, live=None)
        assert indexes(items) == [0, 1, 2, 3, 4]
        assert len(batches) == 1
        b = batches[0]
        assert (b.status, b.up_to_date, b.closed) == (200, True, False)
        assert json.loads(b.data) == items
        assert b.offset == server.head(path).headers["stream-next-offset"]
        # resume from the batch offset: only what follows
        server.append_json(path, events(1, 5))
        items2, _ = follow(r, b.offset, live=None)
        assert indexes(items2) == [5]


@pytest.mark.live
def test_catch_up_of_empty_stream_and_text_stream(server):
    path = new_stream(server)
    with reader(server, path) as r:
        _, batches = follow(r, live=None)
        assert [(b.items, b.up_to_date, b.status) for b in batches] == [([], True, 200)]
    path = new_stream(server, content_type="text/plain; charset=utf-8")
    server.append(path, "héllo ")
    server.append(path, "wörld\n")
    with reader(server, path) as r:
        _, batches = follow(r, live=None)
        assert batches[-1].items is None
        assert b"".join(b.data for b in batches).decode() == "héllo wörld\n"


@pytest.mark.live
def test_head(server):
    path = new_stream(server, events=events(1))
    with reader(server, path) as r:
        info = r.head()
        assert info.offset == server.head(path).headers["stream-next-offset"]
        assert (info.closed, info.content_type) == (False, "application/json")
        server.close_stream(path)
        assert r.head().closed is True
    with reader(server, "/v1/stream/runs/nope") as r, pytest.raises(NotFoundError) as e:
        r.head()
    assert e.value.status == 404 and e.value.code == "NOT_FOUND"


@pytest.mark.live
def test_offset_now(server, rec):
    path = new_stream(server, events=events(3))
    tail = server.head(path).headers["stream-next-offset"]
    with reader(server, path, client=rec.client) as r:
        _, batches = follow(r, "now", live=None)
        assert [(b.items, b.offset, b.up_to_date) for b in batches] == [([], tail, True)]
        for live in ("long-poll", "sse"):
            w = Writer(server, path, 2, close=False, start=100)

            def go(live: str = live, w: Writer = w) -> tuple[list, list[Batch]]:
                return follow(r, "now", live, on_batch=w.on_batch, stop=lambda got: len(got) >= 2)

            items, _ = run_bounded(go)
            w.join()
            assert indexes(items) == [100, 101], live
    # long-poll with now goes live at once: the first request already carries live=long-poll
    assert rec.gets()[1].url.params["live"] == "long-poll"
    assert rec.gets()[1].url.params["offset"] == "now"


@pytest.mark.live
def test_errors_are_not_retried(server, rec):
    with reader(server, "/v1/stream/runs/missing", client=rec.client) as r:
        for live in (None, "long-poll", "sse"):
            with pytest.raises(NotFoundError):
                follow(r, "-1", live)
    assert len(rec.requests) == 3
    path = new_stream(server, events=events(1))
    with reader(server, path) as r, pytest.raises(InvalidOffsetError) as e:
        follow(r, "not-an-offset", live=None)
    assert e.value.status == 400 and "Invalid offset" in e.value.message


@pytest.mark.live
@pytest.mark.parametrize("live", [None, "long-poll", "sse"])
def test_offset_beyond_tail_is_an_error(server, live):
    path = new_stream(server, events=events(2))
    with reader(server, path) as r, pytest.raises(InvalidOffsetError) as e:
        run_bounded(lambda: follow(r, "9999999999999999_9999999999999999", live), timeout=10)
    assert "beyond the tail" in e.value.message


# ----------------------------------------------------------------------------------------------------------
# live modes and closure
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("live", ["long-poll", "sse"])
def test_live_follow_until_closed(server, rec, live):
    path = new_stream(server, events=events(3))
    w = Writer(server, path, 20, start=3)
    with reader(server, path, client=rec.client) as r:
        items, batches = run_bounded(lambda: follow(r, live=live, on_batch=w.on_batch))
    w.join()
    assert indexes(items) == list(range(23))
    assert batches[-1].closed and batches[-1].up_to_date
    assert all(not b.closed for b in batches[:-1])
    assert batches[-1].offset == server.head(path).headers["stream-next-offset"]
    if live == "long-poll":
        # the cursor of each live response is echoed on the next long-poll
        polls = rec.gets("long-poll")
        assert len(polls) >= 2 and all("cursor" in p.url.params for p in polls[1:])
    else:
        assert len(rec.gets("sse")) == 1  # one SSE connection, never reopened after the closing control


@pytest.mark.live
@pytest.mark.parametrize("live", [None, "long-poll", "sse"])
def test_closed_stream_ends_without_reconnecting(server, rec, live):
    path = new_stream(server, events=events(2))
    server.close_stream(path)
    with reader(server, path, client=rec.client) as r:
        items, batches = run_bounded(lambda: follow(r, live=live), timeout=10)
        assert indexes(items) == [0, 1] and batches[-1].closed
        assert len(rec.requests) == 1
        # from the final offset: EOF at once (catch-up 200 [] + Stream-Closed)
        _, batches = run_bounded(lambda: follow(r, batches[-1].offset, live), timeout=10)
        assert [(b.items, b.closed) for b in batches] == [([], True)]
        assert len(rec.requests) == 2


@pytest.mark.live
@pytest.mark.parametrize("live", ["long-poll", "sse"])
def test_closure_while_following_at_the_tail(server, live):
    path = new_stream(server, events=events(1))
    closer = threading.Event()

    def close_when_waiting() -> None:
        closer.wait(20)
        server.close_stream(path)

    t = threading.Thread(target=close_when_waiting, daemon=True)
    t.start()
    with reader(server, path) as r:
        items, batches = run_bounded(lambda: follow(r, live=live, on_batch=lambda b: closer.set()), timeout=15)
    t.join(5)
    assert indexes(items) == [0]
    assert batches[-1].closed and batches[-1].items == []


@pytest.mark.live
def test_resume_from_checkpoint_is_exact(server):
    path = new_stream(server, events=events(5))
    w = Writer(server, path, 10, start=5)
    with reader(server, path) as r:
        first, batches = run_bounded(
            lambda: follow(r, live="long-poll", on_batch=w.on_batch, stop=lambda items: len(items) >= 8)
        )
        checkpoint = batches[-1].offset
        w.join()
        rest, _ = run_bounded(lambda: follow(r, checkpoint, live="sse"))
    assert indexes(first + rest) == list(range(15))


@pytest.mark.live
def test_sse_buffers_data_events_until_control(server, rec):
    """The reference server sends one ``data`` event per stored append and a single ``control`` when an
    SSE read starts behind the tail; they must come out as one batch with the control's offset."""
    from wfctl.durable_streams._reader import _Session

    path = new_stream(server)
    for i in range(4):
        server.append_json(path, events(2, 2 * i))
    tail = server.head(path).headers["stream-next-offset"]
    with reader(server, path, client=rec.client) as r:
        gen = r._sse(_Session(offset="-1", initial="-1", content_type="application/json"))
        batch = next(gen)
        gen.close()
    assert indexes(batch.items) == list(range(8))
    assert json.loads(batch.data) == batch.items
    assert batch.offset == tail and batch.up_to_date


@pytest.mark.live
def test_sse_text_preserves_unicode_separators(server):
    path = new_stream(server, content_type="text/plain")
    payload = "a\u0085b\u2028c\u2029d"
    gate = threading.Event()

    def write() -> None:
        gate.wait(20)
        server.append(path, payload, close=True)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    with reader(server, path) as r:
        _, batches = run_bounded(lambda: follow(r, live="sse", on_batch=lambda b: b.up_to_date and gate.set()))
    t.join(5)
    assert b"".join(b.data for b in batches).decode() == payload


@pytest.mark.live
def test_sse_base64_binary_stream(server, rec):
    path = new_stream(server, content_type="application/octet-stream")
    blobs = [bytes(range(256)), b"\r\n\r\n\x00\xff data: x\n\n", b"\n"]
    gate = threading.Event()

    def write() -> None:
        gate.wait(20)
        for i, blob in enumerate(blobs):
            server.append(path, blob, close=i == len(blobs) - 1)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    with reader(server, path, client=rec.client) as r:
        _, batches = run_bounded(lambda: follow(r, live="sse", on_batch=lambda b: b.up_to_date and gate.set()))
    t.join(5)
    assert b"".join(b.data for b in batches) == b"".join(blobs)
    assert all(b.items is None for b in batches)
    assert rec.gets("sse")  # really read over SSE


# ----------------------------------------------------------------------------------------------------------
# idle watchdog and memory
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("live", ["long-poll", "sse"])
def test_idle_watchdog_reconnects_silent_connections(slow_server, rec, live):
    server = slow_server
    path = new_stream(server, events=events(1))
    with reader(server, path, client=rec.client, idle_timeout=0.3) as r:
        result: dict = {}

        def consume() -> None:
            result["items"], _ = follow(r, live=live, stop=lambda items: len(items) >= 2)

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        # the server keeps each live request silent for 5 s; the watchdog abandons it after 0.3 s
        wait_for(lambda: len(rec.gets(live)) >= 3, timeout=4, message="watchdog reconnects")
        server.append_json(path, events(1, 1))
        t.join(10)
        assert not t.is_alive()
    assert indexes(result["items"]) == [0, 1]


@pytest.mark.live
@pytest.mark.slow
def test_memory_stays_flat_while_following(server):
    """Nothing per batch is retained by the reader: memory after 400 events ~ memory after 100."""
    path = new_stream(server)
    n = 400
    w = Writer(server, path, n)
    samples: list[int] = []

    def reader_memory() -> int:
        # only memory allocated under the reader's frames: the writer thread and pytest's own log capture
        # (which keeps every httpx log record) are not the reader's
        snap = tracemalloc.take_snapshot().filter_traces(
            [
                tracemalloc.Filter(True, "*wfctl/durable_streams/*", all_frames=True),
                tracemalloc.Filter(True, "*wfctl/sse.py", all_frames=True),
            ]
        )
        return sum(stat.size for stat in snap.statistics("filename"))

    def consume(r: StreamReader) -> int:
        count = 0
        gen = r.read("-1", "sse")
        try:
            for batch in gen:  # keep nothing: the test must not be what grows
                w.on_batch(batch)
                count += len(batch.items or [])
                if count in (100, n):
                    samples.append(reader_memory())
                del batch
        finally:
            gen.close()
        return count

    tracemalloc.start(25)
    try:
        with reader(server, path) as r:
            assert run_bounded(lambda: consume(r), timeout=60) == n
    finally:
        tracemalloc.stop()
    w.join()
    assert len(samples) == 2
    # 300 more events consumed; allow allocator noise but nothing proportional to the events
    assert samples[1] - samples[0] < 16 * 1024, samples


# ----------------------------------------------------------------------------------------------------------
# fault injection on the real server
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.live
def test_503_with_retry_after_is_honoured(server, rec):
    path = new_stream(server, events=events(3))
    server.inject_fault(path, status=503, retryAfter=1, count=1, method="GET")
    waits: list[float] = []

    def sleep(d: float) -> None:
        waits.append(d)
        time.sleep(d)

    with reader(server, path, client=rec.client, sleep=sleep) as r:
        items, _ = follow(r, live=None)
    assert indexes(items) == [0, 1, 2]
    assert len(rec.gets()) == 2 and waits and waits[0] >= 1.0


@pytest.mark.live
@pytest.mark.parametrize(
    "fault",
    [
        {"dropConnection": True, "count": 2},
        {"delayMs": 300, "count": 1},
        {"status": 500, "count": 2},
        {"status": 429, "count": 1},
    ],
    ids=["drop", "delay", "500", "429"],
)
def test_catch_up_survives_faults(server, rec, fault):
    path = new_stream(server, events=events(30))
    server.inject_fault(path, method="GET", **fault)
    with reader(server, path, client=rec.client) as r:
        items, batches = follow(r, live=None)
    assert indexes(items) == list(range(30))
    assert len(batches) == 1


@pytest.mark.live
@pytest.mark.parametrize(
    "fault",
    [
        {"truncateBodyBytes": 10},
        {"truncateBodyBytes": 1},
        {"truncateBodyBytes": 7},
        {"corruptBody": True},
    ],
    ids=["truncate", "truncate-1", "truncate-7", "corrupt"],
)
def test_malformed_body_is_a_parse_error_at_once(server, rec, fault):
    """As the official client: the first malformed body raises PARSE_ERROR, without a retry; the error says
    where to read again, and reading again from there gives everything."""
    path = new_stream(server, events=events(30))
    server.inject_fault(path, method="GET", count=1, **fault)
    with reader(server, path, client=rec.client) as r, pytest.raises(ParseError) as e:
        follow(r, live=None)
    assert len(rec.gets()) == 1
    err = e.value
    assert (err.code, err.status, err.offset, err.delivered) == ("PARSE_ERROR", 200, "-1", 0)
    assert "after offset -1" in err.message and err.reason in err.message and err.url in err.message
    with reader(server, path, client=rec.client) as r:
        items, batches = follow(r, err.offset, live=None)
    assert indexes(items) == list(range(30)) and len(batches) == 1


@pytest.mark.live
def test_malformed_body_after_progress_names_the_last_good_offset(server, rec):
    """The damage strikes the second read: the error carries the offset the first one ended at, and a read
    from there (what ``wfctl tail`` does) gives exactly the rest."""
    path = new_stream(server, events=events(5))
    first = server.head(path).headers["stream-next-offset"]
    server.append_json(path, events(5, 5))
    server.inject_fault(path, method="GET", count=1, corruptBody=True)  # hits the first read ...
    rereads: list[ParseError] = []
    with reader(server, path, client=rec.client) as r:
        items, _ = follow(r, first, live=None, rereads=rereads)  # ... which starts after the first 5
    assert indexes(items) == list(range(5, 10))
    assert [(e.offset, e.delivered) for e in rereads] == [(first, 0)]
    assert [g.url.params["offset"] for g in rec.gets()] == [first, first]


@pytest.mark.live
def test_persistent_malformed_body_is_never_retried_by_the_reader(server, rec):
    path = new_stream(server, events=events(50))
    server.inject_fault(path, method="GET", corruptBody=True, count=50)
    with reader(server, path, client=rec.client, max_retries=10) as r, pytest.raises(ParseError):
        follow(r, live=None)
    assert len(rec.gets()) == 1
    server.clear_faults()


@pytest.mark.live
def test_server_errors_exhaust_the_budget(server, rec):
    path = new_stream(server, events=events(1))
    server.inject_fault(path, method="GET", status=503, count=50)
    with reader(server, path, client=rec.client, max_retries=2) as r, pytest.raises(ServerError) as e:
        follow(r, live=None)
    assert len(rec.gets()) == 3 and e.value.status == 503 and "after 2 retries" in e.value.message
    server.clear_faults()
    server.inject_fault(path, method="GET", dropConnection=True, count=50)
    with reader(server, path, client=rec.client, max_retries=1) as r, pytest.raises(NetworkError):
        follow(r, live=None)
    server.clear_faults()


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.parametrize("live", ["long-poll", "sse"])
def test_live_follow_through_faults_is_complete_in_order_without_duplicates(server, rec, live):
    """Faults hit the reader's GETs while it follows; the output must be exactly 0..N-1.

    Malformed bodies (a truncated or corrupted body with valid framing) raise ParseError, and ``follow``
    reads again from the error's offset, as ``wfctl tail`` does; the other faults are retried by the reader.
    Long-poll makes a GET per batch. For SSE the idle watchdog (0.3 s, below the server's 0.5 s keep-alive)
    makes the reader reopen its connection whenever it is quiet, so faults also hit SSE reconnects. Each
    fault is consumed (two more GETs seen) before the next is injected (the server keeps one per path).
    """
    path = new_stream(server, events=events(2))
    faults = [
        {"dropConnection": True},
        {"status": 503},
        {"truncateBodyBytes": 5},
        {"corruptBody": True},
        {"delayMs": 200},
        {"status": 500},
        {"dropConnection": True, "delayMs": 50},
        {"status": 429},
    ]

    def before_append(i: int) -> None:
        if i % 4 == 0:
            before = len(rec.gets())
            server.inject_fault(path, method="GET", count=1, **faults[(i // 4) % len(faults)])
            wait_for(lambda: len(rec.gets()) >= before + 2, timeout=15, message="the fault to be consumed")

    n = 42
    w = Writer(server, path, n - 2, start=2, before_append=before_append)
    idle = 0.3 if live == "sse" else 10.0
    rereads: list[ParseError] = []
    with reader(server, path, client=rec.client, max_retries=20, idle_timeout=idle) as r:
        items, batches = run_bounded(lambda: follow(r, live=live, on_batch=w.on_batch, rereads=rereads), timeout=90)
    w.join()
    server.clear_faults()
    assert indexes(items) == list(range(n))
    assert batches[-1].closed
    # A body fault lands on a GET that carries events, or on an empty long-poll answer (nothing to damage):
    # which one is timing, so only the kind of any re-read is asserted here (the parse-error path itself is
    # tested deterministically above).
    assert all(e.code == "PARSE_ERROR" for e in rereads)
    if live == "sse":
        assert len(rec.gets("sse")) >= 5


@pytest.mark.live
def test_sse_request_dropped_is_reopened_from_last_offset(server, rec):
    path = new_stream(server, events=events(1))
    seen: list[Batch] = []

    def on_batch(batch: Batch) -> None:
        seen.append(batch)
        if len(seen) == 1:
            # the reader is between its catch-up GET and its SSE GET: drop the SSE request
            server.inject_fault(path, method="GET", dropConnection=True, count=1)
        elif len(seen) == 2:
            for i in range(1, 4):
                server.append_json(path, events(1, i)[0], close=i == 3)

    with reader(server, path, client=rec.client) as r:
        items, _ = run_bounded(lambda: follow(r, live="sse", on_batch=on_batch))
    assert indexes(items) == [0, 1, 2, 3]
    assert len(rec.gets("sse")) == 2


@pytest.mark.live
@pytest.mark.parametrize("bad", ["{bad", ""], ids=["not-json", "empty"])
def test_sse_malformed_control_event_is_a_parse_error(server, rec, bad):
    """As the official client: a control event that does not parse raises PARSE_ERROR at once (the data
    buffered before it is not delivered); reading again from the error's offset continues exactly."""
    path = new_stream(server, content_type="text/plain")
    server.append(path, "hello")
    seen: list[Batch] = []

    def on_batch(batch: Batch) -> None:
        seen.append(batch)
        if len(seen) == 1:  # before the SSE request: its stream will start with a broken control event
            server.inject_fault(path, method="GET", count=1, injectSseEvent={"eventType": "control", "data": bad})

    with reader(server, path, client=rec.client) as r, pytest.raises(ParseError) as e:
        run_bounded(lambda: follow(r, live="sse", on_batch=on_batch), timeout=10)
    tail = seen[0].offset
    assert "control" in e.value.message and (e.value.offset, e.value.delivered) == (tail, 0)
    assert len(rec.gets("sse")) == 1
    server.append(path, "-world", close=True)
    with reader(server, path, client=rec.client) as r:
        _, batches = run_bounded(lambda: follow(r, e.value.offset, live="sse"), timeout=10)
    assert b"".join(b.data for b in batches) == b"-world" and batches[-1].closed


@pytest.mark.live
def test_sse_unknown_events_are_ignored(server):
    path = new_stream(server, content_type="text/plain")
    server.append(path, "x")
    server.close_stream(path)
    server.inject_fault(path, method="GET", count=2, injectSseEvent={"eventType": "future", "data": "{}"})
    with reader(server, path) as r:
        from wfctl.durable_streams._reader import _Session

        gen = r._sse(_Session(offset="-1", initial="-1", content_type="text/plain"))
        batches = list(gen)
    assert [(b.data, b.closed) for b in batches] == [(b"x", True)]
    server.clear_faults()


# ----------------------------------------------------------------------------------------------------------
# unit tests with httpx.MockTransport
# ----------------------------------------------------------------------------------------------------------

URL = "http://ds.test/v1/stream/runs/r1"
T0 = "0000000000000000_0000000000000000"
T1 = "0000000000000000_0000000000000001"
T2 = "0000000000000000_0000000000000002"


class Script:
    """A MockTransport handler answering from a list of callables/responses, recording requests."""

    def __init__(self, *answers: Any):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def reader(self, **kw: Any) -> StreamReader:
        client = httpx.Client(transport=httpx.MockTransport(self))
        kw.setdefault("max_retries", 3)
        kw.setdefault("backoff", Backoff(initial=0.01, max_delay=0.05))
        return StreamReader(URL, client=client, sleep=self.sleeps.append, **kw)

    def params(self, key: str) -> list[str | None]:
        return [r.url.params.get(key) for r in self.requests]


def ok(
    items: list | None = None, offset: str = T1, up_to_date: bool = True, closed: bool = False, **headers: str
) -> httpx.Response:
    h = {"content-type": "application/json", "stream-next-offset": offset}
    if up_to_date:
        h["stream-up-to-date"] = "true"
    if closed:
        h["stream-closed"] = "true"
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.Response(200, headers=h, content=json.dumps(items or []).encode())


def status(code: int, body: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(code, headers={k.replace("_", "-"): v for k, v in headers.items()}, text=body)


@pytest.mark.parametrize("code", [500, 502, 503, 504, 429])
def test_unit_retryable_statuses(code):
    s = Script(status(code), status(code), ok([1], closed=True))
    items, _ = follow(s.reader(), live=None)
    assert items == [1] and len(s.requests) == 3 and len(s.sleeps) == 2


@pytest.mark.parametrize(
    "code,body,exc",
    [
        (400, "Invalid offset format", InvalidOffsetError),
        (400, '{"error":{"type":"invalid_request","details":"Tail must be an integer"}}', BadRequestError),
        (401, "no token", UnauthorizedError),
        (403, "forbidden", UnauthorizedError),
        (404, "Stream not found", NotFoundError),
        (405, "", UnexpectedStatusError),
        (409, "", UnexpectedStatusError),
        (410, "", GoneError),
        (501, "", ServerError),
        (302, "", UnexpectedStatusError),
    ],
)
def test_unit_non_retryable_statuses(code, body, exc):
    s = Script(status(code, body))
    with pytest.raises(exc) as e:
        follow(s.reader(), live=None)
    assert len(s.requests) == 1 and not s.sleeps
    assert e.value.status == code and isinstance(e.value, StreamError)
    if body:
        assert e.value.body == body and body in str(e.value)


def test_unit_retry_after_seconds_and_date():
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    s = Script(status(503, retry_after="3"), status(429, retry_after=when), ok([1]))
    follow(s.reader(), live=None)
    assert s.sleeps[0] >= 3.0 and 25 <= s.sleeps[1] <= 30.5


def test_unit_retry_after_is_capped():
    s = Script(status(503, retry_after="86400"), ok([1]))
    follow(s.reader(backoff=Backoff(max_retry_after=5)), live=None)
    assert s.sleeps == [5]


def test_unit_retry_budget_and_final_errors():
    s = Script(*[status(503)] * 4)
    with pytest.raises(ServerError) as e:
        follow(s.reader(max_retries=3), live=None)
    assert len(s.requests) == 4 and "after 3 retries" in e.value.message
    s = Script(*[status(429)] * 2)
    with pytest.raises(RateLimitedError):
        follow(s.reader(max_retries=1), live=None)
    s = Script(*[httpx.ConnectError("refused")] * 3)
    with pytest.raises(NetworkError) as e:
        follow(s.reader(max_retries=2), live=None)
    assert "ConnectError" in e.value.message and e.value.code == "NETWORK"
    s = Script(status(503))
    with pytest.raises(ServerError):
        follow(s.reader(max_retries=0), live=None)
    assert not s.sleeps


def test_unit_backoff_grows_with_full_jitter():
    b = Backoff(initial=0.1, multiplier=2, max_delay=1.0)
    assert b.delay(0, rand=lambda: 1.0) == pytest.approx(0.1)
    assert b.delay(3, rand=lambda: 1.0) == pytest.approx(0.8)
    assert b.delay(10, rand=lambda: 1.0) == pytest.approx(1.0)
    assert b.delay(10, rand=lambda: 0.0) == 0.0
    assert b.delay(0, retry_after=2.0, rand=lambda: 0.5) == 2.0


def test_unit_failure_count_resets_after_healthy_responses():
    """More failures in total than max_retries, but never more than max_retries in a row."""
    answers: list[Any] = []
    for i in range(6):
        answers += [status(503), status(503), ok([i], offset=f"{T0[:-2]}{i + 1:02d}")]
    answers.append(ok([], offset=f"{T0[:-2]}06", closed=True))
    s = Script(*answers)
    items, _ = follow(s.reader(max_retries=2), live="long-poll")
    assert items == list(range(6))


def test_unit_minus_one_next_offset_flue_quirk():
    """Flue answers an empty run stream with ``Stream-Next-Offset: -1``; it must be echoed, not rejected."""
    s = Script(
        ok([], offset="-1"),  # catch-up: empty, up to date
        status(204, stream_next_offset="-1", stream_up_to_date="true", stream_cursor="7"),
        ok([{"eventIndex": 0}], offset=T0, stream_cursor="8"),  # long-poll wakes up
        ok([{"eventIndex": 1}], offset=T1, closed=True),
    )
    items, batches = follow(s.reader(), live="long-poll")
    assert indexes(items) == [0, 1]
    assert [b.offset for b in batches] == ["-1", "-1", T0, T1]
    assert s.params("offset") == ["-1", "-1", "-1", T0]
    assert s.params("live") == [None, "long-poll", "long-poll", "long-poll"]
    assert s.params("cursor") == [None, None, "7", "8"]
    assert batches[1].status == 204


def test_unit_flue_pages_without_up_to_date_are_followed():
    s = Script(
        ok(list(range(100)), offset="0000000000000000_0000000000000099", up_to_date=False),
        ok(list(range(100, 152)), offset="0000000000000000_0000000000000151", closed=True),
    )
    items, batches = follow(s.reader(), live=None)
    assert items == list(range(152)) and len(batches) == 2
    assert s.params("offset") == ["-1", "0000000000000000_0000000000000099"]


def test_unit_catch_up_stops_when_the_offset_stalls():
    s = Script(ok([], offset=T1, up_to_date=False))
    _, batches = follow(s.reader(verify_offsets=False), T1, live=None)
    assert len(batches) == 1 and len(s.requests) == 1


def test_unit_echoed_offset_beyond_tail_is_detected_with_head():
    """Flue echoes the requested offset; a HEAD shows the stream really ends earlier (restart)."""
    head = status(200, stream_next_offset=T1)
    s = Script(ok([], offset=T2), head)
    with pytest.raises(InvalidOffsetError) as e:
        follow(s.reader(), T2, live="long-poll")
    assert [r.method for r in s.requests] == ["GET", "HEAD"] and T2 in e.value.message
    s = Script(ok([], offset=T2), status(200, stream_next_offset="-1"))  # the stream is now empty
    with pytest.raises(InvalidOffsetError):
        follow(s.reader(), T2, live=None)
    # at the real tail: one HEAD, then live as usual
    t3 = "0000000000000000_0000000000000003"
    s = Script(ok([], offset=T2), status(200, stream_next_offset=T2), ok([5], offset=t3, closed=True))
    items, _ = follow(s.reader(), T2, live="long-poll")
    assert items == [5] and [r.method for r in s.requests] == ["GET", "HEAD", "GET"]
    # a server without HEAD (405): no verification, no failure
    s = Script(ok([], offset=T2), status(405))
    _, batches = follow(s.reader(), T2, live=None)
    assert len(batches) == 1
    # opt out
    s = Script(ok([], offset=T2))
    follow(s.reader(verify_offsets=False), T2, live=None)
    assert len(s.requests) == 1


def test_unit_long_poll_does_not_hot_loop_on_immediate_empty_answers():
    s = Script(*[ok([], offset="-1") for _ in range(6)], ok([1], offset=T0, closed=True))
    items, _ = follow(s.reader(), "-1", live="long-poll")
    assert items == [1]
    assert len(s.sleeps) >= 4  # waits between the repeated empty answers


def test_unit_malformed_json_is_a_parse_error_without_retry():
    def body(content: bytes) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "application/json", "stream-next-offset": T1}, content=content
        )

    for content, match in [
        (b'[{"a":', "invalid JSON body"),
        (b"not json", "invalid JSON body"),
        (b'{"not": "an array"}', "JSON array"),
        (b"\xff\xfe[]", "invalid JSON body"),
    ]:
        s = Script(body(content), ok([{"a": 1}], closed=True))
        with pytest.raises(ParseError, match=match) as e:
            follow(s.reader(max_retries=10), live=None)
        assert len(s.requests) == 1 and (e.value.offset, e.value.delivered) == ("-1", 0)
        assert e.value.code == "PARSE_ERROR"
    # a valid page first: the error names the offset after it
    s = Script(ok([{"a": 1}], offset=T0, up_to_date=False), body(b"[{"))
    gen = s.reader().read("-1")
    assert next(gen).items == [{"a": 1}]
    with pytest.raises(ParseError) as e:
        next(gen)
    assert e.value.offset == T0 and f"after offset {T0}" in e.value.message


def test_unit_damaged_gzip_is_a_parse_error():
    import gzip

    packed = gzip.compress(json.dumps([{"i": i} for i in range(100)]).encode())
    for content in (packed[: len(packed) // 2], b"XY" + packed[2:]):
        s = Script(
            httpx.Response(
                200,
                headers={"content-type": "application/json", "stream-next-offset": T1, "content-encoding": "gzip"},
                stream=httpx.ByteStream(content),
            )
        )
        with pytest.raises(ParseError, match="damaged gzip body"):
            follow(s.reader(), live=None)
        assert len(s.requests) == 1


def test_unit_sse_malformed_payloads_are_parse_errors():
    control = b'event: control\ndata:{"streamNextOffset":"%s","upToDate":true}\n\n' % T1.encode()
    cases = [
        (sse(b'event: data\ndata:[{"i":0}\n\n', control), "invalid JSON in SSE data event"),
        (sse(b"event: control\ndata:[1]\n\n"), "invalid SSE control event"),
        (sse(b'event: control\ndata:{"upToDate":true}\n\n'), "no streamNextOffset"),
    ]
    for response, match in cases:
        s = Script(ok([], offset=T0), response)
        with pytest.raises(ParseError, match=match) as e:
            follow(s.reader(), live="sse")
        assert len(s.requests) == 2 and e.value.offset == T0
    s = Script(
        httpx.Response(
            200,
            headers={"content-type": "application/octet-stream", "stream-next-offset": T0, "stream-up-to-date": "true"},
            content=b"",
        ),
        sse(b"event: data\ndata:!!!\n\n", control, stream_sse_data_encoding="base64"),
    )
    with pytest.raises(ParseError, match="invalid base64"):
        follow(s.reader(), live="sse")


def test_unit_cut_body_is_a_network_retry():
    class Cut(httpx.SyncByteStream):
        def __iter__(self):
            yield b'[{"a":1},'
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    s = Script(
        httpx.Response(200, headers={"content-type": "application/json", "stream-next-offset": T1}, stream=Cut()),
        ok([{"a": 1}, {"a": 2}], closed=True),
    )
    items, _ = follow(s.reader(), live=None)
    assert items == [{"a": 1}, {"a": 2}]


class SSEBody(httpx.SyncByteStream):
    def __init__(self, *chunks: bytes, error: Exception | None = None):
        self.chunks, self.error = chunks, error

    def __iter__(self):
        yield from self.chunks
        if self.error:
            raise self.error


def sse(*chunks: bytes, error: Exception | None = None, **headers: str) -> httpx.Response:
    h = {"content-type": "text/event-stream"}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.Response(200, headers=h, stream=SSEBody(*chunks, error=error))


def test_unit_sse_buffers_until_control_and_resumes_exactly():
    c1 = b'event: control\ndata:{"streamNextOffset":"%s","streamCursor":"5","upToDate":true}\n\n' % T1.encode()
    s = Script(
        ok([], offset=T0),  # catch-up
        sse(
            b'event: data\ndata:[{"i":0}]\n\n',
            b'event: data\ndata:[{"i":1},\n',
            b'data:{"i":2}]\n\n',
            c1,
            b'event: data\ndata:[{"i":3}]\n\n',  # data without control...
            error=httpx.ReadError("connection reset"),
        ),  # ...then the connection drops
        ok([{"i": 3}], offset=T2),  # catch-up from T1 re-reads i=3
        sse(b'event: control\ndata:{"streamNextOffset":"%s","streamClosed":true}\n\n' % T2.encode()),
    )
    items, batches = follow(s.reader(), live="sse")
    assert [x["i"] for x in items] == [0, 1, 2, 3]
    sse_batch = batches[1]
    assert sse_batch.offset == T1 and sse_batch.cursor == "5"
    assert json.loads(sse_batch.data) == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert s.params("offset") == ["-1", T0, T1, T2]
    assert s.params("live") == [None, "sse", None, "sse"]
    assert s.params("cursor")[3] == "5"
    assert s.requests[1].headers["accept"] == "text/event-stream"
    assert batches[-1].closed


def test_unit_sse_base64():
    payload = bytes(range(256))
    enc = base64.b64encode(payload)
    s = Script(
        httpx.Response(
            200,
            headers={"content-type": "application/octet-stream", "stream-next-offset": T0, "stream-up-to-date": "true"},
        ),
        sse(
            b"event: data\ndata:" + enc[:100] + b"\ndata:" + enc[100:] + b"\n\n",
            b'event: control\ndata:{"streamNextOffset":"%s","streamClosed":true}\n\n' % T1.encode(),
            stream_sse_data_encoding="base64",
        ),
    )
    _, batches = follow(s.reader(), live="sse")
    assert batches[-1].data == payload and batches[-1].items is None


def test_unit_sse_falls_back_to_long_poll_when_connections_close_at_once():
    ctl = b'event: control\ndata:{"streamNextOffset":"%s","upToDate":true}\n\n' % T0.encode()
    answers: list[Any] = [ok([], offset=T0)]
    for _ in range(3):
        answers += [sse(ctl), ok([], offset=T0)]
    answers.append(ok([1], offset=T1, closed=True))
    s = Script(*answers)
    items, _ = follow(s.reader(), live="sse")
    assert items == [1]
    assert s.params("live")[-1] == "long-poll"


def test_unit_query_parameters_are_sorted_and_reserved_names_rejected():
    s = Script(ok([1], offset=T1))
    r = StreamReader(URL + "?zeta=1", params={"tail": "5"}, client=httpx.Client(transport=httpx.MockTransport(s)))
    follow(r, live=None)
    assert str(s.requests[0].url).endswith("?offset=-1&tail=5&zeta=1")
    with pytest.raises(ValueError):
        StreamReader(URL, params={"offset": "1"})
    with pytest.raises(ValueError):
        r.read(live="auto")


def test_unit_headers_callable_is_evaluated_per_request():
    tokens = iter(["a", "b", "c"])
    s = Script(status(503), ok([1], closed=True))
    client = httpx.Client(transport=httpx.MockTransport(s))
    r = StreamReader(
        URL, headers=lambda: {"Authorization": f"Bearer {next(tokens)}"}, client=client, sleep=lambda d: None
    )
    follow(r, live=None)
    assert [q.headers["authorization"] for q in s.requests] == ["Bearer a", "Bearer b"]
    assert "Bearer" not in repr(r)


def test_unit_params_callable_is_evaluated_per_request():
    counter = iter(range(1, 10))
    s = Script(status(503), ok([1], closed=True))
    client = httpx.Client(transport=httpx.MockTransport(s))
    r = StreamReader(URL + "?x=1", params=lambda: {"sig": str(next(counter))}, client=client, sleep=lambda d: None)
    follow(r, live=None)
    assert [(q.url.params["sig"], q.url.params["x"]) for q in s.requests] == [("1", "1"), ("2", "1")]
    bad = StreamReader(URL, params=lambda: {"offset": "5"}, client=client)
    with pytest.raises(ValueError, match="managed by the reader"):
        follow(bad, live=None)
    with pytest.raises(ValueError, match="skip"):
        r.read("-1", skip=-1)


# ----------------------------------------------------------------------------------------------------------
# SSE parser
# ----------------------------------------------------------------------------------------------------------

STREAM = (
    b"\xef\xbb\xbf: comment\r\nevent: data\r\ndata:  two\r\ndata:x"
    b"\\u2028"
    b"y\xc2\x85z\r\n\r\n"
    b"event:control\rdata:{}\r\r"
    b"id: 1\nretry: 5\n\n"
    b"data\n\n"
    b"event: x\n\n"
    b"data: tail"
)
EXPECTED = [("data", b" two\nx\\u2028y\xc2\x85z"), ("control", b"{}"), ("message", b"")]


def test_sse_parser_whole_and_split_at_every_byte():
    stream = STREAM.replace(b"\\u2028", "\u2028".encode())
    expected = [(e, d.replace(b"\\u2028", "\u2028".encode())) for e, d in EXPECTED]
    p = SSEParser()
    assert p.feed(stream) == expected
    for cut in range(1, len(stream)):
        p = SSEParser()
        assert p.feed(stream[:cut]) + p.feed(stream[cut:]) == expected, cut
    p = SSEParser()
    out = []
    for i in range(len(stream)):
        out += p.feed(stream[i : i + 1])
    assert out == expected
    assert p.pending_bytes > 0  # "data: tail" has no terminating blank line: never dispatched


def test_sse_parser_crlf_split_across_chunks():
    p = SSEParser()
    assert p.feed(b"data: a\r") == []
    assert p.feed(b"\n\r\n") == [("message", b"a")]


# ----------------------------------------------------------------------------------------------------------
# Large responses: partial batches, resumed without duplicates after a cut
# ----------------------------------------------------------------------------------------------------------


def big_events(n: int) -> list[dict]:
    # commas, colons, braces and non-ASCII inside strings, nested values: the splitter must not cut there
    # (and a hash, so that the gzip body the reference server sends stays large enough to cut mid-way)
    import hashlib

    return [
        {
            "type": "log",
            "eventIndex": i,
            "message": f"tick {i}, a: {{b}} [c] é ✓",
            "attributes": {"list": [i, {"x": "},{"}], "ok": True, "h": hashlib.sha256(str(i).encode()).hexdigest()},
        }
        for i in range(n)
    ]


@pytest.mark.live
def test_large_response_is_delivered_in_partial_batches(server, rec):
    path = new_stream(server, events=big_events(300))
    tail = server.head(path).headers["stream-next-offset"]
    with reader(server, path, client=rec.client, batch_bytes=2048) as r:
        items, batches = follow(r, live=None)
    assert items == big_events(300)
    assert len(rec.requests) == 1  # one response, several batches
    partial, final = batches[:-1], batches[-1]
    assert len(partial) > 5 and all(b.partial for b in partial)
    assert all(b.offset == "-1" and not b.up_to_date and not b.closed for b in partial)
    assert not final.partial and final.offset == tail and final.up_to_date
    position = 0
    for b in batches:
        assert b.index == position
        assert json.loads(b.data) == b.items  # each batch's data is the array text of its own items
        position += len(b.items)


@pytest.mark.live
@pytest.mark.parametrize("cut", [5_000, 12_001])
def test_cut_large_response_is_read_again_without_duplicates(server, rec, cut):
    """A large body truncated with valid framing: its first parts were delivered when the damage shows; the
    ParseError counts them (``delivered``) and ``read(offset, skip=delivered)`` gives exactly the rest."""
    path = new_stream(server, events=big_events(300))
    server.inject_fault(path, method="GET", truncateBodyBytes=cut, count=1)
    rereads: list[ParseError] = []
    with reader(server, path, client=rec.client, batch_bytes=2048) as r:
        items, batches = follow(r, live=None, rereads=rereads)
    assert items == big_events(300)  # everything, in order, nothing twice
    assert len(rec.requests) == 2
    assert len(rereads) == 1 and rereads[0].offset == "-1" and rereads[0].delivered > 0
    assert sum(len(b.items) for b in batches if b.partial) >= rereads[0].delivered
    assert batches[-1].index + len(batches[-1].items) == 300


@pytest.mark.live
def test_persistently_cut_large_response_is_a_parse_error(server, rec):
    path = new_stream(server, events=big_events(300))
    server.inject_fault(path, method="GET", truncateBodyBytes=9_000, count=50)
    delivered: list = []
    with reader(server, path, client=rec.client, batch_bytes=2048, max_retries=5) as r:
        with pytest.raises(ParseError) as e:
            for batch in r.read("-1"):
                delivered.extend(batch.items)
        assert delivered == big_events(len(delivered)) and delivered  # the prefix, once
        assert (e.value.offset, e.value.delivered) == ("-1", len(delivered))
        assert len(rec.requests) == 1  # not retried
        # the caller's re-read skips what it has: the same damage, nothing delivered twice
        again: list = []
        with pytest.raises(ParseError) as e2:
            for batch in r.read("-1", skip=e.value.delivered):
                again.extend(batch.items)
        assert again == [] and e2.value.delivered == len(delivered)
    server.clear_faults()


def test_unit_package_imports_its_names_on_first_use():
    """The package re-exports its public names and imports each on first use: importing it (as the Flue backend
    does, for ``columns``) does not import httpx."""
    import subprocess

    code = (
        "import sys; from wfctl.durable_streams import columns; import wfctl.durable_streams as ds; "
        "assert 'httpx' not in sys.modules, 'httpx imported'; "
        "assert all(getattr(ds, name) for name in ds.__all__) and 'httpx' in sys.modules; "
        "assert ds.SSEParser.__module__ == 'wfctl.sse'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unit_split_json_array():
    from wfctl.durable_streams._split import _split_json_array

    text = json.dumps(big_events(20), ensure_ascii=False, separators=(",", ":")).encode()
    for size in range(2, len(text), 97):
        buf = bytearray(text[:size])
        split = _split_json_array(buf, 1, True)
        if split is None:
            continue
        items, seg, cut = split
        assert items == json.loads(b"[" + seg + b"]") == big_events(len(items))
        assert text[cut - 1 : cut] == b"," and text[1 : cut - 1] == seg
    # a non-object array, cut inside a string that contains commas, and inside a multi-byte character
    text = json.dumps(["a,b", 1, "é,é", [1, 2], None], ensure_ascii=False).encode()
    for size in range(2, len(text)):
        split = _split_json_array(bytearray(text[:size]), 1, False)
        if split is not None:
            items, seg, cut = split
            assert items == ["a,b", 1, "é,é", [1, 2], None][: len(items)]
