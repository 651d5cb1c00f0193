#!/usr/bin/env python3
"""Run the Durable Streams client conformance cases through ``wfctl.durable_streams``.

The YAML cases are unmodified MIT-licensed copies of ``packages/client-conformance-tests/test-cases`` from
durable-streams/durable-streams (commit 82f9963a): a subset in ``tests/conformance/durable-streams`` (a directory
``shared/conformance/durable-streams`` beside the repository's is read instead when it exists), and the other
consumer, lifecycle and validation files in ``tests/conformance/durable-streams-rest``; together they are the whole
upstream suite except ``producer/``. ``WFCTL_DS_CONFORMANCE_DIR`` replaces both with one directory holding
``test-cases/`` (e.g. an upstream checkout's ``packages/client-conformance-tests``, producer cases included). The
subset's README (``tests/conformance/durable-streams/README.md``) defines the execution semantics implemented here;
results and exclusions: ``tests/conformance/DS_CONFORMANCE.md``. ``read``, ``head`` and ``connect`` go through
:class:`wfctl.durable_streams.StreamReader`; writer-side steps (``create``, ``append``, ``close``, ``delete``,
``server-*``, ``inject-error``) are plain httpx requests made by this runner, as the README allows.

Usage::

    python -m tests.conformance.run_ds_conformance                # starts the reference server itself
    python -m tests.conformance.run_ds_conformance --server-url http://127.0.0.1:4437 -k sse -v

``tests/durable_streams/test_conformance.py`` runs the same cases under pytest, one test id per case. Cases out of scope
(auto mode, producers) are skipped with their reason (:func:`out_of_scope`, mirrored in
``tests/conformance/DS_CONFORMANCE.md``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wfctl.durable_streams import Backoff, StreamError, StreamReader

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

#: Client features the wfctl reader has (``requires`` spellings of the YAML files). ``dynamicHeaders``:
#: headers and query parameters given as callables are evaluated for every request.
FEATURES = frozenset({"sse", "long-poll", "longPoll", "json", "dynamicHeaders"})

_PRODUCER = (
    "producer-only: needs an idempotent producer (Producer-Id/Epoch/Seq writer with client-side "
    "close/detach state); wfctl's Durable Streams support is a reader and has no producer"
)
_WRITER_RETRY = (
    "producer-only: tests that the client's append retries a 5xx; wfctl has no writer (the runner's appends are "
    "plain HTTP, so passing it would say nothing about wfctl)"
)
_WRITER_HEADERS = (
    "producer-only: dynamic headers on appends; wfctl has no writer (the same feature on reads is "
    "dynamic-headers/dynamic-header-on-read)"
)

#: Why a missing client feature is out of scope (a case requiring it is skipped with this reason).
FEATURE_REASONS = {
    "auto": "auto mode (live: true, catch-up then whichever live mode the client picks) is not offered: "
    "wfctl's reader is told long-poll or sse",
    "batching": _PRODUCER,
    "batchItems": "producer-only: producer options validation",
    "strictZeroValidation": "producer-only: producer options validation",
    "retryOptions": "validates a PHP-client options object; the official TypeScript client does not declare "
    "retryOptions either and skips these cases",
}

#: Case id -> reason it is not run, besides whole producer suites and missing features. Keep in sync with
#: DS_CONFORMANCE.md (a test checks it).
EXCLUDED: dict[str, str] = {
    "stream-closure/idempotent-producer-close": _PRODUCER,
    "stream-closure/idempotent-producer-close-with-final-message": _PRODUCER,
    "stream-closure/idempotent-producer-detach-does-not-close": _PRODUCER,
    "stream-closure/idempotent-producer-close-idempotent": _PRODUCER,
    "stream-closure/idempotent-producer-close-conflict": _PRODUCER,
    "stream-closure/atomic-close-dedup-with-producer": _PRODUCER,
    "stream-closure/close-with-body-retry-different-body": _PRODUCER,
    "fault-injection/method-specific-fault": _WRITER_RETRY,
    "retry-resilience/append-retry-on-500": _WRITER_RETRY,
    "error-context/not-found-on-append-includes-path": (
        "producer-only: the error message of an append; wfctl has no writer (the same check on reads is "
        "error-context/not-found-includes-path)"
    ),
    "dynamic-headers/dynamic-header-per-request": _WRITER_HEADERS,
    "dynamic-headers/token-refresh-simulation": _WRITER_HEADERS,
    "input-validation/producer-valid": "producer-only: producer options validation",
    "input-validation/producer-negative-epoch": "producer-only: producer options validation",
    "input-validation/producer-negative-max-batch-bytes": "producer-only: producer options validation",
    "offset-resumption/offset-zero-start": (
        'not runnable against the reference server: it answers offset "0" with 400 Invalid offset format '
        "(its offsets are <digits>_<digits>); the official client gets the same 400 and passes only because "
        "upstream's runner does not check data on an error result. wfctl reports INVALID_OFFSET"
    ),
}

#: Cases the YAML marks ``skip`` for another implementation's bug (its reason string), which wfctl runs.
RUN_DESPITE_SKIP = frozenset(
    {
        "read-sse-base64/sse-base64-data-integrity-multiline",
        "read-sse-base64/sse-base64-large-payload-4kb",
    }
)

_ERROR_CODES = {
    "NOT_FOUND": "NOT_FOUND",
    "INVALID_OFFSET": "INVALID_OFFSET",
    "PARSE_ERROR": "PARSE_ERROR",
    "PROTOCOL": "PARSE_ERROR",
    "NETWORK": "NETWORK_ERROR",
}

# expectation keys that only make sense for a successful result
_SUCCESS_KEYS = (
    "data",
    "dataContains",
    "dataContainsAll",
    "dataExact",
    "minChunks",
    "upToDate",
    "streamClosed",
    "contentType",
    "hasOffset",
    "storeOffsetAs",
    "storeDataAs",
    "storeAs",
    "finalOffset",
    "headersSent",
    "paramsSent",
)


def conformance_dirs() -> list[Path]:
    """The directories holding ``test-cases/``, earlier ones first when a file is in several."""
    env = os.environ.get("WFCTL_DS_CONFORMANCE_DIR")
    if env:
        return [Path(env).expanduser().resolve()]
    shared = (REPO_ROOT / ".." / "shared" / "conformance" / "durable-streams").resolve()
    # A copy of the same MIT-licensed case files (data, unmodified) travels with the repository.
    subset = shared if shared.is_dir() else HERE / "durable-streams"
    return [subset, HERE / "durable-streams-rest"]


def out_of_scope(case: "Case") -> str | None:
    """Why ``case`` is not run (auto mode, producers, ...), or None."""
    if case.id in EXCLUDED:
        return EXCLUDED[case.id]
    if case.suite.get("category") == "producer" or case.file.startswith("producer/"):
        return _PRODUCER
    missing = [f for f in case.requires if f not in FEATURES]
    if missing:
        return "; ".join(FEATURE_REASONS.get(f, f"missing feature {f}") for f in missing)
    return None


@dataclass(frozen=True)
class Case:
    id: str  # "<file stem>/<test id>", e.g. "read-sse/sse-binary-data"
    file: str  # path relative to test-cases/
    suite: dict
    test: dict

    @property
    def requires(self) -> list[str]:
        return list(self.suite.get("requires") or []) + list(self.test.get("requires") or [])


@dataclass
class Outcome:
    case: Case
    status: str  # "passed" | "failed" | "skipped"
    message: str = ""
    seconds: float = 0.0


def load_cases(roots: list[Path] | None = None) -> list[Case]:
    import yaml

    files: dict[str, Path] = {}
    for root in roots or conformance_dirs():
        base = root / "test-cases"
        if not base.is_dir():
            raise FileNotFoundError(f"no conformance cases at {base} (set WFCTL_DS_CONFORMANCE_DIR)")
        for path in sorted(base.rglob("*.yaml")):
            files.setdefault(str(path.relative_to(base)), path)
    cases: list[Case] = []
    for rel, path in sorted(files.items()):
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        for test in suite.get("tests") or []:
            cases.append(Case(f"{path.stem}/{test['id']}", rel, suite, test))
    ids = [c.id for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate case ids: {sorted(dupes)}")
    return cases


class CaseFailure(Exception):
    pass


_VAR = re.compile(r"\$\{([^}]+)\}")


class CaseRunner:
    """Runs one case at a time against a server at ``base_url``."""

    def __init__(self, base_url: str, *, idle_timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.idle_timeout = idle_timeout
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)
        self.vars: dict[str, Any] = {}
        self.background: dict[str, threading.Thread] = {}
        self.background_results: dict[str, dict] = {}
        self.content_types: dict[str, str] = {}
        #: set-dynamic-header / set-dynamic-param: name -> [valueType, counter, token value]
        self.dynamic_headers: dict[str, list[Any]] = {}
        self.dynamic_params: dict[str, list[Any]] = {}

    def close(self) -> None:
        self.http.close()

    # -- running ------------------------------------------------------------------------------------------

    def run(self, case: Case) -> Outcome:
        start = time.monotonic()
        outcome = self._run(case)
        outcome.seconds = time.monotonic() - start
        return outcome

    def _run(self, case: Case) -> Outcome:
        test = case.test
        reason = out_of_scope(case)
        if reason:
            return Outcome(case, "skipped", reason)
        if test.get("skip") and case.id not in RUN_DESPITE_SKIP:
            reason = test["skip"] if isinstance(test["skip"], str) else "marked skip in the YAML"
            return Outcome(case, "skipped", reason)
        self.vars = {}
        self.background = {}
        self.background_results = {}
        self.content_types = {}
        self.dynamic_headers = {}
        self.dynamic_params = {}
        try:
            for i, step in enumerate(test.get("setup") or []):
                result = self._execute(step)
                if result is not None and not result.get("success", True) and not _refused_empty_append(step, result):
                    return Outcome(case, "failed", f"Setup failed at step {i} ({step['action']}): {result}")
            for i, step in enumerate(test.get("operations") or []):
                result = self._execute(step, check=True)
                if result is None:
                    continue
                problem = validate(result, step.get("expect"))
                if problem:
                    return Outcome(case, "failed", f"step {i} ({step['action']}): {problem}")
            return Outcome(case, "passed")
        except CaseFailure as e:
            return Outcome(case, "failed", str(e))
        finally:
            for step in test.get("cleanup") or []:
                try:
                    self._execute(step)
                except Exception:  # best effort
                    pass
            for thread in self.background.values():
                thread.join(timeout=30)

    def _execute(self, step: dict, check: bool = False) -> dict | None:
        action = step["action"]
        handler = getattr(self, "_do_" + action.replace("-", "_"), None)
        if handler is None:
            raise CaseFailure(f"unsupported action {action!r}")
        result = handler(step)
        expect = step.get("expect") or {}
        if result is not None and result.get("success"):
            if expect.get("storeOffsetAs") and "offset" in result:
                self.vars[expect["storeOffsetAs"]] = result["offset"]
            if expect.get("storeDataAs") and result.get("type") == "read":
                self.vars[expect["storeDataAs"]] = "".join(result["chunks"])
            if expect.get("storeAs"):
                self.vars[expect["storeAs"]] = result
        return result

    # -- variables ----------------------------------------------------------------------------------------

    def sub(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value

        def repl(m: re.Match) -> str:
            name = m.group(1)
            if name == "randomUUID":
                return str(uuid.uuid4())
            head, _, prop = name.partition(".")
            if head not in self.vars:
                raise CaseFailure(f"undefined variable ${{{name}}}")
            val = self.vars[head]
            if prop:
                val = val[prop] if isinstance(val, dict) else getattr(val, prop)
            return str(val)

        return _VAR.sub(repl, value)

    # -- reader-side actions ------------------------------------------------------------------------------

    def _reader(self, path: str, step: dict | None = None) -> tuple[StreamReader, httpx.Client, list[httpx.Request]]:
        """A reader for ``path`` with the step's headers and the dynamic headers and parameters (callables,
        evaluated by the reader for every request), its HTTP client (the caller closes both) and the list
        its requests are recorded in."""
        sent: list[httpx.Request] = []
        static = {k: self.sub(v) for k, v in ((step or {}).get("headers") or {}).items()}
        dynamic_headers = dict(self.dynamic_headers)
        dynamic_params = dict(self.dynamic_params)

        def headers() -> dict[str, str]:
            return {**{k: _dynamic_value(v) for k, v in dynamic_headers.items()}, **static}

        def params() -> dict[str, str]:
            return {k: _dynamic_value(v) for k, v in dynamic_params.items()}

        client = httpx.Client(follow_redirects=False, event_hooks={"request": [sent.append]})
        reader = StreamReader(
            self.base_url + path,
            headers=headers if dynamic_headers else static,
            params=params if dynamic_params else None,
            client=client,
            idle_timeout=self.idle_timeout,
            max_retries=5,
            backoff=Backoff(initial=0.05, max_delay=1.0),
        )
        return reader, client, sent

    def _sent(self, result: dict, sent: list[httpx.Request]) -> dict:
        """Report the dynamic headers and parameters of the first request actually sent."""
        if sent and self.dynamic_headers:
            result["headersSent"] = {k: sent[0].headers.get(k) for k in self.dynamic_headers}
        if sent and self.dynamic_params:
            result["paramsSent"] = {k: sent[0].url.params.get(k) for k in self.dynamic_params}
        return result

    def _do_read(self, step: dict) -> dict | None:
        if step.get("background"):
            ref = step.get("as")
            if not ref:
                raise CaseFailure("background read without 'as'")

            def work() -> None:
                self.background_results[ref] = self._read(step)

            thread = threading.Thread(target=work, name=f"read-{ref}", daemon=True)
            self.background[ref] = thread
            thread.start()
            return None
        return self._read(step)

    def _read(self, step: dict) -> dict:
        path = self.sub(step["path"])
        offset = self.sub(step.get("offset", "-1"))
        live = step.get("live")
        if live in (None, False):
            live = None
        elif live is True:
            return _error("read", "NOT_SUPPORTED", "auto live mode is not supported")
        timeout = float(step.get("timeoutMs", 5000)) / 1000
        max_chunks = int(step.get("maxChunks", 100))
        wait_up_to_date = bool(step.get("waitForUpToDate", False))
        chunks: list[str] = []
        status = None
        up_to_date = False
        closed = False
        next_offset = offset
        deadline = time.monotonic() + timeout
        reader, client, sent = self._reader(path, step)
        try:
            batches = reader.read(offset, live)
            try:
                for batch in batches:
                    status, next_offset = batch.status, batch.offset
                    up_to_date, closed = batch.up_to_date, batch.closed
                    if not batch.empty:
                        chunks.append(_chunk_text(batch))
                    if closed or len(chunks) >= max_chunks:
                        break
                    if live is None:
                        continue
                    if wait_up_to_date and up_to_date:
                        break
                    if time.monotonic() >= deadline:
                        up_to_date = True  # a live read that times out reports up-to-date (README)
                        break
            finally:
                batches.close()
        except StreamError as e:
            return self._sent(_error("read", _ERROR_CODES.get(e.code, "UNEXPECTED_STATUS"), e.message, e.status), sent)
        finally:
            reader.close()
            client.close()
        return self._sent(
            {
                "type": "read",
                "success": True,
                "status": status,
                "chunks": chunks,
                "offset": next_offset,
                "upToDate": up_to_date,
                "streamClosed": closed,
            },
            sent,
        )

    def _do_head(self, step: dict, kind: str = "head") -> dict:
        path = self.sub(step["path"])
        reader, client, sent = self._reader(path, step)
        try:
            info = reader.head()
        except StreamError as e:
            return _error(kind, _ERROR_CODES.get(e.code, "UNEXPECTED_STATUS"), e.message, e.status)
        finally:
            reader.close()
            client.close()
        if kind == "connect":  # the official client's connect(): a HEAD proving the stream exists
            return {"type": "connect", "success": True, "status": info.status}
        return self._sent(
            {
                "type": "head",
                "success": True,
                "status": info.status,
                "offset": info.offset,
                "contentType": info.content_type,
                "streamClosed": info.closed,
            },
            sent,
        )

    def _do_connect(self, step: dict) -> dict:
        return self._do_head(step, "connect")

    def _do_set_dynamic_header(self, step: dict) -> None:
        self.dynamic_headers[step["name"]] = [step["valueType"], 0, step.get("initialValue")]
        return None

    def _do_set_dynamic_param(self, step: dict) -> None:
        self.dynamic_params[step["name"]] = [step["valueType"], 0, step.get("initialValue")]
        return None

    def _do_clear_dynamic(self, step: dict) -> None:
        self.dynamic_headers.clear()
        self.dynamic_params.clear()
        return None

    def _do_await(self, step: dict) -> dict:
        ref = step["ref"]
        thread = self.background.get(ref)
        if thread is None:
            raise CaseFailure(f"no background operation {ref!r}")
        thread.join(timeout=60)
        if thread.is_alive():
            raise CaseFailure(f"background read {ref!r} did not finish within 60 s")
        return self.background_results[ref]

    # -- writer-side actions (plain HTTP, not the code under test) ----------------------------------------

    def _content_type(self, path: str) -> str:
        if path not in self.content_types:
            resp = self.http.head(path)
            if resp.status_code != 200:
                return "application/octet-stream"
            self.content_types[path] = resp.headers.get("content-type", "application/octet-stream")
        return self.content_types[path]

    def _do_create(self, step: dict) -> dict:
        path = self.sub(step.get("path")) if step.get("path") else f"/test-stream-{uuid.uuid4()}"
        ctype = step.get("contentType", "application/octet-stream")
        headers = {"Content-Type": ctype}
        if step.get("closed"):
            headers["Stream-Closed"] = "true"
        if step.get("ttlSeconds") is not None:
            headers["Stream-TTL"] = str(step["ttlSeconds"])
        if step.get("expiresAt"):
            headers["Stream-Expires-At"] = str(step["expiresAt"])
        body = self.sub(step["data"]).encode() if step.get("data") is not None else b""
        resp = self.http.put(path, headers=headers, content=body)
        if step.get("as"):
            self.vars[step["as"]] = path
        if resp.status_code in (200, 201):
            self.content_types[path] = ctype
            return {
                "type": "create",
                "success": True,
                "status": resp.status_code,
                "offset": resp.headers.get("stream-next-offset"),
            }
        return _http_error("create", resp)

    def _append(self, path: str, body: bytes, action: str, force_head: bool = False) -> dict:
        if force_head:
            self.content_types.pop(path, None)
        resp = self.http.post(path, headers={"Content-Type": self._content_type(path)}, content=body)
        if resp.status_code in (200, 204):
            return {"type": "append", "success": True, "status": 200, "offset": resp.headers.get("stream-next-offset")}
        return _http_error(action, resp)

    def _append_body(self, step: dict) -> bytes:
        if step.get("json") is not None:
            return json.dumps(step["json"], separators=(",", ":"), ensure_ascii=False).encode()
        if step.get("binaryData") is not None:
            return base64.b64decode(step["binaryData"])
        return self.sub(step.get("data") or "").encode()

    def _do_append(self, step: dict) -> dict:
        return self._append(self.sub(step["path"]), self._append_body(step), "append")

    def _do_server_append(self, step: dict) -> dict:
        return self._append(self.sub(step["path"]), self._append_body(step), "server-append", force_head=True)

    def _close(self, step: dict, action: str) -> dict:
        path = self.sub(step["path"])
        headers = {"Stream-Closed": "true"}
        body = b""
        if step.get("data") is not None:
            body = self.sub(step["data"]).encode()
            headers["Content-Type"] = step.get("contentType") or self._content_type(path)
        resp = self.http.post(path, headers=headers, content=body)
        if resp.status_code in (200, 204):
            return {"type": "close", "success": True, "finalOffset": resp.headers.get("stream-next-offset")}
        return _http_error(action, resp)

    def _do_close(self, step: dict) -> dict:
        return self._close(step, "close")

    def _do_server_close(self, step: dict) -> dict:
        return self._close(step, "server-close")

    def _do_delete(self, step: dict) -> dict:
        resp = self.http.delete(self.sub(step["path"]))
        if resp.status_code in (200, 204):
            return {"type": "delete", "success": True, "status": 200}
        return _http_error("delete", resp)

    def _do_inject_error(self, step: dict) -> None:
        fault = {k: v for k, v in step.items() if k not in ("action", "expect")}
        fault["path"] = self.sub(fault["path"])
        resp = self.http.post("/_test/inject-error", json=fault)
        if resp.status_code != 200:
            raise CaseFailure(f"inject-error failed: {resp.status_code} {resp.text}")
        return None

    def _do_clear_errors(self, step: dict) -> None:
        self.http.delete("/_test/inject-error")
        return None

    # -- control actions ----------------------------------------------------------------------------------

    def _do_wait(self, step: dict) -> None:
        time.sleep(float(step["ms"]) / 1000)  # the case's own pacing instruction
        return None

    def _do_set(self, step: dict) -> None:
        self.vars[step["name"]] = self.sub(step["value"])
        return None

    def _do_assert(self, step: dict) -> None:
        message = step.get("message", "assertion failed")
        for kind in ("equals", "notEquals", "contains", "matches"):
            if kind not in step:
                continue
            left, right = self.sub(step[kind]["left"]), self.sub(step[kind]["right"])
            if kind == "equals":
                ok = left == right
            elif kind == "notEquals":
                ok = left != right
            elif kind == "contains":
                ok = str(right) in str(left)
            else:
                ok = re.search(str(right), str(left)) is not None
            if not ok:
                raise CaseFailure(f"{message}: {kind}({left!r}, {right!r})")
        return None


def _dynamic_value(spec: list[Any]) -> str:
    """The next value of a dynamic header or parameter (``counter`` counts the requests that used it)."""
    kind = spec[0]
    if kind == "counter":
        spec[1] += 1
        return str(spec[1])
    if kind == "timestamp":
        return str(int(time.time() * 1000))
    return str(spec[2] or "")


def _refused_empty_append(step: dict, result: dict) -> bool:
    """A setup ``append`` of an empty body that the server refuses (the protocol forbids empty appends; the
    reference server answers 400 Empty body): the case then reads a stream without that append, as upstream's
    runner does, which ignores setup results."""
    empty = not step.get("data") and not step.get("binaryData") and step.get("json") is None
    return step.get("action") == "append" and empty and result.get("status") == 400


def _chunk_text(batch) -> str:
    if batch.items is not None:
        return json.dumps(batch.items, separators=(",", ":"), ensure_ascii=False)
    return batch.data.decode("utf-8", "replace")


def _error(kind: str, code: str, message: str, status: int | None = None) -> dict:
    result = {"type": "error", "success": False, "commandType": kind, "errorCode": code, "message": message}
    if status is not None:
        result["status"] = status
    return result


def _http_error(kind: str, resp: httpx.Response) -> dict:
    status = resp.status_code
    if status == 404:
        code = "NOT_FOUND"
    elif status == 409 and resp.headers.get("stream-closed", "").lower() == "true":
        code = "STREAM_CLOSED"
    elif status == 409:
        code = "SEQUENCE_CONFLICT" if "seq" in resp.text.lower() else "CONFLICT"
    else:
        code = "UNEXPECTED_STATUS"
    return _error(kind, code, f"HTTP {status}: {resp.text[:200]}", status)


def validate(result: dict, expect: dict | None) -> str | None:
    """Check ``result`` against ``expect`` (the README's semantics); return a problem or None."""
    if not expect:
        if not result.get("success", True):
            return f"unexpected error {result.get('errorCode')}: {result.get('message')}"
        return None
    kind = result.get("type")
    ok = result.get("success", True)
    if "status" in expect and "status" in result and result["status"] != expect["status"]:
        return f"expected status {expect['status']}, got {result['status']}"
    if expect.get("error") is True and ok:
        return "expected an error, but the operation succeeded"
    if "messageContains" in expect:
        if ok:
            return f"expected an error whose message contains {expect['messageContains']!r}, but it succeeded"
        missing = [s for s in expect["messageContains"] if s.lower() not in result.get("message", "").lower()]
        if missing:
            return f"expected the error message to contain {missing!r}: {result.get('message')!r}"
    if "errorCode" in expect:
        if ok:
            return f"expected error {expect['errorCode']}, but the operation succeeded"
        if result.get("errorCode") != expect["errorCode"]:
            return f"expected error code {expect['errorCode']}, got {result.get('errorCode')}"
    elif not ok and "status" not in expect and expect.get("error") is not True:
        # stricter than upstream: an error passes only when the expectation cannot need a success
        if any(k in expect for k in _SUCCESS_KEYS) or expect.get("chunkCount", 0) != 0:
            return f"unexpected error {result.get('errorCode')}: {result.get('message')}"
    if kind == "read":
        data = "".join(result["chunks"])
        if "data" in expect and data != expect["data"]:
            return f"expected data {expect['data']!r}, got {data!r}"
        if "dataContains" in expect and expect["dataContains"] not in data:
            return f"expected data to contain {expect['dataContains']!r}, got {data!r}"
        missing = [s for s in expect.get("dataContainsAll") or [] if s not in data]
        if missing:
            return f"expected data to contain all of {expect['dataContainsAll']!r}, missing {missing!r}"
        if "upToDate" in expect and result["upToDate"] != expect["upToDate"]:
            return f"expected upToDate={expect['upToDate']}, got {result['upToDate']}"
        if "streamClosed" in expect and result["streamClosed"] != expect["streamClosed"]:
            return f"expected streamClosed={expect['streamClosed']}, got {result['streamClosed']}"
        if "chunkCount" in expect and len(result["chunks"]) != expect["chunkCount"]:
            return f"expected {expect['chunkCount']} chunks, got {len(result['chunks'])}: {result['chunks']!r}"
        if "minChunks" in expect and len(result["chunks"]) < expect["minChunks"]:
            return f"expected at least {expect['minChunks']} chunks, got {len(result['chunks'])}"
        if "dataExact" in expect and result["chunks"] != expect["dataExact"]:
            return f"expected the chunks {expect['dataExact']!r}, got {result['chunks']!r}"
    for key in ("headersSent", "paramsSent"):
        if key in expect:
            sent = result.get(key)
            if sent is None:
                return f"expected {key} but the result has none"
            wrong = {k: sent.get(k) for k, v in expect[key].items() if sent.get(k) != str(v)}
            if wrong:
                return f"expected {key} {expect[key]!r}, got {sent!r}"
    if kind == "head":
        if "streamClosed" in expect and result["streamClosed"] != expect["streamClosed"]:
            return f"expected streamClosed={expect['streamClosed']}, got {result['streamClosed']}"
        if "contentType" in expect and result["contentType"] != expect["contentType"]:
            return f"expected contentType {expect['contentType']!r}, got {result['contentType']!r}"
        if "hasOffset" in expect and bool(result.get("offset")) != expect["hasOffset"]:
            return f"expected hasOffset={expect['hasOffset']}, got offset {result.get('offset')!r}"
    if kind == "close" and "finalOffset" in expect and result.get("finalOffset") != expect["finalOffset"]:
        return f"expected finalOffset {expect['finalOffset']!r}, got {result.get('finalOffset')!r}"
    return None


def run_all(base_url: str, cases: list[Case], verbose: bool = False) -> list[Outcome]:
    runner = CaseRunner(base_url)
    outcomes = []
    try:
        for case in cases:
            outcome = runner.run(case)
            outcomes.append(outcome)
            if verbose or outcome.status == "failed":
                extra = f": {outcome.message}" if outcome.message else ""
                print(f"{outcome.status.upper():7} {case.id} ({outcome.seconds:.2f}s){extra}", flush=True)
    finally:
        runner.close()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", help="use this running server instead of starting the reference server")
    parser.add_argument("-k", dest="filter", help="only cases whose id contains this text")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    cases = [c for c in load_cases() if not args.filter or args.filter in c.id]
    server = None
    if args.server_url:
        url = args.server_url
    else:
        from tests.doubles.ds_server import DSServer

        server = DSServer.start()
        url = server.url
    try:
        outcomes = run_all(url, cases, args.verbose)
    finally:
        if server:
            server.stop()
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("passed", "failed", "skipped")}
    print(f"{len(outcomes)} cases: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
