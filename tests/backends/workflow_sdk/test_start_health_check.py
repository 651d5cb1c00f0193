"""``start`` asks the app the Workflow SDK's health check for the new run's spec version, as ``npx workflow start``
does, and falls back to the newest run's when the app does not answer it.

The live tests run on both example apps (4.x: spec 3, 5.0: spec 7): the newest run's ``specVersion`` is
rewritten to another version (one the line's own world reads), so only the health check can give the app's;
the app running the new run to completion and the official CLI reading it back (``inspect run``) are the
proof. The tests at the end need no Node: a stand-in app on loopback that takes the health check and answers
it (or not) the way the SDK's handler does, on copies of the recorded worlds. The Postgres world's health
check is in test_start_rerun_resume_postgres.py.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.backends.workflow_sdk.test_start_rerun_resume_local import DEMO, DEMO_V5, LINES, build_app, env_of

# -- live: the real apps and the official CLI ---------------------------------------------------------------------

OTHER_SPEC = {"4.x": 2, "5.0": 6}  # not the app's; the line's own world reads it
APP_SPEC = {"4.x": 3, "5.0": 7}


@pytest.fixture(scope="module", params=LINES)
def app(request):
    return build_app(request.param)


@pytest.fixture
def server(app, tmp_path):
    with app.start(data_dir=tmp_path / ".workflow-data") as running:
        running.line = app.line
        yield running


def _rewrite_spec(data: Path, run_id: str, spec: int) -> None:
    path = data / "runs" / f"{run_id}.json"
    raw = json.loads(path.read_text())
    raw["specVersion"] = spec
    path.write_text(json.dumps(raw, indent=2))


def _newest(data: Path, workflow: str) -> str:
    ids = [
        p.stem
        for p in (data / "runs").glob("wrun_*.json")
        if json.loads(p.read_text())["workflowName"].endswith("//" + workflow)
    ]
    return max(ids)


def _spec(data: Path, run_id: str) -> int:
    return json.loads((data / "runs" / f"{run_id}.json").read_text())["specVersion"]


@pytest.mark.live
@pytest.mark.slow
def test_start_writes_the_spec_version_the_app_reports_as_the_official_cli_does(server, cli):
    data = server.data_dir
    template = server.start_run("demoWorkflow", ["Ada", "1s"])
    server.wait_for_status(template, "completed", timeout=30)
    assert _spec(data, template) == APP_SPEC[server.line]

    # the newest run claims another spec version (one its line's world reads): only the app can say its own
    _rewrite_spec(data, template, OTHER_SPEC[server.line])
    assert _newest(data, "demoWorkflow") == template
    r = cli(
        "--debug",
        "start",
        "demoWorkflow",
        "--input-json",
        '["Zed", "1s"]',
        "--wait",
        "--timeout",
        "60",
        "-o",
        "json",
        env=env_of(server),
    )
    assert r.exit_code == 0, r.stderr
    run = r.json()
    assert (run["status"], run["output"]) == ("completed", {"greeting": "Hello, Zed!", "length": 11})
    assert run["extra"]["specVersion"] == APP_SPEC[server.line]
    debug = [line for line in r.stderr.splitlines() if "health check:" in line]
    assert len(debug) == 1 and f"specVersion={APP_SPEC[server.line]}" in debug[0], r.stderr
    assert "did not answer" not in r.stderr
    want = server.inspect_json("run", run["runId"])
    assert (want["status"], want["specVersion"]) == ("completed", APP_SPEC[server.line])
    assert want["output"] == run["output"]
    # the answer's stream is where the SDK's own health check leaves it, in the app's data directory
    assert list((data / "streams" / "chunks").glob("__health_check__*")) != []


# -- no Node: a stand-in app -------------------------------------------------------------------------------------


class StandIn:
    """An app on loopback: GETs answer 200; a POST of the health check is recorded and handed to ``answer``
    (which may write the reply into the data directory, as the SDK's handler does) for its status; any other
    POST (a queued run) is recorded and answered 200."""

    def __init__(self, answer: Callable[[dict[str, Any]], int]):
        self.answer = answer
        self.posts: list[tuple[dict[str, str], Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int) -> None:
                body = b'{"ok":true}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply(200)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"null")
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.posts.append((headers, body))
                if isinstance(body, dict) and body.get("__healthCheck") is True:
                    self._reply(outer.answer(body))
                else:
                    self._reply(200)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _copy(tmp_path: Path, source: Path) -> Path:
    data = tmp_path / ".workflow-data"
    shutil.copytree(source, data)
    return data


def _writes_answer(data: Path, reply: bytes) -> Callable[[dict[str, Any]], int]:
    """The SDK's handler: one chunk with the reply, then the EOF chunk, in ``streams/chunks`` (4.x layout)."""

    def answer(body: dict[str, Any]) -> int:
        chunks = data / "streams" / "chunks"
        chunks.mkdir(parents=True, exist_ok=True)
        name = f"__health_check__{body['correlationId']}"
        (chunks / f"{name}-chnk_01AAAAAAAAAAAAAAAAAAAAAAAA.bin").write_bytes(b"\x00" + reply)
        (chunks / f"{name}-chnk_01AAAAAAAAAAAAAAAAAAAAAAAB.bin").write_bytes(b"\x01")
        return 200

    return answer


def _newest_run(data: Path) -> dict[str, Any]:
    return max((json.loads(p.read_text()) for p in (data / "runs").glob("wrun_*.json")), key=lambda r: r["runId"])


def _start(cli, data: Path, url: str, *extra: str):
    env = {"WORKFLOW_LOCAL_DATA_DIR": str(data), "WFCTL_APP_URL": url}
    return cli(*extra, "start", "demoWorkflow", "--input-json", '["x"]', "-o", "json", env=env)


@pytest.mark.parametrize("source", [DEMO, DEMO_V5], ids=LINES)
def test_the_health_check_is_the_sdks_message_on_the_flow_route(cli, tmp_path, source):
    data = _copy(tmp_path, source)
    newest_spec = _newest_run(data)["specVersion"]
    reply = json.dumps({"healthy": True, "specVersion": newest_spec, "workflowCoreVersion": "9.9.9"}).encode()
    with StandIn(_writes_answer(data, reply)) as app:
        r = _start(cli, data, app.url)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    (headers, body), (_, queued) = app.posts
    assert headers["x-vqs-queue-name"] == "__wkf_workflow_health_check"
    assert headers["x-vqs-message-attempt"] == "1" and headers["x-vqs-message-id"].startswith("msg_")
    assert set(body) == {"__healthCheck", "correlationId"} and re.fullmatch(r"[0-9A-Z]{26}", body["correlationId"])
    new = json.loads((data / "runs" / f"{r.json()['runId']}.json").read_text())
    assert new["specVersion"] == newest_spec
    assert new["executionContext"]["workflowCoreVersion"] == "9.9.9"  # the app's, not the newest run's
    assert queued["runInput"]["executionContext"]["workflowCoreVersion"] == "9.9.9"


@pytest.mark.parametrize(
    "answer,why",
    [
        (lambda body: 500, "HTTP 500 from POST /.well-known/workflow/v1/flow"),
        (lambda body: 200, "nothing in its stream __health_check__"),
    ],
    ids=["error-status", "no-reply"],
)
def test_an_app_that_does_not_answer_the_health_check_gets_the_newest_runs_spec_with_a_warning(
    cli, tmp_path, answer, why
):
    data = _copy(tmp_path, DEMO)
    newest = _newest(data, "demoWorkflow")
    with StandIn(answer) as app:
        r = _start(cli, data, app.url)
    assert r.exit_code == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert f"the app at {app.url} did not answer the Workflow SDK health check ({why}" in warnings[0]
    assert warnings[0].endswith(f"the new run takes spec version 3 from the newest run of the workflow ({newest})")
    assert json.loads((data / "runs" / f"{r.json()['runId']}.json").read_text())["specVersion"] == 3
    assert len(app.posts) == 2  # the health check, then the run


def test_a_plain_text_answer_is_healthy_without_a_version(cli, tmp_path):
    """An app older than spec 3 answers 'Workflow SDK "..." endpoint is healthy': the newest run's spec stays."""
    data = _copy(tmp_path, DEMO)
    with StandIn(_writes_answer(data, b'Workflow SDK "workflow" endpoint is healthy')) as app:
        r = _start(cli, data, app.url)
    assert r.exit_code == 0, r.stderr
    assert "did not answer the Workflow SDK health check (it answered without a spec version)" in r.stderr
    assert json.loads((data / "runs" / f"{r.json()['runId']}.json").read_text())["specVersion"] == 3


@pytest.mark.parametrize("spec,feature", [(5, "compressed payloads"), (9, "unknown to this wfctl")])
def test_the_version_gate_refuses_a_spec_version_the_app_reports(cli, tmp_path, spec, feature):
    data = _copy(tmp_path, DEMO)
    before = sorted(p.name for p in (data / "runs").iterdir())
    reply = json.dumps({"healthy": True, "specVersion": spec}).encode()
    with StandIn(_writes_answer(data, reply)) as app:
        r = _start(cli, data, app.url)
    assert r.exit_code == 6 and r.stdout == ""
    assert r.stderr.splitlines()[0] == (
        f"error: the app at {app.url} reports specVersion {spec} ({feature}) in its health check, wfctl starts "
        "Workflow SDK local-world runs of spec versions 3, 6 and 7 only; nothing was written"
    )
    assert len(app.posts) == 1  # the health check only: no run queued
    assert sorted(p.name for p in (data / "runs").iterdir()) == before


def test_an_unhealthy_answer_is_not_taken(cli, tmp_path):
    data = _copy(tmp_path, DEMO)
    reply = json.dumps({"healthy": False, "specVersion": 9}).encode()
    with StandIn(_writes_answer(data, reply)) as app:
        r = _start(cli, data, app.url)
    assert r.exit_code == 0, r.stderr
    assert "did not answer the Workflow SDK health check (it answered unhealthy)" in r.stderr
    assert json.loads((data / "runs" / f"{r.json()['runId']}.json").read_text())["specVersion"] == 3
