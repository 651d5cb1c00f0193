#!/usr/bin/env python3
"""Record a REAL Workflow SDK local-world data directory for wfctl's fixture tests.

    python3 examples/workflow-sdk-app/scripts/record_demo.py            # -> examples/workflow-sdk-demo/

What it does (standard library only; the app driver is tests/support/wfapp.py):

1. installs the app's npm packages if needed (`npm ci`, falling back to `npm install`) and runs `nitro build`
   if the sources are newer than .output/;
2. starts the app on 127.0.0.1 on a free port with WORKFLOW_LOCAL_DATA_DIR pointing into a temporary
   directory, and waits for GET /api/health;
3. drives the scenarios below through POST /api/start, POST /api/resume-hook and the official
   `npx workflow cancel`, waiting for each condition by polling the data files (with deadlines);
4. stops the app (SIGTERM, then SIGKILL: a pending sleep() timer keeps Nitro alive);
5. captures `npx workflow inspect ... --json` outputs into oracle/ (golden cross-checks for fast tests);
6. replaces <out>/.workflow-data and <out>/oracle, and writes <out>/README.md and oracle/manifest.json.

Nothing in the output is hand-written.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

APP_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = APP_DIR.parents[1]
DEFAULT_OUT = REPO_ROOT / "examples" / "workflow-sdk-demo"

sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
from wfapp import AppServer, WorkflowApp, wait_until  # noqa: E402

REGENERATE = "python3 examples/workflow-sdk-app/scripts/record_demo.py"


def log(msg: str) -> None:
    print(f"[record] {msg}", flush=True)


# -- conditions on the data directory --------------------------------------------------------------------
def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def run_file(data: Path, run_id: str) -> dict[str, Any]:
    return _read_json(data / "runs" / f"{run_id}.json")


def pending_waits(data: Path, run_id: str) -> list[dict[str, Any]]:
    out = []
    for p in sorted((data / "waits").glob(f"{run_id}-*.json")):
        w = _read_json(p)
        if w.get("status") == "waiting":
            out.append(w)
    return out


def hooks_of(data: Path, run_id: str) -> list[dict[str, Any]]:
    hooks_dir = data / "hooks"
    if not hooks_dir.is_dir():
        return []
    return [h for h in (_read_json(p) for p in sorted(hooks_dir.glob("hook_*.json"))) if h.get("runId") == run_id]


def status_is(data: Path, run_id: str, status: str) -> Callable[[], bool]:
    def check() -> bool:
        return run_file(data, run_id).get("status") == status
    check.__name__ = f"{run_id} status {status}"
    return check


def snapshot(data: Path) -> tuple[tuple[str, int, int], ...]:
    items = []
    for p in data.rglob("*"):
        if p.is_file():
            st = p.stat()
            items.append((str(p.relative_to(data)), st.st_size, st.st_mtime_ns))
    return tuple(sorted(items))


def wait_quiescent(data: Path, quiet: float = 0.75, timeout: float = 20.0) -> None:
    """Wait until no file in the data dir changed for `quiet` seconds."""
    state = {"snap": snapshot(data), "since": time.monotonic()}

    def settled() -> bool:
        now_snap = snapshot(data)
        if now_snap != state["snap"]:
            state["snap"], state["since"] = now_snap, time.monotonic()
            return False
        return time.monotonic() - state["since"] >= quiet

    wait_until(settled, timeout=timeout, interval=0.1, message="the data directory to stop changing")


# -- scenarios -----------------------------------------------------------------------------------------------
class Recorder:
    def __init__(self, app: WorkflowApp, server: AppServer, data: Path):
        self.app = app
        self.server = server
        self.data = data
        self.runs: list[dict[str, Any]] = []

    def start(self, scenario: str, workflow: str, args: list[Any], description: str) -> str:
        run_id = self.server.start_run(workflow, args)
        self.runs.append({"runId": run_id, "scenario": scenario, "workflow": workflow, "args": args,
                          "description": description})
        log(f"started {scenario:<18} {workflow}({', '.join(json.dumps(a) for a in args)}) -> {run_id}")
        return run_id

    def drive(self) -> None:
        d = self.data
        # Start everything first (so run ids are in scenario order), then wait for each condition.
        sleeping = self.start("sleeping", "demoWorkflow", ["Ada", "1h"],
                              "running, suspended in sleep('1h') (one pending wait); wfctl wake target")
        hook_wait = self.start("hook-waiting", "approvalWorkflow", ["doc1"],
                               "running, waiting on hook token approval:doc1")
        short_sleep = self.start("completed-sleep", "demoWorkflow", ["Bo", "3s"],
                                 "completed after a natural 3 s sleep (wait completed by its timer)")
        hook_resumed = self.start("hook-resumed", "approvalWorkflow", ["doc2"],
                                  "completed after POST /api/resume-hook approval:doc2")
        failed = self.start("failed", "failingWorkflow", ["bad input"],
                            "failed: step validate threw FatalError (USER_ERROR)")
        retried = self.start("retried", "flakyWorkflow", [2],
                             "completed after 2 step_retrying events (RetryableError), attempt 3")
        ticker = self.start("ticker", "tickerWorkflow", [4, 300],
                            "completed; 4 stream chunks ~1 s apart (sleep(300) waits 1 s on world-local); "
                            "stream left open (no EOF)")
        ticker_closed = self.start("ticker-closed", "tickerWorkflow", [3, 200, True],
                                   "completed; 3 stream chunks then an EOF chunk (closed stream)")
        logs = self.start("namespaced-stream", "logsWorkflow", ["build"],
                          "completed; 1 chunk on the default stream (open), 3 on namespace 'logs' + EOF")
        cancel_sleep = self.start("cancelled-sleeping", "demoWorkflow", ["Cy", "1h"],
                                  "cancelled with `npx workflow cancel` while sleeping (wait deleted)")
        cancel_hook = self.start("cancelled-hook", "approvalWorkflow", ["doc3"],
                                 "cancelled with `npx workflow cancel` while waiting on a hook (hook deleted)")

        wait_until(lambda: pending_waits(d, sleeping), timeout=30, message="the 1h sleep's wait file")
        wait_until(lambda: hooks_of(d, hook_wait), timeout=30, message="hook approval:doc1")

        wait_until(lambda: hooks_of(d, hook_resumed), timeout=30, message="hook approval:doc2")
        self.server.resume_hook("approval:doc2", {"approved": True, "by": "Grace"})

        wait_until(lambda: pending_waits(d, cancel_sleep), timeout=30, message="cancel target's wait file")
        wait_until(lambda: hooks_of(d, cancel_hook), timeout=30, message="hook approval:doc3")
        for run_id in (cancel_sleep, cancel_hook):
            out = self.server.cancel(run_id).strip()
            log(f"npx workflow cancel {run_id}: {out.splitlines()[-1] if out else '(no output)'}")

        expected = {
            sleeping: "running", hook_wait: "running", short_sleep: "completed", hook_resumed: "completed",
            failed: "failed", retried: "completed", ticker: "completed", ticker_closed: "completed",
            logs: "completed", cancel_sleep: "cancelled", cancel_hook: "cancelled",
        }
        for run_id, status in expected.items():
            wait_until(status_is(d, run_id, status), timeout=60)
        wait_until(lambda: not pending_waits(d, cancel_sleep) and not hooks_of(d, cancel_hook), timeout=10,
                   message="cancel to delete the wait and the hook")
        wait_quiescent(d)
        # Still in the expected state after settling (nothing raced past us).
        for run_id, status in expected.items():
            actual = run_file(d, run_id)["status"]
            if actual != status:
                raise RuntimeError(f"{run_id}: expected {status}, found {actual}")
        for entry in self.runs:
            entry["status"] = expected[entry["runId"]]


# -- oracle ------------------------------------------------------------------------------------------------------
def capture_oracle(app: WorkflowApp, data: Path, oracle: Path, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Run `npx workflow inspect ... --json` against the (stopped) world.

    Returns {"commands": {file pattern: command line}, "streams": {streamId: {runId, chunks, reachedEof}}}."""
    commands: dict[str, str] = {
        "runs.json": "npx workflow inspect runs --json --limit 100",
        "hooks.json": "npx workflow inspect hooks --json --limit 100",
        "runs/<runId>/run.json": "npx workflow inspect run <runId> --json",
        "runs/<runId>/events.json": "npx workflow inspect events --runId=<runId> --json --withData --limit 1000",
        "runs/<runId>/steps.json": "npx workflow inspect steps --runId=<runId> --json --withData --limit 1000",
        "runs/<runId>/sleeps.json": "npx workflow inspect sleeps --runId=<runId> --json",
        "runs/<runId>/streams.json": "npx workflow inspect streams --runId=<runId> --json",
        "runs/<runId>/stream-<streamId>.ndjson": "npx workflow inspect stream <streamId> --json "
                                                "(stopped once it printed every chunk when the stream has "
                                                "no EOF chunk: the CLI blocks until EOF)",
    }
    jobs: list[tuple[str, list[str]]] = [
        ("runs.json", ["inspect", "runs", "--json", "--limit", "100"]),
        ("hooks.json", ["inspect", "hooks", "--json", "--limit", "100"]),
    ]
    for r in runs:
        rid = r["runId"]
        jobs += [
            (f"runs/{rid}/run.json", ["inspect", "run", rid, "--json"]),
            (f"runs/{rid}/events.json", ["inspect", "events", f"--runId={rid}", "--json", "--withData",
                                         "--limit", "1000"]),
            (f"runs/{rid}/steps.json", ["inspect", "steps", f"--runId={rid}", "--json", "--withData",
                                        "--limit", "1000"]),
            (f"runs/{rid}/sleeps.json", ["inspect", "sleeps", f"--runId={rid}", "--json"]),
            (f"runs/{rid}/streams.json", ["inspect", "streams", f"--runId={rid}", "--json"]),
        ]

    def run_job(job: tuple[str, list[str]]) -> tuple[str, Any]:
        name, argv = job
        proc = app.workflow_cli(*argv, data_dir=data, timeout=120)
        return name, json.loads(proc.stdout)

    results: dict[str, Any] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for name, value in pool.map(run_job, jobs):
            results[name] = value

    # Stream contents: the CLI blocks until EOF, and runs never close their streams, so stop it after a while.
    stream_jobs = []
    for r in runs:
        for s in results[f"runs/{r['runId']}/streams.json"]:
            stream_jobs.append((r["runId"], s["streamId"]))

    def run_stream(job: tuple[str, str]) -> tuple[str, list[Any], bool]:
        _rid, sid = job
        # What the CLI must print, from the chunk files: [eof byte][frames...]; an EOF chunk is b"\x01".
        flags = [p.read_bytes()[:1] for p in (data / "streams" / "chunks").glob(f"{sid}-chnk_*.bin")]
        expect, has_eof = flags.count(b"\x00"), b"\x01" in flags
        values, eof = app.inspect_stream(sid, data_dir=data, expect=expect, wait_eof=has_eof, timeout=90.0)
        if len(values) != expect or eof != has_eof:
            raise RuntimeError(f"inspect stream {sid}: got {len(values)} values (eof {eof}), "
                               f"expected {expect} (eof {has_eof})")
        return sid, values, eof

    stream_results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        for sid, values, eof in pool.map(run_stream, stream_jobs):
            stream_results[sid] = (values, eof)

    for name, value in results.items():
        path = oracle / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    streams: dict[str, Any] = {}
    for rid, sid in stream_jobs:
        values, eof = stream_results[sid]
        name = f"runs/{rid}/stream-{sid}.ndjson"
        (oracle / name).write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in values))
        streams[sid] = {"runId": rid, "chunks": len(values), "reachedEof": eof}
    return {"commands": commands, "streams": streams}


