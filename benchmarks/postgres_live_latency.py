#!/usr/bin/env python3
"""Live latency of ``wfctl tail RUN --live`` on the Postgres world (README, "Benchmarks"): append → printed.

    python benchmarks/postgres_live_latency.py [--rounds 3] [--baseline DIR] [--python PY] [--idle 10]

Starts a throw-away PostgreSQL (tests/doubles/pg_peer.py: Debian's binaries, 127.0.0.1, a free port) and
bootstraps the world's schema with its own ``bootstrap`` (drizzle migrations and graphile-worker's schema).
A running run is followed by ``wfctl tail RUN --live -o jsonl`` (default ``--interval``, 1 s) while this
script inserts its events the way world-postgres does (one autocommit ``INSERT`` per event, ULID ids) and
reads wfctl's stdout on a thread: the latency of an event is the time from its ``INSERT`` returning to its
line being read. Two patterns, each in every round:

* ``burst`` — 60 events, one every 20-80 ms (random, seeded): a run busy writing events;
* ``steps`` — 10 steps of a workflow as the world writes them: ``step_created`` and a job for the step
  (``graphile_worker.add_job``, which NOTIFYs ``jobs:insert``), ``step_started`` 10-30 ms later,
  ``step_completed`` 0.2-1.5 s later and a job for the workflow; the next step 30-80 ms after that.

Variants, interleaved round by round: ``this`` (this tree) and ``baseline`` (``--baseline DIR``, another
source tree holding ``wfctl/``, e.g. ``git archive <commit> wfctl | tar -x -C DIR``). Every variant must print
every event exactly once, in order (checked). Then the cost of following an idle run: the tail of a run
nobody writes to runs ``--idle`` seconds while the server logs every statement (``log_statement = all``,
with the application name): wfctl's statements over that time give queries/s —
``idle`` in a quiet world, ``busy`` while the world queues a job for other runs every 20 ms (50 jobs/s).
Output: a table (median, p90, max in ms; queries/s), then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script: tests.doubles from the checkout

from tests.doubles.pg_peer import PostgresServer, bootstrap_world, ensure_postgres  # noqa: E402

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
STEP = "step//./workflows/demo//greet"


def ulid(ms: int, rand: int) -> str:
    value = (ms << 80) | rand
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class World:
    """Writes one run and its events like world-postgres (autocommit, one statement per write)."""

    def __init__(self, conn: Any, seq: int):
        import cbor2

        self.conn, self.cbor2, self.seq = conn, cbor2, seq * 1_000_000
        self.run_id = "wrun_" + ulid(int(time.time() * 1000), self.seq)
        conn.execute(
            "INSERT INTO workflow.workflow_runs (id, name, status, deployment_id, spec_version, input_cbor, "
            "created_at, updated_at, started_at) VALUES (%s, 'workflow//./workflows/demo//demoWorkflow', "
            "'running', 'postgres', '3', %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', "
            "now() AT TIME ZONE 'UTC')",
            [self.run_id, cbor2.dumps(cbor2.CBORTag(64, b'devl[[1],"bench"]'))],
        )

    def event(self, event_type: str) -> str:
        self.seq += 1
        event_id = "wevt_" + ulid(int(time.time() * 1000), self.seq)
        self.conn.execute(
            "INSERT INTO workflow.workflow_events (id, type, run_id, correlation_id, payload_cbor, created_at, "
            "spec_version) VALUES (%s, %s, %s, %s, %s, now() AT TIME ZONE 'UTC', 3)",
            [event_id, event_type, self.run_id, f"step_{self.seq:08d}", self.cbor2.dumps({"stepName": STEP})],
        )
        return event_id

    def job(self, queue: str) -> None:
        self.conn.execute("SELECT graphile_worker.add_job(%s, %s::json)", [queue, json.dumps({"runId": self.run_id})])

    def finish(self) -> None:
        self.conn.execute(
            "UPDATE workflow.workflow_runs SET status = 'completed', completed_at = now() AT TIME ZONE 'UTC' "
            "WHERE id = %s",
            [self.run_id],
        )


def pause(seconds: float) -> None:
    time.sleep(seconds)


def writes(pattern: str, world: World, rng: random.Random) -> list[tuple[str, float]]:
    """Append the pattern's events; returns (event id, time its INSERT returned)."""
    out: list[tuple[str, float]] = []

    def event(event_type: str) -> None:
        out.append((world.event(event_type), time.perf_counter()))

    if pattern == "burst":
        for _ in range(60):
            pause(rng.uniform(0.02, 0.08))
            event("step_started")
        return out
    for _ in range(10):
        pause(rng.uniform(0.03, 0.08))
        event("step_created")
        world.job("workflow_steps")
        pause(rng.uniform(0.01, 0.03))
        event("step_started")
        pause(rng.uniform(0.2, 1.5))
        event("step_completed")
        world.job("workflow_flows")
    return out


