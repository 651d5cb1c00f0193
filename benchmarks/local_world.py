#!/usr/bin/env python3
"""Local-world benchmark (README, "Benchmarks"): wfctl against the official CLI on the same data, ratios in one run.

    python benchmarks/local_world.py                  # 100,000 runs (+ 1,000 and 10,000 for flatness)
    python benchmarks/local_world.py --runs 20000 --sizes 1000,20000 --repeat 5 --npx-repeat 2
    python benchmarks/local_world.py --skip-npx       # wfctl only (no Node needed)

Data directories come from ``benchmarks/gen_local_world.py`` (the real on-disk format) and are kept under
``benchmarks/results/local-world-<N>/`` between runs. Every command runs as a fresh process, as a shell would
start it (with bytecode caches, as an installed wfctl has them); repetitions are interleaved and the median
is reported.

* ``wfctl list --limit 20`` vs ``npx workflow inspect runs --limit 20 --json`` — target: wfctl ≥ 10× faster;
* ``wfctl get RUN`` vs ``npx workflow inspect run RUN --json`` (a running run with steps and a stream);
* flatness: ``wfctl list --limit 20`` at each size in ``--sizes`` (only the page's run files are read, so the
  time should barely move; what grows is one ``listdir`` of ``runs/``).

Before timing, the first page of both CLIs is compared (same run ids in the same order). Results: a table on
stdout, then one JSON line; the JSON is also written to ``benchmarks/results/local_world.json``.
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
RESULTS = ROOT / "benchmarks" / "results"
APP_DIR = ROOT / "examples" / "workflow-sdk-app"


def data_dir(runs: int) -> Path:
    """The generated data directory for ``runs`` runs (generated once, reused afterwards)."""
    path = RESULTS / f"local-world-{runs}" / ".workflow-data"
    if not (path / "runs").is_dir() or len(os.listdir(path / "runs")) != runs:
        print(f"generating {runs} runs in {path} ...", file=sys.stderr, flush=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "gen_local_world.py"),
                "--runs",
                str(runs),
                "--out",
                str(path),
                "--force",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def pick_running_run(path: Path) -> str:
    """The newest running run that has steps and a stream (what `get` has most to show for)."""
    steps = {name.split("-", 1)[0] for name in os.listdir(path / "steps")}
    chunks = {name.split("-", 1)[0] for name in os.listdir(path / "streams" / "chunks")}
    for name in sorted(os.listdir(path / "runs"), reverse=True):
        run_id = name[:-5]
        if run_id not in steps or run_id.replace("wrun_", "strm_", 1) + "_user" not in chunks:
            continue
        if json.loads((path / "runs" / name).read_text()).get("status") == "running":
            return run_id
    raise SystemExit(f"no running run with steps and a stream in {path}")


def timed(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 12):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def first_json(text: str):
    """The JSON document in a CLI's stdout (the official CLI may print log lines first)."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "[{":
            try:
                return decoder.raw_decode(text, i)[0]
            except json.JSONDecodeError:
                continue
    raise ValueError(f"no JSON in output: {text[:300]!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000, help="runs in the main data directory")
    ap.add_argument("--sizes", default="1000,10000,100000", help="sizes for the flatness series")
    ap.add_argument("--repeat", type=int, default=7, help="repetitions of each wfctl command")
    ap.add_argument("--npx-repeat", type=int, default=3, help="repetitions of each official CLI command")
    ap.add_argument("--skip-npx", action="store_true", help="time wfctl only")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()

    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.runs})
    dirs = {n: data_dir(n) for n in sizes}
    main_dir = dirs[args.runs]
    run_id = pick_running_run(main_dir)
    # Bytecode caches on, as for an installed wfctl (the warm-up writes them): with PYTHONDONTWRITEBYTECODE
    # every process would recompile its modules and the benchmark would measure the compiler.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_env = {
        **inherited,
        "NO_COLOR": "1",
        "WFCTL_CONFIG": "/nonexistent/wfctl-bench.toml",
        "WFCTL_CACHE_DIR": str(RESULTS / "wfctl-cache"),
        "PYTHONPATH": str(ROOT),
        "WORKFLOW_NO_UPDATE_CHECK": "1",
        "CI": "1",
    }

    def wfctl(*argv: str) -> list[str]:
        return [args.python, "-m", "wfctl.cli", *argv]

    cases: dict[str, tuple[list[str], Path, dict[str, str], int]] = {}
    for n in sizes:
        env = {**base_env, "WORKFLOW_LOCAL_DATA_DIR": str(dirs[n])}
        cases[f"wfctl list --limit 20 ({n} runs)"] = (
            wfctl("list", "--limit", "20", "-o", "json"),
            ROOT,
            env,
            args.repeat,
        )
    main_env = {**base_env, "WORKFLOW_LOCAL_DATA_DIR": str(main_dir)}
    cases["wfctl get RUN"] = (wfctl("get", run_id, "-o", "json"), ROOT, main_env, args.repeat)
    npx = None
    if not args.skip_npx:
        binary = APP_DIR / "node_modules" / ".bin" / "workflow"
        if not binary.exists():
            raise SystemExit(f"{binary} is missing: run `npm ci` in {APP_DIR} (or pass --skip-npx)")
        npx = [str(binary)]
        cases["npx workflow inspect runs --limit 20"] = (
            npx + ["inspect", "runs", "--limit", "20", "--json"],
            APP_DIR,
            main_env,
            args.npx_repeat,
        )
        cases["npx workflow inspect run RUN"] = (
            npx + ["inspect", "run", run_id, "--json"],
            APP_DIR,
            main_env,
            args.npx_repeat,
        )

    # Same answer first: the first page of both CLIs.
    cmd, cwd, env, _ = cases[f"wfctl list --limit 20 ({args.runs} runs)"]
    _, out = timed(cmd, cwd=cwd, env=env)
    mine = [r["runId"] for r in json.loads(out)["data"]]
    agree = None
    if npx:
        cmd, cwd, env, _ = cases["npx workflow inspect runs --limit 20"]
        _, out = timed(cmd, cwd=cwd, env=env)
        theirs = [r["runId"] for r in first_json(out)["data"]]
        agree = mine == theirs
        if not agree:
            print(f"warning: first pages differ:\n  wfctl {mine}\n  npx   {theirs}", file=sys.stderr)

    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _name, (cmd, cwd, env, _) in cases.items():  # warm-up: bytecode and disk caches
        timed(cmd, cwd=cwd, env=env)
    for i in range(max(c[3] for c in cases.values())):
        for name, (cmd, cwd, env, repeat) in cases.items():
            if i < repeat:
                samples[name].append(timed(cmd, cwd=cwd, env=env)[0])
    median = {name: statistics.median(values) for name, values in samples.items()}

    series = [median[f"wfctl list --limit 20 ({n} runs)"] for n in sizes]
    result: dict[str, object] = {
        "runs": args.runs,
        "runId": run_id,
        "medianSeconds": {k: round(v, 4) for k, v in median.items()},
        "samples": {k: len(v) for k, v in samples.items()},
        "flatness": {
            "sizes": sizes,
            "seconds": [round(s, 4) for s in series],
            "largestOverSmallest": round(series[-1] / series[0], 2),
        },
        "firstPagesAgree": agree,
    }
    if npx:
        result["listSpeedup"] = round(
            median["npx workflow inspect runs --limit 20"] / median[f"wfctl list --limit 20 ({args.runs} runs)"], 1
        )
        result["getSpeedup"] = round(median["npx workflow inspect run RUN"] / median["wfctl get RUN"], 1)

    print(f"{'command':<46}{'median s':>10}{'n':>4}")
    for name, value in median.items():
        print(f"{name:<46}{value:>10.3f}{len(samples[name]):>4}")
    if npx:
        print(
            f"\nlist: wfctl is {result['listSpeedup']}x faster than npx workflow inspect runs "
            f"(target >= 10x); get: {result['getSpeedup']}x faster than npx workflow inspect run"
        )
    print(
        f"flatness: wfctl list at {sizes[-1]} runs takes {result['flatness']['largestOverSmallest']}x "
        f"its time at {sizes[0]} runs"
    )
    line = json.dumps(result)
    print(line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "local_world.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
