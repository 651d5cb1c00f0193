#!/usr/bin/env python3
"""Tail catch-up throughput (README, "Benchmarks"): events/s and peak memory, measured in one run.

    python benchmarks/tail_throughput.py [--events 1000000] [--runs 5] [--flat] [--flue-flat N] [--no-replay]
                                         [--json]

One Durable Streams reference server (``@durable-streams/server@0.3.7``, started by
``tests/doubles/ds_server.py`` from ``tests/peers/durable-streams``) holds one closed JSON stream of
``--events`` small FlueEvent-shaped messages (``{"type":"log","level":"info","message":"m123","v":3,
"eventIndex":123}``, ~70 bytes each). Then, in ``--runs`` rounds (each round in another order, so that the
server's state after one reader, e.g. its garbage collection of the last 72 MB answer, does not always fall
on the same next reader), every reader reads the whole stream from ``-1`` as a fresh process:

* ``curl``            ``curl -s --compressed -o /dev/null URL?offset=-1`` — the body as the server sends it
                       to the others (gzip), the floor;
* ``ts-client``        a small Node script on the official ``@durable-streams/client`` (``stream({live:
                       false, json: true})``, ``subscribeJson``), counting the parsed items;
* ``ts-client jsonl``  the same script also writing every item as a JSON line to stdout (``/dev/null``),
                       i.e. the same output work as wfctl;
* ``wfctl``            ``wfctl --backend flue --url http://…/v1/stream/runs/{runId} tail bench -o jsonl
                       > /dev/null`` (the Flue backend's raw Durable Streams mode: the profile URL is a stream
                       URL template).

Two tables. **The reference server**: the headline measurement. The server builds its whole answer before it
sends a byte (2.0–3.0 s here, and it varies with its heap), and every reader waits for that. **Replay**: the
server's answer, recorded once (body and Durable Streams headers), is served from memory by a thread of this
process (gzip, as the reference server does): the readers' own work, without the server's share and noise.

Each reader's wall time (process start to exit) gives events/s (median of the runs; every run is listed);
its peak RSS comes from GNU ``/usr/bin/time -f %M`` (no psutil, no polling). Every reader must report the
full count (wfctl's is checked from a first run into a pipe, which also writes the bytecode caches: the
runs are made without ``PYTHONDONTWRITEBYTECODE``, as an installed wfctl). Memory flatness: ``--flat`` also
runs wfctl on a stream 10× smaller and reports both peaks; ``--flue-flat N`` tails runs of N/10 and N events
from the fake Flue server (tests/doubles/flue_server.py), whose 100-event pages are what a real Flue 1.0 server
sends, and reports wfctl's peak RSS and rate for both.

wfctl decodes most of a large answer in a helper process on the second core
(``wfctl.durable_streams._columns``): its wall time includes the helper's work; since ``time`` reports the
largest process of a tree rather than their sum, the helper's own peak RSS is measured apart (the same answer's
parts sent through a helper) and listed next to wfctl's.

Target: wfctl at least the TS client's rate, with memory that stays flat. Results: README ("Benchmarks").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script: wfctl and tests.doubles from the checkout

from tests.doubles.ds_server import PEER_DIR, DSServer, PeerUnavailable  # noqa: E402

NODE_READER = r"""
import { stream } from "@durable-streams/client";
const [url, mode] = process.argv.slice(1);
const res = await stream({ url, offset: "-1", live: false, json: true });
let count = 0;
await new Promise((resolve, reject) => {
  res.subscribeJson((batch) => {
    count += batch.items.length;
    if (mode === "jsonl") {
      let out = "";
      for (const item of batch.items) {
        out += JSON.stringify(item) + "\n";
        if (out.length > 1 << 20) { process.stdout.write(out); out = ""; }
      }
      if (out) process.stdout.write(out);
    }
    if (batch.upToDate || batch.streamClosed) resolve();
  });
  res.closed?.catch?.(reject);
});
process.stderr.write(JSON.stringify({ count }) + "\n");
"""


def fill(server: DSServer, path: str, events: int, batch: int = 20_000) -> int:
    server.create(path, content_type="application/json")
    written = 0
    while written < events:
        n = min(batch, events - written)
        body = ",".join(
            f'{{"type":"log","level":"info","message":"m{i}","v":3,"eventIndex":{i}}}'
            for i in range(written, written + n)
        )
        resp = server.append(path, "[" + body + "]", "application/json", close=written + n >= events)
        if resp.status_code != 204:
            raise SystemExit(f"append failed: {resp.status_code} {resp.text[:200]}")
        written += n
    return int(server.head(path).headers.get("content-length") or 0)


def measure(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
) -> tuple[float, int, int, str]:
    """Run ``cmd``; return (seconds, peak RSS in bytes, exit code, stderr).

    The peak RSS is the command's own maximum resident set size, as reported by GNU ``/usr/bin/time -f %M``
    (``wait4``'s ``ru_maxrss``): ``time`` is a small process, so the figure is not inflated by the memory of
    this Python process, which a child forked from here would inherit in its ``ru_maxrss``."""
    err_path = Path(f"/tmp/tail-bench-{os.getpid()}.err")
    rss_path = Path(f"/tmp/tail-bench-{os.getpid()}.rss")
    timer = ["/usr/bin/time", "-o", str(rss_path), "-f", "%M"] if Path("/usr/bin/time").exists() else []
    with err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.run(timer + cmd, cwd=cwd, env=env, stdout=stdout, stderr=err, check=False)
        elapsed = time.perf_counter() - started
    text = err_path.read_text(errors="replace")
    err_path.unlink()
    rss = 0
    if timer:
        lines = rss_path.read_text().split()
        rss_path.unlink()
        rss = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else 0
    return elapsed, rss, proc.returncode, text


def helper_peak(server: DSServer, path: str) -> int:
    """Peak RSS (bytes) of wfctl's helper process (``wfctl.durable_streams._columns``) decoding this stream's
    answer: ``/usr/bin/time`` reports the largest process of a tree, not their sum, so the helper's share of a
    ``wfctl tail`` is measured here, by sending the same answer's 64 KiB parts through a helper."""
    import httpx

    from wfctl.backends.flue import _BLOCK_KEYS
    from wfctl.durable_streams._columns import ColumnHelper
    from wfctl.durable_streams._reader import PART_BYTES
    from wfctl.durable_streams._split import _proven_part

    with httpx.Client(timeout=120) as client:
        body = bytearray(client.get(f"{server.url}{path}", params={"offset": "-1"}).content)
    begin = body.index(b"[") + 1
    with ColumnHelper(_BLOCK_KEYS) as helper:
        while len(body) - begin > PART_BYTES:
            part = _proven_part(body, begin, PART_BYTES)
            if part is None:
                raise SystemExit("the benchmark's answer did not cut")
            if not helper.submit(part[0]):
                helper.result()
                helper.submit(part[0])
            begin = part[1]
        while helper.pending:
            helper.result()
    if not helper.max_rss:
        raise SystemExit("the helper did not report its memory")
    return helper.max_rss


def count_wfctl(cmd: list[str], env: dict[str, str]) -> int:
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"wfctl failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")
    return sum(1 for line in proc.stdout.splitlines() if line.startswith(b'{"kind":"event"'))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--flat", action="store_true", help="also measure wfctl's peak RSS on a 10x smaller stream")
    ap.add_argument(
        "--flue-flat",
        type=int,
        default=0,
        metavar="N",
        help="also tail runs of N/10 and N events from the fake Flue server (peak RSS of each)",
    )
    ap.add_argument("--no-replay", action="store_true", help="skip the replay of the recorded answer")
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = ap.parse_args()

    node = os.environ.get("WFCTL_NODE") or shutil.which("node")
    curl = shutil.which("curl")
    wfctl = str(Path(sys.executable).with_name("wfctl"))
    if not node or not curl or not Path(wfctl).exists():
        raise SystemExit("needs node, curl and wfctl (run from the project's venv)")
    try:
        server = DSServer.start(long_poll_timeout_ms=500)
    except PeerUnavailable as exc:
        raise SystemExit(f"reference server unavailable: {exc}") from None
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "WFCTL_CONFIG": "/nonexistent/wfctl.toml",
        "WFCTL_CACHE_DIR": f"/tmp/wfctl-bench-cache-{os.getpid()}",
    }
    # Bytecode caches on, as for an installed wfctl (count_wfctl's first run writes them): an inherited
    # PYTHONDONTWRITEBYTECODE would recompile every changed module on every run.
    env = {
        k: v
        for k, v in env.items()
        if k not in ("WFCTL_TOKEN", "WFCTL_PROFILE", "WFCTL_URL", "PYTHONDONTWRITEBYTECODE")
    }
    try:
        started = time.perf_counter()
        fill(server, "/v1/stream/runs/bench", args.events)
        fill_seconds = time.perf_counter() - started
        stream_url = f"{server.url}/v1/stream/runs/bench"
        template = f"{server.url}/v1/stream/runs/{{runId}}"
        body_bytes = len(subprocess.run([curl, "-s", f"{stream_url}?offset=-1"], capture_output=True).stdout)
        wfctl_cmd = [wfctl, "--backend", "flue", "--url", template, "tail", "bench", "-o", "jsonl"]
        cases: dict[str, tuple[list[str], Path | None]] = {
            "curl (raw body, floor)": (
                [curl, "-s", "--compressed", "-o", "/dev/null", f"{stream_url}?offset=-1"],
                None,
            ),
            "ts-client (count)": ([node, "--input-type=module", "-e", NODE_READER, stream_url, "count"], PEER_DIR),
            "ts-client (jsonl)": ([node, "--input-type=module", "-e", NODE_READER, stream_url, "jsonl"], PEER_DIR),
            "wfctl tail -o jsonl": (wfctl_cmd, None),
        }
        counted = count_wfctl(wfctl_cmd, env)
        if counted != args.events:
            raise SystemExit(f"wfctl printed {counted} events, expected {args.events}")
        results = run_readers(cases, args.runs, args.events, env)
        helper_rss = helper_peak(server, "/v1/stream/runs/bench")
        replay_results = None
        if not args.no_replay:
            with Replay(server, "/v1/stream/runs/bench") as replay:
                replay_cases = {
                    name: ([a.replace(server.url, replay.url) for a in cmd], cwd) for name, (cmd, cwd) in cases.items()
                }
                replay_results = run_readers(replay_cases, args.runs, args.events, env)
        flat = None
        if args.flat:
            small = max(1, args.events // 10)
            fill(server, "/v1/stream/runs/small", small)
            small_cmd = [wfctl, "--backend", "flue", "--url", template, "tail", "small", "-o", "jsonl"]
            peaks = [measure(small_cmd, env=env)[1] for _ in range(args.runs)]
            flat = {"events": small, "peakRssMB": round(min(peaks) / 2**20, 1)}
    finally:
        server.stop()

    flue_flat = flue_memory(args.flue_flat, wfctl, env) if args.flue_flat else None

    summary = summarize(results, args.events)
    summary[WFCTL]["helperPeakRssMB"] = round(helper_rss / 2**20, 1)
    doc = {
        "events": args.events,
        "bodyMB": round(body_bytes / 2**20, 1),
        "fillSeconds": round(fill_seconds, 1),
        "runs": args.runs,
        "results": summary,
        **ratios(summary),
    }
    if replay_results:
        replay_summary = summarize(replay_results, args.events)
        doc["replay"] = {"results": replay_summary, **ratios(replay_summary)}
    if flat:
        doc["flat"] = {"smallStream": flat, "fullStreamPeakRssMB": summary[WFCTL]["peakRssMB"]}
    if flue_flat:
        doc["flueFlat"] = flue_flat
    if not args.json:
        print(
            f"{args.events:,} events, {doc['bodyMB']} MB body, median of {args.runs} runs (readers in rotating order)"
        )
        print_table("the reference server (builds the whole answer first, then sends it)", summary, doc)
        if replay_results:
            print_table(
                "replay: the reference server's recorded answer, served at once (the readers' own work)",
                doc["replay"]["results"],
                doc["replay"],
            )
        print(
            f"\nwfctl's helper process (decoding on the second core): peak RSS "
            f"{summary[WFCTL]['helperPeakRssMB']} MB, besides wfctl's own"
        )
        if flat:
            print(
                f"wfctl peak RSS: {flat['peakRssMB']} MB at {flat['events']:,} events, "
                f"{summary[WFCTL]['peakRssMB']} MB at {args.events:,}"
            )
        if flue_flat:
            print(
                "wfctl on the fake Flue server (100-event pages): "
                + ", ".join(
                    f"{row['events']:,} events {row['peakRssMB']} MB peak, {row['eventsPerSecond']:,} events/s"
                    for row in flue_flat
                )
            )
    print(json.dumps(doc))


WFCTL = "wfctl tail -o jsonl"


def run_readers(
    cases: dict[str, tuple[list[str], Path | None]], runs: int, events: int, env: dict[str, str]
) -> dict[str, list[tuple[float, int]]]:
    """``runs`` rounds of every reader, each round in another order: the server's state after one reader
    (its garbage collection of the last answer, say) does not always fall on the same next reader."""
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in cases}
    names = list(cases)
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            cmd, cwd = cases[name]
            seconds, rss, code, err = measure(cmd, cwd=cwd, env=env)
            if code != 0:
                raise SystemExit(f"{name} failed ({code}): {err[-500:]}")
            if name.startswith("ts-client"):
                reported = json.loads(err.strip().splitlines()[-1])["count"]
                if reported != events:
                    raise SystemExit(f"{name} read {reported} items, expected {events}")
            results[name].append((seconds, rss))
    return results


