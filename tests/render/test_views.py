"""Details of the views (README, "Output"): the Streams table names what `tail --stream=` takes, a run's end
time is named by how it ended, `get -v` prints stack traces whole, tail times carry their date unless they
are today and follow `--time`, and `-o plain` never shortens data. Exact output of the recorded Workflow SDK
world (examples/workflow-sdk-demo, recorded on 2026-11-22 around 06:45 UTC; the tests run in UTC).
"""

from __future__ import annotations

from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "workflow-sdk-demo"
SAME_DAY = "2026-11-22T07:00:00.000Z"
NEXT_DAY = "2026-11-23T07:00:00.000Z"
LOGS = "wrun_01M81014TS51H8GCDZKV8CP8WA"  # logsWorkflow, completed: a default stream and a "logs" stream
CANCELLED = "wrun_01M81014XB5XVMQTACHGNZRVGV"  # demoWorkflow, cancelled
FAILED = "wrun_01M81014HSN16EFTC3Y4G7M7QQ"  # failingWorkflow: an error with a stack trace
TICKER = "wrun_01M81014QBD9MWDEGZEYY4R2P5"  # tickerWorkflow: sleeps


def run(cli, *args: str, width: int = 80, now: str = SAME_DAY, code: int = 0, tz: str | None = None) -> str:
    env = {"COLUMNS": str(width), "WFCTL_NOW": now}
    if tz:
        env["TZ"] = tz
    r = cli(*args, cwd=DEMO, env=env)
    assert r.exit_code == code, r.stderr
    return r.stdout


def section(out: str, title: str) -> str:
    """One titled block of `get`'s output, up to the next title."""
    lines = out.splitlines()
    start = lines.index(title)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i] and lines[i][0].isupper() and " " not in lines[i].strip()),
        len(lines),
    )
    return "\n".join(lines[start:end]) + "\n"


@pytest.mark.parametrize(
    "width,expected",
    [
        (
            80,
            """\
Streams
STREAM      CHUNKS   TAIL   DONE   NAME                                       
──────────────────────────────────────────────────────────────────────────────
(default)        1      0   no     strm_01M81014TS51H8GCDZKV8CP8WA_user       
logs             3      2   yes    strm_01M81014TS51H8GCDZKV8CP8WA_user_bG9ncw
""",
        ),
        (
            60,
            """\
Streams
STREAM      CHUNKS   TAIL   DONE
────────────────────────────────
(default)        1      0   no  
logs             3      2   yes 
""",
        ),
    ],
)
def test_streams_show_what_tail_stream_takes(cli, width, expected):
    out = run(cli, "get", LOGS, "-o", "table", width=width)
    assert section(out, "Streams") == expected
    # ... and that is what reads the stream
    assert run(cli, "tail", LOGS, "--stream=logs", "-o", "table") == (
        '[0] {"level": "info", "message": "build started"}\n'
        '[1] {"level": "warn", "message": "build is slow"}\n'
        '[2] {"level": "info", "message": "build finished"}\n'
    )


def test_a_cancelled_run_is_not_completed(cli):
    out = run(cli, "get", CANCELLED, "-o", "table")
    assert out.splitlines()[:10] == [
        "╭─ workflow-sdk run ────────────────────────────────────╮",
        "│ Run          wrun_01M81014XB5XVMQTACHGNZRVGV          │",
        "│ Workflow     demoWorkflow                             │",
        "│ Workflow ID  workflow//./workflows/demo//demoWorkflow │",
        "│ Status       ⊘ cancelled                              │",
        "│ Created      2026-11-22T06:45:21.964Z  (14m ago)      │",
        "│ Started      2026-11-22T06:45:21.967Z  (14m ago)      │",
        "│ Cancelled    2026-11-22T06:45:28.137Z  (14m ago)      │",
        "│ Duration     6.2s                                     │",
        "╰───────────────────────────────────────────────────────╯",
    ]
    assert "│ Failed       2026-11-22T06:45:22.015Z  (14m ago)         │" in run(cli, "get", FAILED, "-o", "table")
    assert "│ Completed    2026-11-22T06:45:22.448Z  (14m ago)      │" in run(cli, "get", LOGS, "-o", "table")


