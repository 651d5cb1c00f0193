#!/usr/bin/env python3
"""Live latency of ``wfctl tail RUN --live`` on the local world (README, "Benchmarks"): append → printed.

    python benchmarks/tail_live_latency.py [--events 60] [--rounds 3] [--baseline DIR] [--python PY] [--stream]

A copy of the recorded world (examples/workflow-sdk-demo) in a temporary directory; its sleeping run is
followed by ``wfctl tail RUN --live -o jsonl`` while this script appends events to it the way world-local
does (a temporary file renamed into ``events/``), one every 20-80 ms (random, seeded), and reads wfctl's
stdout on a thread: the latency of an event is the time from its rename to its line being read. With
``--stream``, ``wfctl tail RUN --stream --live`` and stream chunks instead (4.x flat chunk files renamed into
``streams/chunks/``: a workflow streaming its output). Variants,
interleaved round by round in one run:

* ``notify`` — this tree, file-system notifications (watchfiles);
* ``poll`` — this tree with ``WFCTL_LOCAL_WATCH=poll`` (the fallback: directory polls every 150 ms);
* ``baseline`` — another source tree (``--baseline DIR``, e.g. ``git archive <commit> wfctl | tar -x -C DIR``).

Every variant must print every appended event exactly once, in order (checked). Output: a table of the
median, p90 and max in milliseconds, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "workflow-sdk-demo"
RUN = "wrun_01M81013R4XC1AH1NY0GMYME33"  # sleeping for an hour in the recording: never terminal here
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms: int, seq: int) -> str:
    value = (ms << 80) | (0xABCDE << 40) | seq
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


STREAM = "strm_01M81013R4XC1AH1NY0GMYME33_user"  # RUN's default stream


def write_chunk(data: Path, i: int, base_ms: int) -> str:
    chunk_id = "chnk_01ZZ" + ulid(base_ms, i)[4:]
    payload = f'devl["token {i}"]'.encode()
    final = data / "streams" / "chunks" / f"{STREAM}-{chunk_id}.bin"
    temp = final.with_name(final.name + f".tmp-{i}")
    temp.write_bytes(b"\x00" + len(payload).to_bytes(4, "big") + payload)
    os.rename(temp, final)
    return chunk_id


def one_round(py: str, env: dict[str, str], events: int, seed: int, stream: bool = False) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="wfctl-latency-") as tmp:
        world = Path(tmp) / "world"
        shutil.copytree(DEMO, world)
        data = world / ".workflow-data"
        proc = subprocess.Popen(
            [py, "-m", "wfctl.cli", "tail", RUN, "--live", "-o", "jsonl", *(["--stream"] if stream else [])],
            cwd=world,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        seen: dict[str, float] = {}
        order: list[str] = []
        started = threading.Event()

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                now = time.perf_counter()
                event_id = json.loads(line).get("offset") or ""
                if event_id.startswith(("evnt_01ZZ", "chnk_01ZZ")):
                    seen[event_id] = now
                    order.append(event_id)
                started.set()

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        if not started.wait(20):  # the catch-up's lines: wfctl is following
            proc.kill()
            raise SystemExit(f"wfctl printed nothing: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.5)  # past the catch-up, in the live loop
        rng = random.Random(seed)
        written: dict[str, float] = {}
        ids = []
        base_ms = 0x1FF_FFFF_FFFF  # sorts after every recorded id
        for i in range(events):
            time.sleep(rng.uniform(0.02, 0.08))
            if stream:
                ids.append(write_chunk(data, i, base_ms))
                written[ids[-1]] = time.perf_counter()
                continue
            event_id = "evnt_" + ulid(base_ms, i)
            event_id = "evnt_01ZZ" + event_id[9:]
            record = {
                "eventType": "wait_created",
                "specVersion": 3,
                "correlationId": f"wait_bench{i:04d}",
                "eventData": {"resumeAt": "2099-01-01T00:00:00.000Z"},
                "runId": RUN,
                "eventId": event_id,
                "createdAt": "2026-11-22T06:46:00.000Z",
            }
            final = data / "events" / f"{RUN}-{event_id}.json"
            temp = final.with_name(final.name + f".tmp-{i}")
            temp.write_text(json.dumps(record, indent=2))
            os.rename(temp, final)
            written[event_id] = time.perf_counter()
            ids.append(event_id)
        deadline = time.monotonic() + 10
        while len(seen) < events and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        if order != ids:
            raise SystemExit(f"printed {len(order)} of {events} events, or out of order / twice: {order[:5]}...")
        return [(seen[e] - written[e]) * 1000 for e in ids]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=60, help="events appended per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", help="a source tree holding wfctl/ (before)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--stream", action="store_true", help="stream chunks (tail --stream --live) instead of events")
    args = ap.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
    base_env.update({"WFCTL_CONFIG": "/nonexistent/wfctl.toml", "WFCTL_CACHE_DIR": "/tmp/wfctl-bench-cache"})
    variants = {
        "notify": {**base_env, "PYTHONPATH": str(ROOT)},
        "poll": {**base_env, "PYTHONPATH": str(ROOT), "WFCTL_LOCAL_WATCH": "poll"},
    }
    if args.baseline:
        variants["baseline"] = {**base_env, "PYTHONPATH": str(Path(args.baseline).resolve())}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, env in variants.items():
            samples[name] += one_round(args.python, env, args.events, seed=r, stream=args.stream)
    result = {}
    print(f"{'variant':<10}{'events':>8}{'median ms':>11}{'p90 ms':>9}{'max ms':>9}")
    for name, values in samples.items():
        values.sort()
        p90 = values[int(0.9 * (len(values) - 1))]
        med = statistics.median(values)
        result[name] = {"events": len(values), "median_ms": round(med, 1), "p90_ms": round(p90, 1)}
        print(f"{name:<10}{len(values):>8}{med:>11.1f}{p90:>9.1f}{values[-1]:>9.1f}")
    print(json.dumps({"rounds": args.rounds, "events": args.events, "stream": args.stream, "results": result}))


if __name__ == "__main__":
    main()