def summarize(results: dict[str, list[tuple[float, int]]], events: int) -> dict[str, dict]:
    summary = {}
    for name, samples in results.items():
        secs = statistics.median(s for s, _ in samples)
        summary[name] = {
            "seconds": round(secs, 3),
            "eventsPerSecond": round(events / secs),
            "peakRssMB": round(max(r for _, r in samples) / 2**20, 1),
            "allSeconds": [round(s, 2) for s, _ in samples],
        }
    return summary


def ratios(summary: dict[str, dict]) -> dict[str, float]:
    rate = summary[WFCTL]["eventsPerSecond"]
    return {
        "wfctlVsTsClient": round(rate / summary["ts-client (count)"]["eventsPerSecond"], 2),
        "wfctlVsTsClientJsonl": round(rate / summary["ts-client (jsonl)"]["eventsPerSecond"], 2),
    }


def print_table(title: str, summary: dict[str, dict], doc: dict) -> None:
    print(f"\n{title}\n{'reader':<26}{'seconds':>10}{'events/s':>14}{'peak RSS':>12}   all runs (s)")
    for name, row in summary.items():
        print(
            f"{name:<26}{row['seconds']:>10.2f}{row['eventsPerSecond']:>14,}{row['peakRssMB']:>9.1f} MB   "
            + " ".join(f"{s:.2f}" for s in row["allSeconds"])
        )
    print(
        f"wfctl / ts-client (count): {doc['wfctlVsTsClient']}x;  wfctl / ts-client (jsonl): "
        f"{doc['wfctlVsTsClientJsonl']}x"
    )