def follow(py: str, env: dict[str, str], run_id: str) -> tuple[subprocess.Popen[str], dict[str, float], list[str]]:
    proc = subprocess.Popen(
        [py, "-m", "wfctl.cli", "tail", run_id, "--live", "-o", "jsonl"],
        cwd=env["WFCTL_CACHE_DIR"],  # not the checkout: `-m` puts the working directory first on sys.path
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    seen: dict[str, float] = {}
    order: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            event_id = json.loads(line).get("offset") or ""
            seen[event_id] = now
            order.append(event_id)

    threading.Thread(target=reader, daemon=True).start()
    return proc, seen, order


def one_round(py: str, env: dict[str, str], conn: Any, pattern: str, seq: int) -> list[float]:
    world = World(conn, seq)
    first = world.event("run_created")
    proc, seen, order = follow(py, env, world.run_id)
    deadline = time.monotonic() + 30
    while first not in seen and time.monotonic() < deadline:  # the catch-up's line: wfctl is following
        time.sleep(0.01)
    if first not in seen:
        proc.kill()
        raise SystemExit(f"wfctl printed nothing: {proc.stderr.read() if proc.stderr else ''}")
    time.sleep(1.5)  # past the catch-up, in the live loop, idle (a poll interval has passed)
    written = writes(pattern, world, random.Random(seq))
    deadline = time.monotonic() + 15
    while len(order) < len(written) + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    world.finish()
    ids = [first] + [e for e, _ in written]
    if order != ids:
        raise SystemExit(f"printed {len(order)} of {len(ids)} events, or out of order / twice: {order[:5]}...")
    return [(seen[e] - t) * 1000 for e, t in written]


def statements(server: PostgresServer) -> list[str]:
    """The statements wfctl's sessions sent (the server logs every statement with its application name)."""
    return [
        line
        for line in server.read_log().splitlines()
        if line.startswith("wfctl|") and ("statement: " in line or " execute " in line)  # simple / extended protocol
    ]


def idle_cost(
    py: str, env: dict[str, str], conn: Any, server: PostgresServer, seconds: float, seq: int, busy: Any
) -> float:
    """Queries/s of a tail following a run nobody writes to (the statements its sessions sent). With ``busy``
    (a connection), the world meanwhile queues a job for other runs every 20 ms."""
    world = World(conn, seq)
    first = world.event("run_created")
    proc, seen, _ = follow(py, env, world.run_id)
    deadline = time.monotonic() + 30
    while first not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    stop = threading.Event()

    def neighbours() -> None:
        while not stop.wait(0.02):
            busy.execute("SELECT graphile_worker.add_job('workflow_flows', '{}'::json)")

    thread = threading.Thread(target=neighbours, daemon=True)
    if busy is not None:
        thread.start()
    time.sleep(3.0)  # backed off
    before = len(statements(server))
    time.sleep(seconds)
    after = len(statements(server))
    stop.set()
    if busy is not None:
        thread.join()
    proc.kill()
    proc.wait()
    world.finish()
    return (after - before) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", help="a source tree holding wfctl/ (before)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of the idle-cost measurement per variant")
    args = ap.parse_args()
    import psycopg

    ensure_postgres()
    server = PostgresServer()
    try:
        server.start()
        dsn = server.create_world()
        print(f"PostgreSQL {server.execute('SHOW server_version')[0][0]} on 127.0.0.1:{server.port}", file=sys.stderr)
        bootstrap_world(dsn)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
        base_env.update(
            WFCTL_WORLD="postgres",
            WFCTL_DSN=dsn,
            WFCTL_CONFIG=str(Path(server.base) / "none.toml"),
            WFCTL_CACHE_DIR=str(Path(server.base) / "cache"),
            NO_COLOR="1",
        )
        Path(base_env["WFCTL_CACHE_DIR"]).mkdir(exist_ok=True)
        variants = {"this": {**base_env, "PYTHONPATH": str(ROOT)}}
        if args.baseline:
            variants["baseline"] = {**base_env, "PYTHONPATH": str(Path(args.baseline).resolve())}
        patterns = ("burst", "steps")
        samples: dict[tuple[str, str], list[float]] = {(v, p): [] for v in variants for p in patterns}
        idle: dict[tuple[str, str], list[float]] = {(v, w): [] for v in variants for w in ("idle", "busy")}
        seq = 0
        with (
            psycopg.connect(dsn, autocommit=True) as conn,
            psycopg.connect(dsn, autocommit=True) as busy,
        ):
            for _ in range(args.rounds):
                for pattern in patterns:
                    for name, env in variants.items():
                        seq += 1
                        samples[name, pattern] += one_round(args.python, env, conn, pattern, seq)
            server.execute("ALTER SYSTEM SET log_statement = 'all'")
            server.execute("ALTER SYSTEM SET log_line_prefix = '%a|'")
            server.execute("SELECT pg_reload_conf()")
            for name, env in variants.items():
                for world in ("idle", "busy"):
                    seq += 1
                    neighbours = busy if world == "busy" else None
                    idle[name, world].append(idle_cost(args.python, env, conn, server, args.idle, seq, neighbours))
        result: dict[str, Any] = {}
        print(f"{'variant':<10}{'pattern':<8}{'events':>8}{'median ms':>11}{'p90 ms':>9}{'max ms':>9}")
        for (name, pattern), values in samples.items():
            if not values:  # --rounds 0: the idle cost alone
                continue
            values.sort()
            p90 = values[int(0.9 * (len(values) - 1))]
            med = statistics.median(values)
            result.setdefault(name, {})[pattern] = {
                "events": len(values),
                "median_ms": round(med, 1),
                "p90_ms": round(p90, 1),
                "max_ms": round(values[-1], 1),
            }
            print(f"{name:<10}{pattern:<8}{len(values):>8}{med:>11.1f}{p90:>9.1f}{values[-1]:>9.1f}")
        for (name, world), values in idle.items():
            rate = statistics.median(values)
            result.setdefault(name, {})[f"{world}_queries_per_s"] = round(rate, 2)
            print(f"{name:<10}{world}: {rate:.2f} queries/s")
        print(json.dumps({"rounds": args.rounds, "results": result}))
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