def test_get_verbose_prints_the_stack_trace_whole(cli):
    stack = cli("get", FAILED, "-o", "json", cwd=DEMO).json()["error"]["stack"]
    assert len(stack.splitlines()) == 11 and max(map(len, stack.splitlines())) > 100
    out = run(cli, "get", FAILED, "-o", "table", "-v", width=60, code=0)
    error = section(out, "Error")
    assert error == "Error\n  [USER_ERROR] boom: bad input\n" + "".join(f"    {line}\n" for line in stack.splitlines())
    # without -v: the first lines of the message, and where the rest is
    assert section(run(cli, "get", FAILED, "-o", "table", width=60), "Error") == (
        "Error\n  [USER_ERROR] boom: bad input\n  (-v shows the stack trace)\n"
    )


TAIL_HEAD = {
    # (now, --time, TZ): the first two lines
    (SAME_DAY, "relative", None): ['06:45:21.882   run_created        ["build"]', "06:45:21.886   run_started      "],
    (NEXT_DAY, "relative", None): [
        '2026-11-22 06:45:21.882   run_created        ["build"]',
        "2026-11-22 06:45:21.886   run_started      ",
    ],
    (SAME_DAY, "iso", None): [
        '2026-11-22T06:45:21.882Z   run_created        ["build"]',
        "2026-11-22T06:45:21.886Z   run_started      ",
    ],
    (SAME_DAY, "local", "America/New_York"): [
        '2026-11-22 01:45:21.882   run_created        ["build"]',
        "2026-11-22 01:45:21.886   run_started      ",
    ],
    # 06:45 UTC is already the next day in Tokyo, and 16:00 there is still that day: no date
    ("2026-11-22T07:00:00.000Z", "relative", "Asia/Tokyo"): [
        '15:45:21.882   run_created        ["build"]',
        "15:45:21.886   run_started      ",
    ],
}


@pytest.mark.parametrize("now,time,tz", sorted(TAIL_HEAD, key=str), ids=lambda v: str(v))
def test_tail_times_carry_their_date_and_follow_time(cli, monkeypatch, now, time, tz):
    import time as time_module

    if tz:
        monkeypatch.setenv("TZ", tz)
        time_module.tzset()
    try:
        out = run(cli, "tail", LOGS, "-o", "table", "--time", time, now=now)
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time_module.tzset()
    assert out.splitlines()[:2] == TAIL_HEAD[(now, time, tz)]


def test_tail_wait_lines_show_the_resume_time_in_the_same_format(cli):
    lines = run(cli, "tail", TICKER, "-o", "table", width=100).splitlines()
    assert lines[5] == "06:45:22.158   wait_created      wait_01M81014RNYKQNY741D2XNNQTM  until 06:45:22.356"
    lines = run(cli, "tail", TICKER, "-o", "table", "--time", "iso", width=120).splitlines()
    assert lines[5] == (
        "2026-11-22T06:45:22.158Z   wait_created      wait_01M81014RNYKQNY741D2XNNQTM  until 2026-11-22T06:45:22.356Z"
    )
    # no room for the time: it is left out, not cut; the id is never cut
    lines = run(cli, "tail", TICKER, "-o", "table", width=80).splitlines()
    assert lines[5] == "06:45:22.158   wait_created      wait_01M81014RNYKQNY741D2XNNQTM"


