"""Narrow terminals: ids and times keep their full width, names and messages give way first, and a column
that cannot fit is dropped, not shortened (README, "Output"; wfctl/render/layout.py). Exact output of the
recorded Workflow SDK world (examples/workflow-sdk-demo) at 60 and 80 columns.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.text import Text

from wfctl.render.layout import Column, fit, shown

DEMO = Path(__file__).resolve().parents[2] / "examples" / "workflow-sdk-demo"
NOW = "2026-11-22T07:00:00.000Z"


def table(cli, *args: str, width: int) -> str:
    r = cli("-o", "table", *args, cwd=DEMO, env={"COLUMNS": str(width), "WFCTL_NOW": NOW})
    assert r.exit_code == 0, r.stderr
    return r.stdout


LIST = {
    (80, "relative"): """\
RUN ID                            WORKFLOW           STATUS        CREATED
──────────────────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   approvalWorkflow   ⊘ cancelled   14m ago
wrun_01M81014XB5XVMQTACHGNZRVGV   demoWorkflow       ⊘ cancelled   14m ago
wrun_01M81014TS51H8GCDZKV8CP8WA   logsWorkflow       ✓ completed   14m ago
""",
    (80, "iso"): """\
RUN ID                            STATUS        CREATED                 
────────────────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   ⊘ cancelled   2026-11-22T06:45:22.006Z
wrun_01M81014XB5XVMQTACHGNZRVGV   ⊘ cancelled   2026-11-22T06:45:21.964Z
wrun_01M81014TS51H8GCDZKV8CP8WA   ✓ completed   2026-11-22T06:45:21.882Z
""",
    (80, "local"): """\
RUN ID                            WORKFLOW     STATUS        CREATED            
────────────────────────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   approvalW…   ⊘ cancelled   2026-11-22 06:45:22
wrun_01M81014XB5XVMQTACHGNZRVGV   demoWorkf…   ⊘ cancelled   2026-11-22 06:45:21
wrun_01M81014TS51H8GCDZKV8CP8WA   logsWorkf…   ✓ completed   2026-11-22 06:45:21
""",
    (60, "relative"): """\
RUN ID                            STATUS        CREATED
───────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   ⊘ cancelled   14m ago
wrun_01M81014XB5XVMQTACHGNZRVGV   ⊘ cancelled   14m ago
wrun_01M81014TS51H8GCDZKV8CP8WA   ✓ completed   14m ago
""",
    # CREATED cannot fit whole: it is dropped, and the name comes back in the room it leaves.
    (60, "iso"): """\
RUN ID                            WORKFLOW       STATUS     
────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   approvalWor…   ⊘ cancelled
wrun_01M81014XB5XVMQTACHGNZRVGV   demoWorkflow   ⊘ cancelled
wrun_01M81014TS51H8GCDZKV8CP8WA   logsWorkflow   ✓ completed
""",
}


@pytest.mark.parametrize("width,time", sorted(LIST), ids=[f"{w}-{t}" for w, t in sorted(LIST)])
def test_list_on_the_recording(cli, width, time):
    assert table(cli, "list", "--limit", "3", "--time", time, width=width) == LIST[(width, time)]


def test_list_at_100_columns_adds_the_duration(cli):
    assert (
        table(cli, "list", "--limit", "2", width=100)
        == """\