# -- output --------------------------------------------------------------------------------------------------------
def package_version(name: str) -> str | None:
    try:
        return _read_json(APP_DIR / "node_modules" / name / "package.json")["version"]
    except (FileNotFoundError, KeyError):
        return None


def write_readme(out: Path, manifest: dict[str, Any]) -> None:
    rows = "\n".join(
        f"| `{r['runId']}` | {r['scenario']} | {r['workflow']} | {r['status']} | {r['description']} |"
        for r in manifest["runs"]
    )
    versions = ", ".join(f"`{k}@{v}`" for k, v in manifest["versions"].items() if v)
    text = f"""# workflow-sdk-demo — a recorded Workflow SDK local world

`.workflow-data/` is a **real** data directory of the Workflow SDK local world (flat layout), recorded from the
fixture app in [`../workflow-sdk-app`](../workflow-sdk-app) by
[`record_demo.py`](../workflow-sdk-app/scripts/record_demo.py). Nothing in it is hand-written. `cd` here and
`wfctl list` finds it by discovery (`.workflow-data` in the current directory).

Recorded {manifest['recordedAt']} with {versions}, Node {manifest['node']}.

Regenerate (≈1 min for the npm install when `node_modules/` is missing, ≈15 s build, ≈1 min recording):

```
{REGENERATE}
```

The app's `world.start()` fails on a bundled build (`Invalid version string: "bundled"`), so there is no
`version.txt`. The server was stopped (SIGKILL) after the recording: the sleeping and hook-waiting runs stay
`running` forever here; their `resumeAt` is in the past.

## Runs

| runId | scenario | workflow | status | what it shows |
|---|---|---|---|---|
{rows}

## oracle/

Outputs of the official CLI (`@workflow/cli`, `npx workflow inspect ... --json`) captured right after the
recording, against this directory — golden cross-checks for the fast tests. `oracle/manifest.json` lists the
runs (with their scenario labels) and the exact command line behind every file. Note the CLI's defaults:
lists are sorted **desc**; events and steps were captured with `--withData --limit 1000`; for a stream without
an EOF chunk the CLI never exits, so it was stopped once it had printed every chunk
(`streams.<streamId>.reachedEof` in the manifest tells which streams are closed).
"""
    (out / "README.md").write_text(text)


