#!/usr/bin/env python3
"""The local-world dashboard at scale (README, "Benchmarks"): ratios in one run, before and after.

    python benchmarks/dashboard_scale.py [--runs 100000] [--repeat 7] [--idle 20] [--baseline DIR] [--python PY]

The data directory is ``benchmarks/results/local-world-<N>/`` (made by ``benchmarks/gen_local_world.py`` the
first time, then reused). Every command runs as a fresh process of ``--python`` with this tree (or the
``--baseline`` tree: ``git archive <commit> wfctl | tar -x -C DIR``) on ``PYTHONPATH``, each tree with its
own cache directory. Measured, interleaved:

* ``list`` — ``wfctl list`` (20 runs, plain): the reference;
* ``warm`` — ``wfctl dashboard --once -o json`` with the summaries cached (target: within 3× ``list``);
* ``cold`` — the same with an empty cache directory (what the first dashboard of a world costs);
* ``idle live`` — ``wfctl dashboard --live --interval 2s`` off a terminal and the full-screen dashboard in a
  pseudo-terminal, each for ``--idle`` seconds with nothing changing after the first frame: CPU seconds of
  the process (user + system, from ``/proc``) after its first frame, over the seconds elapsed (target: at
  most 10% of one core).

Before timing, the counts of every tree are compared (they must be equal). Output: a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CLOCK = os.sysconf("SC_CLK_TCK")


def data_dir(runs: int) -> Path:
    path = RESULTS / f"local-world-{runs}" / ".workflow-data"
    if not (path / "runs").is_dir():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "gen_local_world.py"), "--runs", str(runs), "--out", str(path)],
            check=True,
        )
    return path


def env_for(tree: str, cache: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": tree,
        "WFCTL_CACHE_DIR": cache,
        "WFCTL_CONFIG": "/nonexistent/wfctl.toml",
        "NO_COLOR": "1",
        "PYTHONPYCACHEPREFIX": "/tmp/wfctl-bench-pycache",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed, proc.stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK  # utime, stime


def idle_cpu(cmd: list[str], cwd: Path, env: dict[str, str], seconds: float, pty: bool) -> float:
    """CPU share of one core used by ``cmd`` from its first frame for ``seconds`` seconds."""
    import select

    if pty:
        import pty as ptys

        pid, fd = ptys.fork()
        if pid == 0:  # the child: the dashboard on a terminal
            os.chdir(cwd)
            os.execvpe(cmd[0], cmd, {**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
    else:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        pid, fd = proc.pid, proc.stdout.fileno()  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + 120
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())  # the first frame
        if not ready:
            raise SystemExit(f"{cmd}: no first frame")
        time.sleep(1.0)  # let the first frame finish
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        end = start + seconds
        while time.monotonic() < end:  # keep reading so the process never blocks on a full pipe
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if ready:
                try:
                    os.read(fd, 65536)
                except OSError:
                    break
        used = cpu_seconds(pid) - start_cpu
        return used / (time.monotonic() - start)
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        if pty:
            os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of an idle live dashboard (0: skip)")
    ap.add_argument("--cold", type=int, default=1, help="cold builds per tree (0: skip)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--baseline", help="another source tree holding wfctl/, measured in the same rounds")
    args = ap.parse_args()
    data = data_dir(args.runs)
    cwd = data.parent
    py = args.python
    scratch = Path(tempfile.mkdtemp(prefix="wfctl-dash-"))
    trees = {"after": str(ROOT)}
    if args.baseline:
        trees["before"] = str(Path(args.baseline).resolve())
    envs = {name: env_for(tree, str(scratch / f"cache-{name}")) for name, tree in trees.items()}
    once = [py, "-m", "wfctl.cli", "dashboard", "--once", "-o", "json"]
    listing = [py, "-m", "wfctl.cli", "list"]
    samples: dict[str, list[float]] = {}
    try:
        counts = {}
        for name, env in envs.items():  # warm-up: bytecode, the disk cache, the summaries
            for _ in range(2):
                counts[name] = json.loads(timed(once, cwd, env)[1])["counts"]
        if len({json.dumps(c, sort_keys=True) for c in counts.values()}) != 1:
            raise SystemExit(f"the trees count differently: {counts}")
        for _ in range(args.repeat):
            for name, env in envs.items():
                samples.setdefault(f"list ({name})", []).append(timed(listing, cwd, env)[0])
                samples.setdefault(f"dashboard --once warm ({name})", []).append(timed(once, cwd, env)[0])
        for _ in range(args.cold):
            for name, env in envs.items():
                cold_env = {**env, "WFCTL_CACHE_DIR": str(scratch / f"cold-{name}")}
                samples.setdefault(f"dashboard --once cold ({name})", []).append(timed(once, cwd, cold_env)[0])
                shutil.rmtree(scratch / f"cold-{name}", ignore_errors=True)
        idle: dict[str, float] = {}
        if args.idle:
            for name, env in envs.items():
                live = [py, "-m", "wfctl.cli", "dashboard", "--live", "--interval", "2s"]
                idle[f"idle --live off a terminal ({name})"] = idle_cpu(live, cwd, env, args.idle, pty=False)
                screen = [py, "-m", "wfctl.cli", "dashboard", "--interval", "2s"]
                idle[f"idle full screen in a pty ({name})"] = idle_cpu(screen, cwd, env, args.idle, pty=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result: dict[str, object] = {"runs": args.runs, "repeat": args.repeat, "python": py}
    print(f"{'measure':<44}{'median s':>10}{'× list':>8}")
    for name, values in samples.items():
        tree = name.rsplit("(", 1)[1].rstrip(")")
        ref = statistics.median(samples[f"list ({tree})"])
        med = statistics.median(values)
        result[name] = {"median_s": round(med, 3), "ratio_to_list": round(med / ref, 2)}
        print(f"{name:<44}{med:>10.3f}{med / ref:>8.2f}")
    for name, share in idle.items():
        result[name] = {"cpu_share": round(share, 3)}
        print(f"{name:<44}{share * 100:>9.1f}% of a core")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