def test_plain_output_is_never_shortened(cli):
    out = run(cli, "tail", LOGS, "-o", "plain")
    assert "…" not in out
    assert out.splitlines()[0] == (
        "2026-11-22T06:45:21.882Z\trun_created\t\t\t"
        '{"deploymentId":"dpl_local@bundled","workflowName":"workflow//./workflows/demo//logsWorkflow",'
        '"input":["build"],"executionContext":{"traceCarrier":{},"workflowCoreVersion":"4.8.9",'
        '"features":{"encryption":false}}}'
    )
    for args in (("list",), ("get", FAILED), ("status", LOGS), ("tail", FAILED), ("dashboard", "--once")):
        assert "…" not in cli(*args, "-o", "plain", cwd=DEMO).stdout


SLEEPING = "wrun_01M81013R4XC1AH1NY0GMYME33"  # demoWorkflow, suspended in sleep('1h')
HOOKED = "wrun_01M81013YYRZZA1WWQERGRNBPA"  # approvalWorkflow, waiting on hook approval:doc1
SLEEP_JSON = (
    '{"kind":"sleep","until":"2026-11-22T07:45:21.823Z","correlationId":"wait_01M81013WBR6AQ01MVPAMHA8W6",'
    f'"token":null,"name":null,"hint":"wfctl wake {SLEEPING}"}}'
)
HOOK_JSON = (
    '{"kind":"hook","until":null,"correlationId":"hook_01M810141M45BQ8130EBZZFV7R","token":"approval:doc1",'
    '"name":null,"hint":"resumeHook(\\"approval:doc1\\", payload) in the app"}'
)


def test_waiting_runs_in_plain_rows_and_fields(cli):
    """README, "Output": a waiting run's plain row ends with what it waits for as compact JSON; --fields
    chooses the columns; a waitingFor cell in a table is one short line."""
    assert run(cli, "status", SLEEPING, FAILED, HOOKED, code=10) == (
        f"{SLEEPING}\twaiting\t{SLEEP_JSON}\n{FAILED}\tfailed\n{HOOKED}\twaiting\t{HOOK_JSON}\n"
    )
    lines = run(cli, "list", "--status", "waiting").splitlines()
    assert [line.split("\t")[:3] + line.split("\t")[6:] for line in lines] == [
        [HOOKED, "approvalWorkflow", "waiting", HOOK_JSON],
        [SLEEPING, "demoWorkflow", "waiting", SLEEP_JSON],
    ]
    assert run(cli, "list", "--status", "waiting", "--fields", "runId,status") == (
        f"{HOOKED}\twaiting\n{SLEEPING}\twaiting\n"
    )
    assert run(cli, "list", "--status", "waiting", "--fields", "runId,status,waitingFor", "-o", "table", width=100) == (
        "runId                             status              waitingFor        \n"
        "────────────────────────────────────────────────────────────────────────\n"
        f"{HOOKED}   ◑ waiting (hook)    hook approval:doc1\n"
        f"{SLEEPING}   ◑ waiting (sleep)   sleep until in 45m\n"
    )
    assert run(cli, "list", "--status", "waiting", "--fields", "runId,waitingFor", "-o", "table", "--time", "iso") == (
        "runId                             waitingFor                          \n"
        "──────────────────────────────────────────────────────────────────────\n"
        f"{HOOKED}   hook approval:doc1                  \n"
        f"{SLEEPING}   sleep until 2026-11-22T07:45:21.823Z\n"
    )


def test_get_waiting_rows_follow_time(cli):
    def rows(*args: str) -> list[str]:
        out = run(cli, "get", SLEEPING, "-o", "table", *args)
        return [line for line in out.splitlines() if line.startswith(("│ Waiting", "│ Resume"))]

    assert [r.rstrip(" │") for r in rows()] == [
        "│ Waiting      sleep until 2026-11-22T07:45:21.823Z  (in 45m)",
        f"│ Resume       wfctl wake {SLEEPING}",
    ]
    assert rows("--time", "iso")[0].rstrip(" │") == "│ Waiting      sleep until 2026-11-22T07:45:21.823Z"
    assert rows("--time", "local")[0].rstrip(" │") == "│ Waiting      sleep until 2026-11-22 07:45:21"
