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


def _replace(path: Path, record: dict) -> None:
    """Rewrite a file the world's way: a temporary file renamed into place (runs/ changes)."""
    temp = path.with_name(path.name + ".tmp.01")
    temp.write_text(json.dumps(record, indent=2))
    os.replace(temp, path)


def _age(path: Path) -> None:
    old = time.time() - 3600
    os.utime(path, (old, old))


RUN = "wrun_01M81014TS51H8GCDZKV8CP8WA"  # completed in the recording


def test_cache_is_built_then_used_and_a_replaced_file_is_read_again(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    first = _counts(cli, world)
    data = json.loads(_cache(cache).read_text())
    assert len(data["ids"]) == 11 and first["waiting"] == 2 and data["key"] is not None
    assert data["statuses"][data["s"][data["ids"].index(RUN)]] == "completed"
    # the file now says "failed", replaced as the world replaces files: runs/ changed, the file wins
    runs = world / ".workflow-data" / "runs"
    record = json.loads((runs / f"{RUN}.json").read_text())
    record["status"] = "failed"
    _replace(runs / f"{RUN}.json", record)
    _age(runs / f"{RUN}.json")
    _age(runs)
    second = _counts(cli, world)
    assert second["failed"] == first["failed"] + 1 and second["completed"] == first["completed"] - 1
    assert _counts(cli, world) == second


def test_while_runs_is_unchanged_the_summaries_answer_and_a_change_of_it_checks_every_file(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    first = _counts(cli, world)
    path = _cache(cache)
    data = json.loads(path.read_text())
    # a lie about one run, with a time that is not its file's: believed while runs/ keeps its key (no file is
    # stat'ed, which is the point), gone once runs/ changes (every file is stat'ed, this one is read again)
    i = data["ids"].index(RUN)
    data["statuses"].append("cancelled")
    data["s"][i] = len(data["statuses"]) - 1
    data["mtimes"][i] += 1
    path.write_text(json.dumps(data))
    lied = _counts(cli, world)
    assert lied["cancelled"] == first["cancelled"] + 1 and lied["completed"] == first["completed"] - 1
    runs = world / ".workflow-data" / "runs"
    record = json.loads((runs / f"{RUN}.json").read_text())
    record["runId"] = RUN[:-1] + "Z"
    _replace(runs / f"{RUN[:-1]}Z.json", record)  # a new run renamed into runs/
    _age(runs / f"{RUN[:-1]}Z.json")
    _age(runs)
    third = _counts(cli, world)
    assert third["completed"] == first["completed"] + 1 and third["cancelled"] == first["cancelled"]


def test_a_file_rewritten_in_place_is_seen_at_the_next_full_check(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    first = _counts(cli, world)
    run_file = world / ".workflow-data" / "runs" / f"{RUN}.json"
    record = json.loads(run_file.read_text())
    record["status"] = "failed"
    run_file.write_text(json.dumps(record, indent=2))  # in place: runs/ does not change
    _age(run_file)
    assert _counts(cli, world) == first  # not seen yet: runs/ vouches for its files
    path = _cache(cache)
    data = json.loads(path.read_text())
    data["checked"] -= localcache.FULL_CHECK_SECONDS + 1  # the last full check is too old now
    path.write_text(json.dumps(data))
    second = _counts(cli, world)
    assert second["failed"] == first["failed"] + 1 and second["completed"] == first["completed"] - 1
    assert json.loads(path.read_text())["checked"] > data["checked"]  # the full check is remembered


def test_deleted_or_corrupt_cache_is_rebuilt(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    expected = _counts(cli, world)
    path = _cache(cache)
    path.unlink()
    assert _counts(cli, world) == expected and path.exists()
    good = json.loads(path.read_text())
    junk: list[bytes] = [b"{not json", b"[]", b'{"version": 1, "root": "x", "runs": {}}', b"\xff\xfe", b""]
    for change in (
        {"ids": good["ids"][:-1]},  # lengths differ
        {"s": [len(good["statuses"])] * len(good["ids"])},  # an index out of its table
        {"w": ["x"] * len(good["ids"])},  # not indexes
        {"ids": [1] * len(good["ids"])},  # not ids
        {"statuses": [5] * len(good["statuses"])},
        {"key": [1, 2]},
        {"odd": {"a": 1}},
        {"root": "/elsewhere"},
        {"checked": "yesterday"},
    ):
        junk.append(json.dumps({**good, **change}).encode())
    for bad in junk:
        path.write_bytes(bad)
        assert _counts(cli, world) == expected, bad[:80]
        assert json.loads(path.read_text())["ids"] == good["ids"]  # rebuilt whole


def test_recent_files_and_a_recently_changed_runs_dir_are_not_vouched_for(cli, world: Path) -> None:
    cache = Path(os.environ["WFCTL_CACHE_DIR"])
    runs = world / ".workflow-data" / "runs"
    os.utime(runs / f"{RUN}.json")  # just now
    first = _counts(cli, world)
    data = json.loads(_cache(cache).read_text())
    assert data["mtimes"][data["ids"].index(RUN)] == -1 and data["key"] is None  # read again next time
    _age(runs / f"{RUN}.json")
    assert _counts(cli, world) == first
    data = json.loads(_cache(cache).read_text())
    assert data["mtimes"][data["ids"].index(RUN)] > 0 and data["key"] is not None
    os.utime(runs)  # runs/ changed just now: no key until it is older than the racy window
    assert _counts(cli, world) == first and json.loads(_cache(cache).read_text())["key"] is None


def test_a_warm_dashboard_lists_runs_at_most_once_and_stats_no_run_file(cli, world: Path, monkeypatch) -> None:
    from wfctl.backends.workflow_sdk import localfs

    expected = _counts(cli, world)
    listings: list[int] = []
    real = localfs.DataDir._list_run_ids
    monkeypatch.setattr(localfs.DataDir, "_list_run_ids", lambda self: listings.append(1) or real(self))
    assert _counts(cli, world) == expected
    assert listings == []  # counts, recent runs and failures answered from the cached listing
    (world / ".workflow-data" / "runs" / "stray.txt").write_text("x")  # runs/ changed
    _age(world / ".workflow-data" / "runs")
    assert _counts(cli, world) == expected
    assert listings == [1]  # one listing for the whole command


def test_the_first_count_reports_its_progress(world: Path, tmp_path: Path, monkeypatch) -> None:
    from wfctl.backends.workflow_sdk.local import LocalWorldBackend
    from wfctl.config import resolve

    runs = world / ".workflow-data" / "runs"
    record = json.loads((runs / f"{RUN}.json").read_text())
    for i in range(1500):
        record["runId"] = f"{RUN[:-4]}{i:04d}"
        (runs / f"{record['runId']}.json").write_text(json.dumps(record))
    monkeypatch.setattr(time, "monotonic", iter(range(0, 10**6, 1)).__next__)  # every report is due
    profile = resolve(flags={"data_dir": str(world / ".workflow-data")}, env={"WFCTL_CONFIG": "/nonexistent"})
    backend = LocalWorldBackend(profile)
    seen: list[tuple[int, int]] = []
    backend.count_progress = lambda done, total: seen.append((done, total))
    counts = backend.counts()
    assert counts.total == 1511
    assert seen and all(total == 1511 and 0 < done < total for done, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


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
