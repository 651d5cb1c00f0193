"""The dashboard's run-file summaries kept in the user cache directory (localcache.py): never trusted over the
files, safe to delete, a corrupt file ignored and rebuilt, several processes at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wfctl.backends.workflow_sdk import localcache

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "workflow-sdk-demo"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    shutil.copytree(DEMO, tmp_path / "w")
    old = time.time() - 3600  # past the racy window: summaries are kept
    for path in (tmp_path / "w" / ".workflow-data").rglob("*"):
        os.utime(path, (old, old))
    return tmp_path / "w"


def _counts(cli, world: Path) -> dict:
    r = cli("dashboard", "--once", "-o", "json", cwd=world)
    assert r.exit_code == 0, r.stderr
    return r.json()["counts"]


def _cache(cache: Path) -> Path:
    files = list((cache / "local-world").glob("runs-*.json"))
    assert len(files) == 1
    return files[0]


def test_cache_is_built_then_used_and_a_changed_file_is_read_again(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    first = _counts(cli, world)
    entries = json.loads(_cache(cache).read_text())["runs"]
    assert len(entries) == 11 and first["waiting"] == 2
    # the cache says "completed" for a run whose file now says "failed" with another size: the file wins
    run_file = world / ".workflow-data" / "runs" / "wrun_01M81014TS51H8GCDZKV8CP8WA.json"
    record = json.loads(run_file.read_text())
    record["status"] = "failed"
    run_file.write_text(json.dumps(record, indent=2))
    second = _counts(cli, world)
    assert second["failed"] == first["failed"] + 1 and second["completed"] == first["completed"] - 1
    # a lie in the cache with the right size and time is believed only because nothing changed: same counts
    assert _counts(cli, world) == second


def test_deleted_or_corrupt_cache_is_rebuilt(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    expected = _counts(cli, world)
    path = _cache(cache)
    path.unlink()
    assert _counts(cli, world) == expected and path.exists()
    for junk in (b"{not json", b"[]", b'{"version": 1, "root": "x", "runs": {}}', b"\xff\xfe", b""):
        path.write_bytes(junk)
        assert _counts(cli, world) == expected
    data = json.loads(path.read_text())
    data["runs"] = {name: ["x", None, 5, 6] for name in data["runs"]}  # wrong types: ignored entries
    path.write_text(json.dumps(data))
    assert _counts(cli, world) == expected
    assert json.loads(path.read_text())["runs"]["wrun_01M81014TS51H8GCDZKV8CP8WA.json"][2] == "completed"


def test_recent_files_are_not_kept(tmp_path: Path) -> None:
    summaries = localcache.RunSummaries(tmp_path / "c.json", tmp_path)
    summaries.put("old.json", 10, 1_000_000_000, "completed", "w")
    summaries.put("new.json", 10, time.time_ns(), "running", "w")
    summaries.save()
    again = localcache.RunSummaries(tmp_path / "c.json", tmp_path)
    assert again.get("old.json", 10, 1_000_000_000) == ("completed", "w")
    assert again.get("old.json", 11, 1_000_000_000) is None  # another size: read the file
    assert again.get("new.json", 10, 0) is None


def test_several_processes_at_once(world: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    env = {**os.environ, "WFCTL_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wfctl.cli", "dashboard", "--once", "-o", "json"],
            cwd=world,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    counts = {json.dumps(json.loads(o[0])["counts"], sort_keys=True) for o in outs}
    assert len(counts) == 1
    assert [p.name for p in (cache / "local-world").iterdir()] == [_cache(cache).name]  # no temporary left
    json.loads(_cache(cache).read_text())  # one whole version
