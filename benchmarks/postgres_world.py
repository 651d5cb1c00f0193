#!/usr/bin/env python3
"""Benchmark (README, "Benchmarks"): ``wfctl list`` and ``wfctl dashboard`` on a Postgres world of 100,000 runs.

Starts a throw-away PostgreSQL (tests/doubles/pg_peer.py: Debian's binaries, 127.0.0.1, a free port, a
non-root user), bootstraps the world's schema with its own ``bootstrap`` command (so only the indexes the world
creates exist: the primary keys and ``name``/``status``), then grows ``workflow.workflow_runs`` to 1,000,
10,000 and 100,000 rows with ``COPY``. Rows look like the world's own: ``wrun_<ULID>`` ids minted from
``created_at``, five workflows, a realistic status mix, CBOR tag-64 ``devl`` input/output, CBOR errors and
execution contexts, naive UTC timestamps, varchar ``spec_version``. After each step it runs ``VACUUM
ANALYZE`` (what autovacuum does on a live database) and measures, as the median of several runs:

* the queries alone, in-process through the backend (``list_runs`` — SQL + decoding of the page — and
  ``counts``, the dashboard's one ``GROUP BY``);
* the whole commands as a user runs them: ``wfctl list --limit 20`` and ``wfctl dashboard --once -o json``
  (new process each time: interpreter start-up, imports, connect, query, render).

Usage::

    python benchmarks/postgres_world.py              # 1k / 10k / 100k, prints a table
    python benchmarks/postgres_world.py --sizes 1000,10000,100000,300000 --repeat 15 --explain
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script: wfctl and tests.doubles from the checkout

from tests.doubles.pg_peer import PostgresServer, bootstrap_world, ensure_postgres  # noqa: E402

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WORKFLOWS = ["demoWorkflow", "approvalWorkflow", "failingWorkflow", "tickerWorkflow", "logsWorkflow"]
STATUS_MIX = [("completed", 0.86), ("failed", 0.06), ("cancelled", 0.04), ("running", 0.035), ("pending", 0.005)]


def ulid(ms: int, rand: int) -> str:
    value = (ms << 80) | rand
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def cbor_u8(data: bytes) -> bytes:
    import cbor2

    return cbor2.dumps(cbor2.CBORTag(64, data))


class RowMaker:
    """Rows shaped like world-postgres writes them (one CBOR encoding per distinct value, reused)."""

    def __init__(self, seed: int = 7):
        import cbor2

        self.rng = random.Random(seed)
        self.context = cbor2.dumps(
            {"traceCarrier": {}, "workflowCoreVersion": "4.8.9", "features": {"encryption": False}}
        )
        self.error = cbor2.dumps(
            {
                "message": "boom: bad input",
                "stack": "FatalError: boom: bad input\n    at validate",
                "code": "USER_ERROR",
            }
        )
        self.inputs = [cbor_u8(b'devl[[1,2],"' + name.encode() + b'","1h"]') for name in ("Ada", "Cy", "Bo")]
        self.outputs = [
            cbor_u8(b'devl[{"greeting":1,"length":2},"Hello, ' + name.encode() + b'!",10]')
            for name in ("Ada", "Cy", "Bo")
        ]
        self.rand = 0

    def status(self) -> str:
        x = self.rng.random()
        for status, share in STATUS_MIX:
            if x < share:
                return status
            x -= share
        return "completed"

    def rows(self, count: int, start: datetime, step_ms: float):
        for i in range(count):
            created = start + timedelta(milliseconds=i * step_ms + self.rng.random() * step_ms * 0.5)
            ms = int(created.timestamp() * 1000)
            self.rand += 1
            run_id = "wrun_" + ulid(ms, (self.rng.getrandbits(64) << 16) | (self.rand & 0xFFFF))
            status = self.status()
            workflow = f"workflow//./workflows/demo//{self.rng.choice(WORKFLOWS)}"
            naive = created.astimezone(timezone.utc).replace(tzinfo=None)
            started = naive + timedelta(milliseconds=20)
            done = (
                naive + timedelta(seconds=self.rng.uniform(0.2, 5))
                if status in ("completed", "failed", "cancelled")
                else None
            )
            yield (
                run_id,
                workflow,
                status,
                "postgres",
                "3",
                self.rng.choice(self.inputs),
                self.rng.choice(self.outputs) if status == "completed" else None,
                self.context,
                self.error if status == "failed" else None,
                naive,
                done or started,
                started if status != "pending" else None,
                done,
            )


COLUMNS = (
    "id",
    "name",
    "status",
    "deployment_id",
    "spec_version",
    "input_cbor",
    "output_cbor",
    "execution_context_cbor",
    "error_cbor",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
)


def grow(dsn: str, maker: RowMaker, count: int, start: datetime, step_ms: float) -> float:
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY workflow.workflow_runs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in maker.rows(count, start, step_ms):
                    copy.write_row(row)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE workflow.workflow_runs")
    return time.perf_counter() - began


def median_ms(fn, repeat: int) -> float:
    fn()  # warm the connection and caches
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def cli_ms(argv: list[str], env: dict[str, str], repeat: int) -> float:
    def run() -> None:
        proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")

    return median_ms(run, repeat)


def explain(dsn: str, sql: str) -> str:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="table sizes to measure at (ascending)")
    parser.add_argument("--repeat", type=int, default=9, help="samples per measurement (median)")
    parser.add_argument("--explain", action="store_true", help="print the query plans at the largest size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes != sorted(sizes):
        parser.error("--sizes must be ascending")

    from wfctl.backends.workflow_sdk.postgres import PostgresWorldBackend
    from wfctl.config import resolve
    from wfctl.model import ListQuery

    ensure_postgres()
    server = PostgresServer()
    results = []
    try:
        server.start()
        dsn = server.create_world()
        print(
            f"PostgreSQL {server.execute('SHOW server_version')[0][0]} on 127.0.0.1:{server.port}; "
            "bootstrapping the world's schema ...",
            file=sys.stderr,
        )
        bootstrap_world(dsn)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
        env.update(
            WFCTL_WORLD="postgres",
            WFCTL_DSN=dsn,
            WFCTL_CONFIG=str(Path(server.base) / "none.toml"),
            WFCTL_CACHE_DIR=str(Path(server.base) / "cache"),
            NO_COLOR="1",
        )
        wfctl = [sys.executable, "-c", "from wfctl.cli import main; main()"]
        maker = RowMaker()
        # 90 days of history, newest runs last: ids and created_at grow together, as they do in the world
        end = datetime.now(timezone.utc)
        total_span_ms = 90 * 24 * 3600 * 1000
        have = 0
        python_start = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat)
        for size in sizes:
            add = size - have
            step_ms = total_span_ms / sizes[-1]
            start = end - timedelta(milliseconds=step_ms * (sizes[-1] - have))
            took = grow(dsn, maker, add, start, step_ms)
            have = size
            print(f"{size:>9,} runs (+{add:,} in {took:.1f}s, VACUUM ANALYZE included)", file=sys.stderr)
            backend = PostgresWorldBackend(resolve(flags={"dsn": dsn}, env={"WFCTL_WORLD": "postgres"}))
            row = {
                "rows": size,
                "list_query": median_ms(
                    lambda backend=backend: backend.list_runs(ListQuery(limit=20)), args.repeat * 3
                ),
                "list_filtered": median_ms(
                    lambda backend=backend: backend.list_runs(
                        ListQuery(limit=20, statuses=["failed"], workflow="demoWorkflow")
                    ),
                    args.repeat * 3,
                ),
                "counts_query": median_ms(lambda backend=backend: backend.counts(), args.repeat * 3),
                "list_cli": cli_ms(wfctl + ["list", "--limit", "20"], env, args.repeat),
                "dashboard_cli": cli_ms(wfctl + ["dashboard", "--once", "-o", "json"], env, args.repeat),
            }
            backend.close()
            results.append(row)
        if args.explain:
            print("\n-- plan: list --limit 20 (ORDER BY id DESC LIMIT 21)")
            print(explain(dsn, "SELECT id FROM workflow.workflow_runs ORDER BY id DESC LIMIT 21"))
            print("\n-- plan: list --status failed --workflow demoWorkflow")
            print(
                explain(
                    dsn,
                    "SELECT id FROM workflow.workflow_runs WHERE status IN ('failed') AND name IN "
                    "('workflow//./workflows/demo//demoWorkflow') ORDER BY id DESC LIMIT 21",
                )
            )
            print("\n-- plan: dashboard counts (GROUP BY status)")
            cap = PostgresWorldBackend.COUNT_CAP + 1
            branches = " UNION ALL ".join(
                f"(SELECT status FROM workflow.workflow_runs WHERE status = '{s}' LIMIT {cap})"
                for s in ("pending", "running", "completed", "failed", "cancelled")
            )
            print(explain(dsn, f"SELECT status::text, count(*) FROM ({branches}) AS capped GROUP BY status"))
    finally:
        server.cleanup()

    first = results[0]
    print()
    print(f"python -c pass: {python_start:.0f} ms (process start-up floor for the command columns)")
    print()
    header = ("runs", "list query", "list --status --workflow", "dashboard GROUP BY", "wfctl list", "wfctl dashboard")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for row in results:
        print(
            f"| {row['rows']:,} | {row['list_query']:.2f} ms | {row['list_filtered']:.2f} ms | "
            f"{row['counts_query']:.2f} ms | {row['list_cli']:.0f} ms | {row['dashboard_cli']:.0f} ms |"
        )
    last = results[-1]
    ratios = [last[k] / first[k] for k in ("list_query", "list_filtered", "counts_query", "list_cli", "dashboard_cli")]
    print(f"| ratio {last['rows'] // first['rows']}x rows | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")
    print(
        json.dumps(
            {
                "python_start_ms": round(python_start, 1),
                "results": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in results],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
