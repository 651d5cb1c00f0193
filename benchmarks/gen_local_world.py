#!/usr/bin/env python3
"""Generate a large Workflow SDK local-world data directory for benchmarks (standard library only).

    python3 benchmarks/gen_local_world.py                       # 100,000 runs
    python3 benchmarks/gen_local_world.py --runs 5000 --out /tmp/wf/.workflow-data

The files have the same names, JSON shapes (key order, 2-space indentation, no trailing newline) and payload
encodings as the data recorded from a real app (examples/workflow-sdk-demo/.workflow-data, world-local 4.4.1):

    runs/<runId>.json                     events/<runId>-evnt_<ULID>.json    steps/<runId>-step_<ULID>.json
    waits/<runId>-wait_<ULID>.json        hooks/hook_<ULID>.json             hooks/tokens/<sha256(token)>.json
    streams/runs/<runId>.json             streams/chunks/strm_<runULID>_user-chnk_<ULID>.bin
    .locks/steps/<runId>-<stepId>.terminal                    .locks/waits/<runId>-<waitCorrelationId>.completed

Payloads are `{"__type": "Uint8Array", "data": <base64 of b"devl" + devalue text>}`; stream chunks are
`[eof byte][u32be length][devl...]`. Run ids are ULIDs with strictly increasing timestamps (one run every
`--gap-ms`, the last one about now). As in the real app, step/wait/hook ids of a run come from a monotonic
ULID sequence seeded at the run's start time (their timestamp part is the run's start, not their creation
time); event and chunk ids carry their own creation time.

Most runs are "light" (the run file and its run-level events); every `--full-every`-th run gets the complete
file set of one of the recorded scenarios (steps, waits, hooks, streams, locks). Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 10-bit groups -> two Crockford characters, so a 130-bit ULID is 13 table look-ups.
_PAIRS = [CROCKFORD[i >> 5] + CROCKFORD[i & 31] for i in range(1024)]

MODULE = "./workflows/demo"
DEPLOYMENT_ID = "dpl_local@bundled"
SPEC_VERSION = 3
CORE_VERSION = "4.8.9"
EXECUTION_CONTEXT = {"traceCarrier": {}, "workflowCoreVersion": CORE_VERSION, "features": {"encryption": False}}
NAMES = ["Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu", "Mo", "Ned", "Oz", "Pia"]

# Light runs: (status, weight).
LIGHT_STATUSES = [("completed", 80), ("failed", 8), ("cancelled", 4), ("running", 6), ("pending", 2)]
FULL_SCENARIOS = [
    "completed-sleep",
    "sleeping",
    "hook-waiting",
    "hook-resumed",
    "failed",
    "cancelled-sleeping",
    "ticker",
]

FAKE_STACK = (
    "FatalError: {msg}\n    at validate (file:///app/.output/server/index.mjs:102:8)\n"
    "    at async file:///app/.output/server/_libs/@workflow/core+%5B...%5D.mjs:54501:14"
)


# -- ULIDs ----------------------------------------------------------------------------------------------------
def encode_ulid(ms: int, rand80: int) -> str:
    """Crockford base32 of (48-bit ms timestamp << 80 | 80 random bits): 26 characters."""
    if not 0 <= ms < 1 << 48:
        raise ValueError("ULID timestamp out of range")
    n = (ms << 80) | (rand80 & ((1 << 80) - 1))
    # 130 bits = 13 groups of 10 bits (the top 2 bits are always 0: first char <= '7').
    return "".join([_PAIRS[(n >> shift) & 1023] for shift in range(120, -1, -10)])


def decode_ulid_time(ulid: str) -> int:
    n = 0
    for ch in ulid[:10]:
        n = n * 32 + CROCKFORD.index(ch)
    return n


class MonotonicUlids:
    """world-local style monotonic factory: same timestamp -> random part + 1."""

    def __init__(self, rng: random.Random, ms: int):
        self.ms = ms
        self.rand = rng.getrandbits(80)

    def next(self) -> str:
        value = encode_ulid(self.ms, self.rand)
        self.rand = (self.rand + 1) & ((1 << 80) - 1)
        return value


# -- time ---------------------------------------------------------------------------------------------------------
def iso(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        t.tm_year,
        t.tm_mon,
        t.tm_mday,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
        ms % 1000,
    )


# -- payloads -------------------------------------------------------------------------------------------------
class _Undefined:
    pass


UNDEFINED = _Undefined()


def devalue(value: Any) -> str:
    """devalue.stringify for JSON-like values (+ UNDEFINED): a flat array, index 0 = root."""
    out: list[Any] = []
    seen: dict[tuple[type, Any], int] = {}

    def flatten(v: Any) -> int:
        if v is UNDEFINED:
            return -1
        if isinstance(v, (str, bool, int, float)) or v is None:
            key = (type(v), v)
            if key in seen:
                return seen[key]
            seen[key] = len(out)
            out.append(v)
            return seen[key]
        index = len(out)
        out.append(None)
        if isinstance(v, dict):
            out[index] = {k: flatten(x) for k, x in v.items()}
        elif isinstance(v, (list, tuple)):
            out[index] = [flatten(x) for x in v]
        else:
            raise TypeError(f"cannot devalue {type(v).__name__}")
        return index

    flatten(value)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def payload(value: Any) -> dict[str, str]:
    data = b"devl" + devalue(value).encode()
    return {"__type": "Uint8Array", "data": base64.b64encode(data).decode("ascii")}


def step_input(*args: Any) -> dict[str, str]:
    return payload({"args": list(args), "closureVars": UNDEFINED, "thisVal": UNDEFINED})


def chunk_bytes(value: Any, eof: bool = False) -> bytes:
    if eof:
        return b"\x01"
    frame = b"devl" + devalue(value).encode()
    return b"\x00" + len(frame).to_bytes(4, "big") + frame


def dumps(obj: Any) -> bytes:
    # JSON.stringify(x, replacer, 2): 2-space indent, "key": value, no trailing newline; undefined keys dropped.
    return json.dumps(obj, indent=2, ensure_ascii=False).encode()


# -- writing -----------------------------------------------------------------------------------------------------------
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL  # a fresh directory: every file is new


def write(path: str, data: bytes) -> None:
    fd = os.open(path, _FLAGS, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class RunWriter:
    """Writes one run's files, tracking file counts."""

    def __init__(self, root: str, rng: random.Random):
        self.root = root
        self.rng = rng
        self.files = 0

    def _ulid(self, ms: int) -> str:
        return encode_ulid(ms, self.rng.getrandbits(80))

    def event(
        self,
        run_id: str,
        ms: int,
        event_type: str,
        correlation_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> str:
        event_id = "evnt_" + self._ulid(ms)
        ev: dict[str, Any] = {"eventType": event_type, "specVersion": SPEC_VERSION}
        if correlation_id is not None:
            ev["correlationId"] = correlation_id
        if data is not None:
            ev["eventData"] = data
        ev["runId"] = run_id
        ev["eventId"] = event_id
        ev["createdAt"] = iso(ms)
        write(f"{self.root}/events/{run_id}-{event_id}.json", dumps(ev))
        self.files += 1
        return event_id

    def lock(self, kind: str, name: str) -> None:
        write(f"{self.root}/.locks/{kind}/{name}", b"")
        self.files += 1

    def run_file(self, run: dict[str, Any]) -> None:
        write(f"{self.root}/runs/{run['runId']}.json", dumps(run))
        self.files += 1

    def step(
        self,
        run_id: str,
        workflow_name: str,
        step_id: str,
        name: str,
        args: list[Any],
        ms: int,
        status: str,
        output: Any = None,
        error: dict[str, str] | None = None,
        duration: int = 20,
    ) -> int:
        """step_created/started/(completed|failed) events + the step file + its lock; returns the end time."""
        step_name = f"step//{MODULE}//{name}"
        inp = step_input(*args)
        self.event(
            run_id, ms, "step_created", step_id, {"stepName": step_name, "workflowName": workflow_name, "input": inp}
        )
        started = ms + 15
        self.event(run_id, started, "step_started", step_id, {"stepName": step_name})
        end = started + duration
        step: dict[str, Any] = {
            "runId": run_id,
            "stepId": step_id,
            "stepName": step_name,
            "status": status,
            "input": inp,
            "attempt": 1,
            "startedAt": iso(started),
            "createdAt": iso(ms),
        }
        if status == "completed":
            result = payload(output)
            self.event(
                run_id,
                end,
                "step_completed",
                step_id,
                {"stepName": step_name, "workflowName": workflow_name, "result": result},
            )
            step.update({"updatedAt": iso(end), "specVersion": SPEC_VERSION, "output": result, "completedAt": iso(end)})
            self.lock("steps", f"{run_id}-{step_id}.terminal")
        elif status == "failed":
            assert error is not None
            self.event(
                run_id,
                end,
                "step_failed",
                step_id,
                {"stepName": step_name, "error": error["message"], "stack": error["stack"]},
            )
            step.update({"updatedAt": iso(end), "specVersion": SPEC_VERSION, "error": error, "completedAt": iso(end)})
            self.lock("steps", f"{run_id}-{step_id}.terminal")
        else:  # running
            step["status"] = "running"
            step.update({"updatedAt": iso(started), "specVersion": SPEC_VERSION})
            end = started
        write(f"{self.root}/steps/{run_id}-{step_id}.json", dumps(step))
        self.files += 1
        return end

    def chunks(self, run_ulid: str, ms: int, values: list[Any], eof: bool = False, suffix: str = "") -> None:
        name = f"strm_{run_ulid}_user{suffix}"
        for i, value in enumerate(values):
            write(f"{self.root}/streams/chunks/{name}-chnk_{self._ulid(ms + i)}.bin", chunk_bytes(value))
            self.files += 1
        if eof:
            write(f"{self.root}/streams/chunks/{name}-chnk_{self._ulid(ms + len(values))}.bin", b"\x01")
            self.files += 1

    def stream_registry(self, run_id: str, run_ulid: str) -> None:
        write(f"{self.root}/streams/runs/{run_id}.json", dumps({"streams": [f"strm_{run_ulid}_user"]}))
        self.files += 1

    def wait(self, run_id: str, corr: str, created: int, resume: int, completed: int | None) -> None:
        w: dict[str, Any] = {
            "waitId": f"{run_id}-{corr}",
            "runId": run_id,
            "status": "waiting" if completed is None else "completed",
            "resumeAt": iso(resume),
            "createdAt": iso(created),
            "updatedAt": iso(created),
        }
        if completed is not None:
            w["completedAt"] = iso(completed)
            w["updatedAt"] = iso(completed)
        w["specVersion"] = SPEC_VERSION
        write(f"{self.root}/waits/{run_id}-{corr}.json", dumps(w))
        self.files += 1

    def hook(self, run_id: str, hook_id: str, token: str, ms: int, event_id: str) -> None:
        h = {
            "runId": run_id,
            "hookId": hook_id,
            "token": token,
            "ownerId": "local-owner",
            "projectId": "local-project",
            "environment": "local",
            "createdAt": iso(ms),
            "specVersion": SPEC_VERSION,
            "isWebhook": False,
        }
        write(f"{self.root}/hooks/{hook_id}.json", dumps(h))
        claim = {"token": token, "hookId": hook_id, "runId": run_id, "eventId": event_id}
        digest = hashlib.sha256(token.encode()).hexdigest()
        write(f"{self.root}/hooks/tokens/{digest}.json", json.dumps(claim, separators=(",", ":")).encode())
        self.files += 2


def _base_run(run_id: str, workflow_name: str, inp: dict[str, str], created: int) -> dict[str, Any]:
    return {
        "runId": run_id,
        "deploymentId": DEPLOYMENT_ID,
        "workflowName": workflow_name,
        "specVersion": SPEC_VERSION,
        "executionContext": EXECUTION_CONTEXT,
        "input": inp,
        "createdAt": iso(created),
    }


def _terminal_run(
    base: dict[str, Any],
    started: int,
    status: str,
    end: int,
    output: Any = UNDEFINED,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    run = dict(base)
    run["startedAt"] = iso(started)
    run["status"] = status
    if output is not UNDEFINED:
        run["output"] = payload(output)
    if error is not None:
        run["error"] = error
    run["completedAt"] = iso(end)
    run["updatedAt"] = iso(end)
    return run


def _running_run(base: dict[str, Any], started: int) -> dict[str, Any]:
    run = dict(base)
    run["status"] = "running"
    run["startedAt"] = iso(started)
    run["updatedAt"] = iso(started)
    return run


def _created_events(w: RunWriter, run_id: str, workflow_name: str, inp: dict[str, str], created: int) -> int:
    w.event(
        run_id,
        created,
        "run_created",
        None,
        {
            "deploymentId": DEPLOYMENT_ID,
            "workflowName": workflow_name,
            "input": inp,
            "executionContext": EXECUTION_CONTEXT,
        },
    )
    started = created + 2
    w.event(run_id, started, "run_started")
    return started


def light_run(w: RunWriter, run_id: str, created: int, status: str, rng: random.Random) -> None:
    name = rng.choice(NAMES)
    kind = "failingWorkflow" if status == "failed" else rng.choice(["demoWorkflow", "tickerWorkflow", "logsWorkflow"])
    workflow_name = f"workflow//{MODULE}//{kind}"
    args: list[Any] = {
        "demoWorkflow": [name, "5s"],
        "tickerWorkflow": [3, 300],
        "logsWorkflow": [name],
        "failingWorkflow": [f"bad input {name}"],
    }[kind]
    inp = payload(args)
    base = _base_run(run_id, workflow_name, inp, created)
    if status == "pending":
        run = {
            "runId": run_id,
            "deploymentId": DEPLOYMENT_ID,
            "status": "pending",
            "workflowName": workflow_name,
            "specVersion": SPEC_VERSION,
            "executionContext": EXECUTION_CONTEXT,
            "input": inp,
            "createdAt": iso(created),
            "updatedAt": iso(created),
        }
        w.event(
            run_id,
            created,
            "run_created",
            None,
            {
                "deploymentId": DEPLOYMENT_ID,
                "workflowName": workflow_name,
                "input": inp,
                "executionContext": EXECUTION_CONTEXT,
            },
        )
        w.run_file(run)
        return
    started = _created_events(w, run_id, workflow_name, inp, created)
    end = started + rng.randint(30, 5000)
    if status == "completed":
        output = {
            "demoWorkflow": {"greeting": f"Hello, {name}!", "length": len(name) + 8},
            "tickerWorkflow": {"ticks": 3},
            "logsWorkflow": {"job": name, "logLines": 3},
        }[kind]
        w.event(run_id, end, "run_completed", None, {"output": payload(output)})
        w.run_file(_terminal_run(base, started, "completed", end, output=output))
    elif status == "failed":
        msg = f"boom: bad input {name}"
        stack = FAKE_STACK.format(msg=msg)
        w.event(run_id, end, "run_failed", None, {"error": {"message": msg, "stack": stack}, "errorCode": "USER_ERROR"})
        w.run_file(
            _terminal_run(base, started, "failed", end, error={"message": msg, "stack": stack, "code": "USER_ERROR"})
        )
    elif status == "cancelled":
        w.event(run_id, end, "run_cancelled")
        w.run_file(_terminal_run(base, started, "cancelled", end))
    else:
        w.run_file(_running_run(base, started))


def full_run(w: RunWriter, run_id: str, created: int, scenario: str, rng: random.Random) -> None:
    run_ulid = run_id[5:]
    name = rng.choice(NAMES)
    ids = MonotonicUlids(rng, created + 3)
    if scenario in ("completed-sleep", "sleeping", "cancelled-sleeping"):
        workflow_name = f"workflow//{MODULE}//demoWorkflow"
        sleep_ms = 3000 if scenario == "completed-sleep" else 3_600_000
        args = [name, "3s" if scenario == "completed-sleep" else "1h"]
        inp = payload(args)
        base = _base_run(run_id, workflow_name, inp, created)
        started = _created_events(w, run_id, workflow_name, inp, created)
        greet_id, wait_corr = "step_" + ids.next(), "wait_" + ids.next()
        t = w.step(
            run_id,
            workflow_name,
            greet_id,
            "greet",
            [name],
            started + 30,
            "completed",
            output={"greeting": f"Hello, {name}!", "at": iso(started + 60)},
        )
        w.chunks(run_ulid, started + 50, [f"hello {name}", f"second chunk for {name}"])
        w.stream_registry(run_id, run_ulid)
        wait_at = t + 15
        resume = wait_at + sleep_ms
        w.event(run_id, wait_at, "wait_created", wait_corr, {"resumeAt": iso(resume)})
        if scenario == "sleeping":
            w.wait(run_id, wait_corr, wait_at, resume, None)
            w.run_file(_running_run(base, started))
            return
        if scenario == "cancelled-sleeping":
            end = wait_at + rng.randint(500, 3000)
            w.event(run_id, end, "run_cancelled")
            w.run_file(_terminal_run(base, started, "cancelled", end))
            return
        woke = resume + 30
        w.lock("waits", f"{run_id}-{wait_corr}.completed")
        w.event(run_id, woke, "wait_completed", wait_corr, {"resumeAt": iso(resume)})
        finish_id = "step_" + ids.next()
        greeting = f"Hello, {name}!"
        output = {"greeting": greeting, "length": len(greeting)}
        t = w.step(run_id, workflow_name, finish_id, "finish", [greeting], woke + 5, "completed", output=output)
        w.chunks(run_ulid, t - 3, [f"done: {greeting}"])
        end = t + 10
        w.event(run_id, end, "run_completed", None, {"output": payload(output)})
        w.run_file(_terminal_run(base, started, "completed", end, output=output))
    elif scenario in ("hook-waiting", "hook-resumed"):
        workflow_name = f"workflow//{MODULE}//approvalWorkflow"
        doc = f"doc-{run_ulid[-8:].lower()}"
        inp = payload([doc])
        base = _base_run(run_id, workflow_name, inp, created)
        started = _created_events(w, run_id, workflow_name, inp, created)
        hook_id = "hook_" + ids.next()
        token = f"approval:{doc}"
        hook_at = started + 20
        event_id = w.event(run_id, hook_at, "hook_created", hook_id, {"token": token, "isWebhook": False})
        if scenario == "hook-waiting":
            w.hook(run_id, hook_id, token, hook_at - 1, event_id)
            w.run_file(_running_run(base, started))
            return
        decision = {"approved": True, "by": name}
        got = hook_at + rng.randint(200, 60000)
        w.event(run_id, got, "hook_received", hook_id, {"token": token, "payload": payload(decision)})
        result = f"{doc}: approved by {name}"
        t = w.step(
            run_id,
            workflow_name,
            "step_" + ids.next(),
            "recordDecision",
            [doc, decision],
            got + 10,
            "completed",
            output=result,
        )
        end = t + 10
        w.event(run_id, end, "run_completed", None, {"output": payload(result)})
        w.run_file(_terminal_run(base, started, "completed", end, output=result))
    elif scenario == "failed":
        workflow_name = f"workflow//{MODULE}//failingWorkflow"
        arg = f"bad input {name}"
        inp = payload([arg])
        base = _base_run(run_id, workflow_name, inp, created)
        started = _created_events(w, run_id, workflow_name, inp, created)
        msg = f"boom: {arg}"
        stack = FAKE_STACK.format(msg=msg)
        t = w.step(
            run_id,
            workflow_name,
            "step_" + ids.next(),
            "validate",
            [arg],
            started + 30,
            "failed",
            error={"message": msg, "stack": stack},
        )
        end = t + 40
        w.event(run_id, end, "run_failed", None, {"error": {"message": msg, "stack": stack}, "errorCode": "USER_ERROR"})
        w.run_file(
            _terminal_run(base, started, "failed", end, error={"message": msg, "stack": stack, "code": "USER_ERROR"})
        )
    elif scenario == "ticker":
        workflow_name = f"workflow//{MODULE}//tickerWorkflow"
        n = 3
        inp = payload([n, 300])
        base = _base_run(run_id, workflow_name, inp, created)
        started = _created_events(w, run_id, workflow_name, inp, created)
        t = started + 30
        for i in range(n):
            if i > 0:
                corr = "wait_" + ids.next()
                resume = t + 300
                w.event(run_id, t, "wait_created", corr, {"resumeAt": iso(resume)})
                w.lock("waits", f"{run_id}-{corr}.completed")
                t = resume + 700
                w.event(run_id, t, "wait_completed", corr, {"resumeAt": iso(resume)})
            t = w.step(run_id, workflow_name, "step_" + ids.next(), "tick", [i, n], t + 5, "completed", output=1)
            w.chunks(run_ulid, t - 3, [{"tick": i, "of": n, "at": iso(t - 3)}])
        w.stream_registry(run_id, run_ulid)
        end = t + 10
        w.event(run_id, end, "run_completed", None, {"output": payload({"ticks": n})})
        w.run_file(_terminal_run(base, started, "completed", end, output={"ticks": n}))
    else:
        raise ValueError(scenario)


def _worker(job: tuple[str, int, int, int, int, int, int, int]) -> dict[str, Any]:
    root, lo, hi, seed, start_ms, gap_ms, full_every, _chunk_no = job
    rng = random.Random(f"{seed}:{lo}")
    w = RunWriter(root, rng)
    statuses = [s for s, _ in LIGHT_STATUSES]
    weights = [wt for _, wt in LIGHT_STATUSES]
    counts: dict[str, int] = {}
    first = last = None
    for i in range(lo, hi):
        created = start_ms + i * gap_ms + rng.randrange(0, max(1, gap_ms // 2))
        run_id = "wrun_" + encode_ulid(created, rng.getrandbits(80))
        if full_every and i % full_every == full_every - 1:
            scenario = FULL_SCENARIOS[(i // full_every) % len(FULL_SCENARIOS)]
            full_run(w, run_id, created, scenario, rng)
            key = f"full:{scenario}"
        else:
            status = rng.choices(statuses, weights)[0]
            light_run(w, run_id, created, status, rng)
            key = status
        counts[key] = counts.get(key, 0) + 1
        first = first or run_id
        last = run_id
    return {"files": w.files, "counts": counts, "first": first, "last": last}


SUBDIRS = [
    "runs",
    "events",
    "steps",
    "waits",
    "hooks",
    "hooks/tokens",
    "streams/runs",
    "streams/chunks",
    ".locks/steps",
    ".locks/waits",
]


def generate(
    out: Path,
    runs: int,
    *,
    seed: int = 1,
    gap_ms: int = 1000,
    full_every: int = 10,
    start_ms: int | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    if gap_ms < 2:
        raise ValueError("--gap-ms must be >= 2 (run ids need strictly increasing timestamps)")
    for sub in SUBDIRS:
        (out / sub).mkdir(parents=True, exist_ok=True)
    if start_ms is None:
        start_ms = int(time.time() * 1000) - runs * gap_ms - 3_600_000
    workers = workers or min(os.cpu_count() or 1, 8)
    per_job = 2000
    jobs = [
        (str(out), lo, min(runs, lo + per_job), seed, start_ms, gap_ms, full_every, n)
        for n, lo in enumerate(range(0, runs, per_job))
    ]
    t0 = time.monotonic()
    if workers > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_worker, jobs, chunksize=1)
    else:
        results = [_worker(job) for job in jobs]
    elapsed = time.monotonic() - t0
    counts: dict[str, int] = {}
    for r in results:
        for k, v in r["counts"].items():
            counts[k] = counts.get(k, 0) + v
    return {
        "dataDir": str(out),
        "runs": runs,
        "files": sum(r["files"] for r in results),
        "seconds": round(elapsed, 2),
        "workers": workers,
        "counts": dict(sorted(counts.items())),
        "firstRunId": results[0]["first"] if results else None,
        "lastRunId": results[-1]["last"] if results else None,
    }


def _looks_generated_or_empty(path: Path) -> bool:
    if not path.exists():
        return True
    entries = {p.name for p in path.iterdir()}
    return not entries or entries <= set(
        ["runs", "events", "steps", "waits", "hooks", "streams", ".locks", "version.txt"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", "-n", type=int, default=100_000, help="number of runs (default %(default)s)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the data directory to create (default benchmarks/results/local-world-<N>/.workflow-data)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gap-ms", type=int, default=1000, help="time between two runs' creation (ms)")
    parser.add_argument(
        "--full-every",
        type=int,
        default=10,
        help="every K-th run gets the full file set of a recorded scenario (0: none)",
    )
    parser.add_argument("--start-ms", type=int, default=None, help="creation time of run 0 (epoch ms)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPU count, max 8)")
    parser.add_argument("--force", action="store_true", help="replace an existing data directory")
    args = parser.parse_args(argv)

    out = args.out or Path(__file__).resolve().parent / "results" / f"local-world-{args.runs}" / ".workflow-data"
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        if not args.force:
            print(f"error: {out} is not empty (use --force to replace it)", file=sys.stderr)
            return 2
        if not _looks_generated_or_empty(out):
            print(f"error: refusing to delete {out}: it does not look like a workflow data directory", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    summary = generate(
        out,
        args.runs,
        seed=args.seed,
        gap_ms=args.gap_ms,
        full_every=args.full_every,
        start_ms=args.start_ms,
        workers=args.workers,
    )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