class Replay:
    """The reference server's answer to ``GET path?offset=-1``, recorded once (body and Durable Streams
    headers) and served from memory by a thread of this process, gzip-compressed when the reader accepts
    it, as the reference server does: every reader gets the same bytes without waiting for the server to
    build them, so the timings are the readers' own work. ``HEAD`` answers with the same headers."""

    def __init__(self, server: DSServer, path: str):
        import gzip
        import http.server
        import threading

        import httpx

        with httpx.Client(timeout=120) as client:
            resp = client.get(f"{server.url}{path}", params={"offset": "-1"}, headers={"Accept-Encoding": "identity"})
            resp.raise_for_status()
        body = resp.content
        compressed = gzip.compress(body, 6)  # zlib's default level, as node's
        headers = [
            (k, v)
            for k, v in resp.headers.items()
            if k.lower().startswith("stream-") or k.lower() in ("content-type", "etag")
        ]

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _head(self) -> bytes:
                gz = "gzip" in (self.headers.get("accept-encoding") or "")
                payload = compressed if gz else body
                self.send_response(200)
                for k, v in headers:
                    self.send_header(k, v)
                if gz:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                return payload

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.wfile.write(self._head())

            def do_HEAD(self) -> None:  # noqa: N802
                self._head()

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Replay":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def flue_memory(events: int, wfctl: str, env: dict[str, str]) -> list[dict]:
    from tests.doubles.flue_server import FakeFlue

    rows = []
    with FakeFlue(token="bench") as fake:
        for n in (max(1, events // 10), events):
            run_id = fake.create_run("manual")
            for start in range(0, n, 10_000):
                fake.emit_many(
                    run_id,
                    [
                        {"type": "log", "level": "info", "message": f"m{i}"}
                        for i in range(start, min(n, start + 10_000))
                    ],
                )
            fake.finish(run_id, result=None)
            cmd = [wfctl, "--backend", "flue", "--url", fake.url, "tail", run_id, "-o", "jsonl"]
            seconds, rss, code, err = measure(cmd, env={**env, "WFCTL_TOKEN": "bench"})
            if code != 0:
                raise SystemExit(f"wfctl failed on the fake Flue server ({code}): {err[-500:]}")
            rows.append(
                {
                    "events": n + 2,
                    "seconds": round(seconds, 2),
                    "eventsPerSecond": round((n + 2) / seconds),
                    "peakRssMB": round(rss / 2**20, 1),
                }
            )
    return rows


if __name__ == "__main__":
    main()