RUN ID                            WORKFLOW           STATUS        CREATED   DURATION
─────────────────────────────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   approvalWorkflow   ⊘ cancelled   14m ago        10s
wrun_01M81014XB5XVMQTACHGNZRVGV   demoWorkflow       ⊘ cancelled   14m ago       6.2s
"""
    )


def test_dashboard_recent_runs_at_80_iso(cli):
    out = table(cli, "dashboard", "--once", "--time", "iso", width=80)
    recent = out.split("Recent runs\n", 1)[1].split("Latest failures\n")
    # the hook-waiting run among the recent ones widens STATUS to "◑ waiting (hook)"; the workflow has no room
    assert recent[0].splitlines()[:4] + recent[0].splitlines()[-1:] == [
        "RUN ID                            STATUS             CREATED                 ",
        "─────────────────────────────────────────────────────────────────────────────",
        "wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   ⊘ cancelled        2026-11-22T06:45:22.006Z",
        "wrun_01M81014XB5XVMQTACHGNZRVGV   ⊘ cancelled        2026-11-22T06:45:21.964Z",
        "wrun_01M81013YYRZZA1WWQERGRNBPA   ◑ waiting (hook)   2026-11-22T06:45:20.992Z",
    ]
    assert recent[1] == "wrun_01M81014HSN16EFTC3Y4G7M7QQ  boom: bad input\n"


ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LOCAL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.mark.parametrize("time", ["relative", "iso", "local"])
@pytest.mark.parametrize("command", ["list", "dashboard"])
def test_no_width_cuts_an_id_or_a_time(cli, command, time):
    ids = cli("list", "-o", "id", "--limit", "100", cwd=DEMO).stdout.split()
    for width in range(46, 141, 3):
        args = ("list", "--limit", "100") if command == "list" else ("dashboard", "--once")
        out = table(cli, *args, "--time", time, width=width)
        assert all(len(line) <= width for line in out.splitlines()), width
        rows = [line for line in out.splitlines() if line.startswith("wrun_")]
        assert rows and all(row.split()[0] in ids for row in rows), width
        assert "…" not in "".join(row.split()[0] for row in rows)
        times = ISO if time == "iso" else LOCAL if time == "local" else None
        if times and "CREATED" in out:
            assert all(times.search(row) for row in rows if "boom" not in row), width


def test_fields_tables_keep_ids_and_times_whole(cli):
    args = ("list", "--limit", "2", "--fields", "runId,workflowId,createdAt,status", "--time", "iso")
    # ids, times and statuses join before names: at 80 columns the workflow's full name has no room left
    assert (
        table(cli, *args, width=80)
        == """\
runId                             createdAt                  status     
────────────────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   2026-11-22T06:45:22.006Z   ⊘ cancelled
wrun_01M81014XB5XVMQTACHGNZRVGV   2026-11-22T06:45:21.964Z   ⊘ cancelled
"""
    )
    assert (
        table(cli, *args, width=100)
        == """\
runId                             workflowId                  createdAt                  status     
────────────────────────────────────────────────────────────────────────────────────────────────────
wrun_01M81014YNKJFXJ0NSSJ1X6Y3E   workflow//./workflows/de…   2026-11-22T06:45:22.006Z   ⊘ cancelled
wrun_01M81014XB5XVMQTACHGNZRVGV   workflow//./workflows/de…   2026-11-22T06:45:21.964Z   ⊘ cancelled
"""
    )


# -- the layout rules themselves ------------------------------------------------------------------------


def col(header: str, *cells: str, **kw) -> Column:
    return Column(header, [Text(c) for c in cells], **kw)


def test_fit_shrinks_names_before_dropping_anything():
    cols = [
        col("ID", "x" * 20, rank=0, fold=True),
        col("NAME", "n" * 30, flex=True, rank=2, min=8),
        col("WHEN", "2026-11-22T06:45:22.006Z", rank=1),
    ]
    assert [(c.header, w) for c, w in fit(cols, 80)] == [("ID", 20), ("NAME", 30), ("WHEN", 24)]
    assert [(c.header, w) for c, w in fit(cols, 60)] == [("ID", 20), ("NAME", 10), ("WHEN", 24)]
    # the name below its minimum: dropped; the time never shrinks
    assert [(c.header, w) for c, w in fit(cols, 50)] == [("ID", 20), ("WHEN", 24)]
    # the time cannot fit: dropped, and the name takes the room
    assert [(c.header, w) for c, w in fit(cols, 40)] == [("ID", 20), ("NAME", 17)]


def test_fit_optional_columns_only_when_everything_fits_whole():
    cols = [
        col("ID", "x" * 20, rank=0),
        col("NAME", "n" * 30, flex=True, rank=1),
        col("DURATION", "40m52s", rank=2, optional=True),
    ]
    assert shown(fit(cols, 63)) == ["ID", "NAME"]
    assert shown(fit(cols, 64)) == ["ID", "NAME", "DURATION"]


def test_fit_wraps_only_outlandish_ids():
    ids = col("ID", "wrun_01M81014YNKJFXJ0NSSJ1X6Y3E", "evil-" + "x" * 70, rank=0, fold=True)
    cols = [ids, col("STATUS", "⊘ cancelled", rank=1)]
    # the ordinary ids set the width; the 75-cell one wraps inside it
    assert [(c.header, w) for c, w in fit(cols, 60)] == [("ID", 46), ("STATUS", 11)]
    assert [(c.header, w) for c, w in fit(cols, 120)] == [("ID", 75), ("STATUS", 11)]
