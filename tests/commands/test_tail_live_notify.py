"""``tail --live`` on the local world with file-system notifications and with the polling fallback: every
appended event is printed exactly once, in order, and the tail ends when the run does
(wfctl/backends/workflow_sdk/localwatch.py; docs/architecture.md, "Workflow SDK local world")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from wfctl.backends.workflow_sdk import localwatch

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "workflow-sdk-demo"
RUN = "wrun_01M81013R4XC1AH1NY0GMYME33"  # sleeping in the recording


def _write(path: Path, record: dict[str, Any]) -> None:
    """As world-local writes: a temporary file renamed into place."""
    temp = path.with_name(path.name + ".tmp-test")
    temp.write_text(json.dumps(record, indent=2))
    os.rename(temp, path)


def _event(data: Path, n: int, event_type: str = "wait_created", **extra: Any) -> str:
    event_id = f"evnt_01ZZ{n:022d}"
    record = {
        "eventType": event_type,
        "specVersion": 3,
        "runId": RUN,
        "eventId": event_id,
        "createdAt": "2026-11-22T06:46:00.000Z",
        **extra,
    }
    _write(data / "events" / f"{RUN}-{event_id}.json", record)
    return event_id


def _complete(data: Path) -> None:
    run_file = data / "runs" / f"{RUN}.json"
    run = json.loads(run_file.read_text())
    run.update(status="completed", completedAt="2026-11-22T06:47:00.000Z")
    _write(run_file, run)


def _append_events(data: Path, appended: int = 25) -> list[str]:
    ids = []
    for n in range(appended):
        ids.append(_event(data, n, correlationId=f"wait_t{n}", eventData={"resumeAt": "2099-01-01T00:00:00Z"}))
        if n % 5 == 0:
            time.sleep(0.03)  # some alone, some in bursts
    _complete(data)
    ids.append(_event(data, appended, "run_completed", eventData={}))
    return ids


def _tail_live(
    tmp_path: Path, env_extra: dict[str, str], append: Callable[[Path], list[str]], stream: bool = False
) -> tuple[list[str], list[str], str, int]:
    """``tail RUN --live -o jsonl`` (``--stream``: of RUN's default stream) on a copy of the recorded world while
    ``append`` writes to it and ends the run: the offsets printed, those written, stderr and the exit code."""
    world = tmp_path / "world"
    shutil.copytree(DEMO, world)
    data = world / ".workflow-data"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *env_extra.pop("PYTHONPATH", "").split(os.pathsep)])}
    env.update(env_extra)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wfctl.cli", "tail", RUN, *(["--stream"] if stream else []), "--live", "-o", "jsonl"],
        cwd=world,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    caught_up = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            record = json.loads(line)
            if record["kind"] in ("event", "chunk"):
                lines.append(record["offset"])
            caught_up.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert caught_up.wait(30), "the catch-up printed nothing"
        ids = append(data)
        code = proc.wait(timeout=30)  # the run ended: so does the tail, by itself
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    stderr = proc.stderr.read() if proc.stderr else ""
    return lines, ids, stderr, code


def _follow(tmp_path: Path, env_extra: dict[str, str]) -> tuple[list[str], list[str], str, int]:
    return _tail_live(tmp_path, env_extra, _append_events)


def _assert_each_once_in_order(lines: list[str], ids: list[str]) -> None:
    live = [offset for offset in lines if offset.startswith("evnt_01ZZ")]
    assert live == ids
    assert len(lines) == len(set(lines))


def test_tail_live_with_notifications_prints_every_event_once_in_order(tmp_path: Path) -> None:
    lines, ids, stderr, code = _follow(tmp_path, {})
    _assert_each_once_in_order(lines, ids)
    assert code == 0 and "polling" not in stderr


def test_tail_live_polling_when_asked(tmp_path: Path) -> None:
    lines, ids, stderr, code = _follow(tmp_path, {"WFCTL_LOCAL_WATCH": "poll"})
    _assert_each_once_in_order(lines, ids)
    assert code == 0


def test_tail_live_polls_when_watchfiles_is_missing(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "watchfiles"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('watchfiles is not installed here')\n")
    lines, ids, stderr, code = _follow(tmp_path, {"PYTHONPATH": str(shadow.parent)})
    _assert_each_once_in_order(lines, ids)
    assert code == 0 and stderr == ""  # the documented fallback, silently


def test_waiter_falls_back_to_polling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # import fails
    waiter = localwatch.waiter([tmp_path], lambda p: True, "r.json", warnings.append, [tmp_path])
    assert isinstance(waiter, localwatch.DirPoller) and warnings == []
    monkeypatch.delitem(sys.modules, "watchfiles")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no inotify watches left")

    monkeypatch.setattr(localwatch.Notifier, "__init__", broken)
    waiter = localwatch.waiter([tmp_path], lambda p: True, "r.json", warnings.append, [tmp_path])
    assert isinstance(waiter, localwatch.DirPoller)
    assert warnings == ["file-system notifications unavailable (no inotify watches left); polling every 0.15s"]
    monkeypatch.setenv("WFCTL_LOCAL_WATCH", "poll")
    waiter = localwatch.waiter([tmp_path], lambda p: True, "r.json", warnings.append, [])
    assert isinstance(waiter, localwatch.DirPoller)


def test_notifier_wakes_on_relevant_paths_only(tmp_path: Path) -> None:
    notifier = localwatch.Notifier([tmp_path], lambda p: os.path.basename(p).startswith("mine-"), "run.json")
    try:
        first = notifier.wait()  # right after the start: look at everything once
        assert first.entries and first.run
        (tmp_path / "other-1.json").write_text("{}")
        (tmp_path / "mine-1.json").write_text("{}")
        look = notifier.wait()
        assert look.entries and not look.run
        (tmp_path / "run.json").write_text("{}")
        look = notifier.wait()
        assert look.run
        started = time.monotonic()
        look = notifier.wait()  # nothing happens: the safety look after SAFETY_INTERVAL
        assert look.entries and look.run and time.monotonic() - started >= localwatch.SAFETY_INTERVAL * 0.9
    finally:
        notifier.close()


# -- stream chunks (tail --stream --live) --------------------------------------------------------------------

STREAM = "strm_01M81013R4XC1AH1NY0GMYME33_user"  # RUN's default stream: two chunks in the recording


def _chunk(data: Path, n: int, per_stream_dir: bool) -> str:
    """A chunk file as world-local writes it: 4.x flat (``<stream>-chnk_<ULID>.bin``) or 5.0 in the stream's own
    directory (``<stream>/chnk_<ULID>.bin``), a temporary file renamed into place."""
    chunk_id = f"chnk_01ZZ{n:022d}"
    payload = f'devl["live {n}"]'.encode()
    body = b"\x00" + len(payload).to_bytes(4, "big") + payload
    directory = data / "streams" / "chunks" / STREAM if per_stream_dir else data / "streams" / "chunks"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (f"{chunk_id}.bin" if per_stream_dir else f"{STREAM}-{chunk_id}.bin")
    temp = path.with_name(path.name + ".tmp-test")
    temp.write_bytes(body)
    os.rename(temp, path)
    return chunk_id


def _append_chunks(per_stream_dir: bool) -> Callable[[Path], list[str]]:
    def append(data: Path) -> list[str]:
        assert not (data / "streams" / "chunks" / STREAM).exists()  # a 5.0 directory appears with its first chunk
        ids = []
        for n in range(20):
            ids.append(_chunk(data, n, per_stream_dir))
            if n % 5 == 0:
                time.sleep(0.03)  # some alone, some in bursts
        _complete(data)  # the tail drains the stream and ends by itself
        return ids

    return append


@pytest.mark.parametrize("per_stream_dir", [False, True], ids=["4.x flat", "5.0 own directory"])
@pytest.mark.parametrize("watch", ["notify", "poll"])
def test_tail_stream_live_prints_every_chunk_once_in_order(tmp_path: Path, watch: str, per_stream_dir: bool) -> None:
    env = {"WFCTL_LOCAL_WATCH": "poll"} if watch == "poll" else {}
    offsets, ids, stderr, code = _tail_live(tmp_path, env, _append_chunks(per_stream_dir), stream=True)
    assert offsets[2:] == ids, offsets
    assert len(offsets) == len(set(offsets)) == 2 + len(ids)
    assert code == 0 and "polling" not in stderr, stderr
