#!/usr/bin/env python3
"""Startup benchmark (README, "Benchmarks"): ratios measured in one run.

    python benchmarks/startup.py [--runs 30] [--python /path/to/venv/bin/python]
    python benchmarks/startup.py --reads [--baseline DIR]     # every read command, before and after

Times, as medians over --runs interleaved repetitions:
  * ``python -c pass``                        (the floor)
  * ``wfctl --version``                        target: within 2x of the floor
  * ``wfctl --help``                           target: within 8x of the floor
  * ``wfctl status RUN`` on the in-memory test backend
  * ``wfctl status RUN`` on the recorded local world (examples/workflow-sdk-demo), when present

``--reads`` adds every read command on the recorded local world — ``get``, ``list``, ``status``, ``tail`` of a
finished run, ``dashboard --once`` (target: each within 6x of the floor) — with stdout a pipe (plain output, what
a script sees) and, for ``list``, ``-o table`` too (Rich), each started the way the installed ``wfctl`` script
starts it (its text, run with ``-c``). ``--baseline DIR`` also times the same read commands
from another source tree (``git archive <commit> wfctl | tar -x -C DIR``) in the same interleaved rounds, so
"before" and "after" are measured together; its rows are marked ``(baseline)``.

Every command runs as a fresh process of the given interpreter, exactly as a
shell would start it. Besides the wall-clock time, each run's CPU time (user + system, the kernel's accounting
of the finished child) is kept: on a loaded machine the wall clock also counts the time the process waited for
a core, the CPU time much less so, and its ratios move less from one run to the next. Output: a table, then one
JSON line with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEMORY_STATUS = (
    "import sys; sys.path[:0] = [{tests!r}, {root!r}]\n"
    "try:\n"
    "    from tests.doubles.memory_backend import MemoryBackend, World\n"
    "except ImportError:  # the layout before tests/doubles/\n"
    "    from memory_backend import MemoryBackend, World\n"
    "from wfctl import backends\n"
    "w = World(); w.add('r1', 'completed'); MemoryBackend.world = w\n"
    "backends.register('memory', MemoryBackend)\n"
    "from wfctl.cli import main\n"
    "main(['--backend', 'memory', 'status', 'r1'])\n"
)


def first_local_run(demo: Path) -> str | None:
    runs = demo / ".workflow-data" / "runs"
    if not runs.is_dir():
        return None
    names = sorted(p.name for p in runs.glob("wrun_*.json"))
    return names[0].split(".")[0] if names else None


#: What the ``wfctl`` console script pip installs runs (``python -m`` would add runpy's ~2 ms to every row).
CONSOLE_SCRIPT = (
    "import re\nimport sys\nfrom wfctl.cli import main\n"
    "sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\nsys.exit(main())\n"
)


def finished_local_run(demo: Path) -> str | None:
    """The recorded world's completed run with the most events (what ``tail`` of a finished run prints)."""
    data = demo / ".workflow-data"
    best: tuple[int, str] | None = None
    for path in sorted((data / "runs").glob("wrun_*.json")):
        if json.loads(path.read_text()).get("status") != "completed":
            continue
        events = len(list((data / "events").glob(f"{path.stem}-*.json")))
        if best is None or events > best[0]:
            best = (events, path.stem)
    return best[1] if best else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--reads", action="store_true", help="every read command on the recorded local world")
    ap.add_argument("--baseline", help="a source tree holding wfctl/ to time the read commands from as well")
    args = ap.parse_args()
    py = args.python
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "WFCTL_CONFIG": "/nonexistent/wfctl.toml",
        "WFCTL_CACHE_DIR": "/tmp/wfctl-bench-cache",
        # An installed wfctl has its bytecode cached; keep it cached here too (some sandboxes
        # set PYTHONDONTWRITEBYTECODE, which would recompile every module on every run).
        "PYTHONPYCACHEPREFIX": "/tmp/wfctl-bench-pycache",
        # this tree's wfctl, also under an interpreter whose venv does not install it (--python)
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    envs: dict[str, dict[str, str]] = {}
    cases: dict[str, tuple[list[str], str | None]] = {
        "python -c pass": ([py, "-c", "pass"], None),
        "wfctl --version": ([py, "-m", "wfctl.cli", "--version"], None),
        "wfctl --help": ([py, "-m", "wfctl.cli", "--help"], None),
        "wfctl status (memory backend)": (
            [py, "-c", MEMORY_STATUS.format(tests=str(ROOT / "tests"), root=str(ROOT))],
            None,
        ),
    }
    demo = ROOT / "examples" / "workflow-sdk-demo"
    run_id = first_local_run(demo)
    if run_id:
        cases["wfctl status (local world)"] = ([py, "-m", "wfctl.cli", "status", run_id], str(demo))
    if args.reads:
        finished = finished_local_run(demo)
        if finished is None:
            raise SystemExit(f"--reads needs the recorded world {demo}")
        reads = {
            "get": ["get", finished],
            "list": ["list"],
            "list -o table": ["list", "-o", "table"],
            "status": ["status", finished],
            "tail (finished run)": ["tail", finished],
            "dashboard --once": ["dashboard", "--once"],
        }
        trees = [("", str(ROOT))] + ([(" (baseline)", str(Path(args.baseline).resolve()))] if args.baseline else [])
        for suffix, tree in trees:
            for label, argv in reads.items():
                cmd = [py, "-c", CONSOLE_SCRIPT, *argv]
                cases[f"read: {label}{suffix}"] = (cmd, str(demo))
                # PYTHONPATH comes before an editable install's finder, and lets --python be a venv holding
                # only wfctl's dependencies (no editable finder in its start-up: the floor a user's install has)
                envs[f"read: {label}{suffix}"] = {**env, "PYTHONPATH": tree}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    env_of = {name: envs.get(name, env) for name in cases}
    for name, (cmd, cwd) in cases.items():  # warm-up (bytecode caches, disk cache)
        subprocess.run(cmd, cwd=cwd, env=env_of[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(args.runs):
        for name, (cmd, cwd) in cases.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, env=env_of[name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            samples[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if proc.returncode not in (0, 10, 11, 12):
                raise SystemExit(f"{name} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    floor = statistics.median(samples["python -c pass"])
    cpu_floor = statistics.median(cpu["python -c pass"])
    result = {}
    print(f"{'command':<40}{'median ms':>10}{'ratio':>8}{'cpu ms':>9}{'cpu ratio':>10}")
    for name, values in samples.items():
        med, cpu_med = statistics.median(values), statistics.median(cpu[name])
        result[name] = {
            "median_ms": round(med * 1000, 1),
            "ratio": round(med / floor, 2),
            "cpu_ms": round(cpu_med * 1000, 1),
            "cpu_ratio": round(cpu_med / cpu_floor, 2),
        }
        print(f"{name:<40}{med * 1000:>10.1f}{med / floor:>8.2f}x{cpu_med * 1000:>9.1f}{cpu_med / cpu_floor:>9.2f}x")
    version = subprocess.run(
        [py, "-c", "import typer, importlib.metadata as m; print(m.version('typer'))"], capture_output=True, text=True
    ).stdout.strip()
    print(json.dumps({"python": py, "typer": version, "runs": args.runs, "results": result}))


if __name__ == "__main__":
    main()