def replace_dir(src: Path, dst: Path) -> None:
    old = dst.with_name(dst.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if dst.exists():
        dst.rename(old)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.tmp.*"))
    if old.exists():
        shutil.rmtree(old)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--force-build", action="store_true", help="rebuild the app even if it looks fresh")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary recording directory")
    args = parser.parse_args()

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    app = WorkflowApp(APP_DIR, verbose=True)
    app.build(force=args.force_build)
    timings["install+build"] = time.monotonic() - t0

    tmp = Path(tempfile.mkdtemp(prefix="wfctl-record-"))
    data = tmp / ".workflow-data"
    oracle = tmp / "oracle"
    try:
        t1 = time.monotonic()
        server = app.start(data_dir=data, log_path=tmp / "server.log")
        timings["server-ready"] = time.monotonic() - t1
        log(f"app pid {server.pid} at {server.url}, data {data}")
        recorder = Recorder(app, server, data)
        try:
            t2 = time.monotonic()
            recorder.drive()
            timings["scenarios"] = time.monotonic() - t2
        finally:
            t3 = time.monotonic()
            rc = server.stop(grace=3.0)
            timings["stop"] = time.monotonic() - t3
            log(f"app stopped (exit {rc})")

        t4 = time.monotonic()
        captured = capture_oracle(app, data, oracle, recorder.runs)
        timings["oracle"] = time.monotonic() - t4

        node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        manifest = {
            "recordedAt": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "regenerate": REGENERATE,
            "node": node_version,
            "versions": {name: package_version(name) for name in (
                "workflow", "@workflow/core", "@workflow/world-local", "@workflow/cli", "@workflow/world",
                "nitro")},
            "runs": recorder.runs,
            **captured,
        }
        (oracle / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        replace_dir(data, out / ".workflow-data")
        replace_dir(oracle, out / "oracle")
        write_readme(out, manifest)
        # `.workflow-data/` is git-ignored at the repository root; re-include the recording.
        (out / ".gitignore").write_text("# The recording is test data: keep it under version control.\n"
                                        "!.workflow-data/\n")
        timings["total"] = time.monotonic() - t0

        files = [p for p in (out / ".workflow-data").rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        log(f"wrote {out}: {len(files)} files, {size / 1024:.1f} KiB in .workflow-data")
        for r in recorder.runs:
            log(f"  {r['runId']}  {r['status']:<10} {r['workflow']:<17} {r['scenario']}")
        log("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    finally:
        if args.keep_temp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
