"""The dashboard off a terminal — snapshots, and one line per change with --live (README, "Commands")."""

from tests.doubles.memory_backend import MemoryBackend
from wfctl.output import OutputOptions
from wfctl.render.live import run_dashboard


def test_live_lines_print_each_change_once(memory_world, capsys, config_file):
    memory_world.add("a", "running", script=["running", "running", "completed"])
    memory_world.add("b", "pending", minutes=1)
    from wfctl.config import resolve

    backend = MemoryBackend(resolve(flags={"backend": "memory"}, env={"WFCTL_CONFIG": str(config_file)}))

    def counts_and_advance(workflow=None):
        memory_world.advance("a")
        return MemoryBackend.counts(backend, workflow)

    backend.counts = counts_and_advance
    run_dashboard(
        backend, None, OutputOptions(format="plain"), workflow=None, interval=0.001, recent=10, lines=True, max_ticks=5
    )
    lines = capsys.readouterr().out.splitlines()
    changes = [line.split("\t")[1:] for line in lines]
    assert changes == [
        ["a", "demo", "new->running"],
        ["b", "demo", "new->pending"],
        ["a", "demo", "running->completed"],
    ]


def test_dashboard_plain_snapshot_off_tty(cli, memory_world):
    memory_world.add("a", "running")
    memory_world.add("b", "failed", error="kaput")
    r = cli("--backend", "memory", "dashboard")
    assert r.exit_code == 0
    assert "running\t1" in r.stdout and "failed\t1" in r.stdout and "total\t2" in r.stdout
    assert "\x1b" not in r.stdout


def test_dashboard_unsupported_backend_exit_6(cli, memory_world, monkeypatch):
    monkeypatch.setattr(MemoryBackend, "capabilities", frozenset({"get"}))
    r = cli("--backend", "memory", "dashboard", "--once")
    assert r.exit_code == 6
