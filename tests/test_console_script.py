"""The console script's start-up (docs/architecture.md, "Start-up"): the standard modules Typer imports and a
read command never uses load on first use (``wfctl._defer``), and the cycle collector stays off while start-up
builds what lives until the process ends, which is then frozen out of its sight. Timing is the benchmark's job
(``benchmarks/startup.py --reads``); these tests hold the mechanisms to what they promise."""

import gc
import json
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

from wfctl import _defer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "workflow-sdk-demo"

#: What the installed ``wfctl`` script runs, with a report written by an exit handler (the console script
#: runs them before it ends the process). ``deferred``: the modules the script found not imported yet (an
#: editable install's path hook imports a few before any script runs); ``loaded``: those of them that loaded.
REPORTING_SCRIPT = """
import atexit, gc, json, sys
from wfctl import _defer

deferred = [n for n in _defer.DEFERRED if n not in sys.modules]

def report():
    loaded = [n for n in deferred if type(sys.modules.get(n)) is not _defer._Deferred]
    sys.stderr.write("REPORT " + json.dumps({"deferred": deferred, "loaded": loaded, "gc_enabled": gc.isenabled(),
                                              "frozen": gc.get_freeze_count()}) + "\\n")

atexit.register(report)
from wfctl.cli import main
sys.argv[0] = "wfctl"
sys.exit(main())
"""


def run_console(*args: str) -> tuple[int, str, dict]:
    proc = subprocess.run(
        [sys.executable, "-c", REPORTING_SCRIPT, *args], cwd=DEMO, capture_output=True, text=True, timeout=120
    )
    reports = [line for line in proc.stderr.splitlines() if line.startswith("REPORT ")]
    assert len(reports) == 1, proc.stderr
    return proc.returncode, proc.stdout, json.loads(reports[0][len("REPORT ") :])


def recorded_run(status: str) -> str:
    for path in sorted((DEMO / ".workflow-data" / "runs").glob("wrun_*.json")):
        if json.loads(path.read_text()).get("status") == status:
            return path.stem
    raise AssertionError(f"no {status} run in {DEMO}")


@pytest.mark.parametrize(
    "command, code",
    [
        (["get", "{completed}"], 0),
        (["list"], 0),
        (["list", "-o", "table"], 0),
        (["status", "{completed}"], 0),
        (["status", "{failed}"], 10),
        (["tail", "{completed}"], 0),
        (["dashboard", "--once"], 0),
    ],
)
def test_a_read_command_loads_no_deferred_module_and_freezes_its_start_up(command: list[str], code: int) -> None:
    runs = {"completed": recorded_run("completed"), "failed": recorded_run("failed")}
    exit_code, stdout, report = run_console(*[arg.format(**runs) for arg in command])
    assert exit_code == code
    assert stdout.strip()
    assert "subprocess" in report["deferred"] and "textwrap" in report["deferred"]
    assert report["loaded"] == []
    assert report["gc_enabled"] is True
    assert report["frozen"] > 10_000  # the modules, classes and parser built before the command ran


def test_a_command_that_needs_a_deferred_module_gets_it_loaded() -> None:
    """Help wraps its text with ``textwrap``: the placeholder loads and the help is whole."""
    exit_code, stdout, report = run_console("status", "--help")
    assert exit_code == 0
    assert "Usage: wfctl status" in stdout and "--wait" in stdout
    assert "textwrap" in report["loaded"]


def test_in_process_callers_keep_their_interpreter() -> None:
    from wfctl.cli import main

    before = dict(sys.modules)
    frozen = gc.get_freeze_count()
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    assert not [name for name, module in sys.modules.items() if type(module) is _defer._Deferred]
    assert all(sys.modules.get(name) is module for name, module in before.items())


# -- the placeholder itself, on probe modules of the test's own ---------------------------------------------


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a top-level module ``name`` with ``body`` on a path of the test's own and defer it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(name: str, body: str) -> ModuleType:
        (tmp_path / f"{name}.py").write_text(body)
        assert name not in sys.modules
        _defer.install((name,))
        made.append(name)
        return sys.modules[name]

    yield make
    for name in made:
        sys.modules.pop(name, None)


def test_a_placeholder_runs_the_module_once_on_first_use(probe) -> None:
    module = probe("wfctl_probe_once", "import builtins\nbuiltins.wfctl_probe_runs += 1\nVALUE = 42\n")
    import builtins

    builtins.wfctl_probe_runs = 0  # type: ignore[attr-defined]
    try:
        assert type(module) is _defer._Deferred
        assert module.__name__ == "wfctl_probe_once" and module.__file__.endswith("wfctl_probe_once.py")
        import wfctl_probe_once  # noqa: F401  (a second import finds the placeholder and leaves it alone)

        assert sys.modules["wfctl_probe_once"] is module and type(module) is _defer._Deferred
        assert builtins.wfctl_probe_runs == 0  # type: ignore[attr-defined]
        assert module.VALUE == 42
        assert type(module) is ModuleType and builtins.wfctl_probe_runs == 1  # type: ignore[attr-defined]
        from wfctl_probe_once import VALUE

        assert VALUE == 42 and builtins.wfctl_probe_runs == 1  # type: ignore[attr-defined]
        with pytest.raises(AttributeError, match="has no attribute 'MISSING'"):
            module.MISSING  # noqa: B018
    finally:
        del builtins.wfctl_probe_runs  # type: ignore[attr-defined]


def test_the_module_code_runs_in_the_placeholder_itself(probe) -> None:
    """Functions see the placeholder's namespace as their globals, so a name set on the module (a test's
    monkeypatch) is what its functions read."""
    module = probe("wfctl_probe_globals", "LIMIT = 1\ndef limit():\n    return LIMIT\n")
    assert module.limit() == 1
    assert module.limit.__globals__ is module.__dict__
    module.LIMIT = 5
    assert module.limit() == 5


def test_from_import_loads_at_once(probe) -> None:
    probe("wfctl_probe_from", "NAME = 'probe'\n")
    from wfctl_probe_from import NAME

    assert NAME == "probe"
    assert type(sys.modules["wfctl_probe_from"]) is ModuleType


def test_two_threads_at_first_use_run_the_module_once(probe) -> None:
    """The second thread waits for the first to finish the module, instead of finding it half run."""
    started, release = threading.Event(), threading.Event()
    import builtins

    builtins.wfctl_probe_gate = (started, release)  # type: ignore[attr-defined]
    builtins.wfctl_probe_runs = 0  # type: ignore[attr-defined]
    module = probe(
        "wfctl_probe_threads",
        "import builtins\nbuiltins.wfctl_probe_runs += 1\nstarted, release = builtins.wfctl_probe_gate\n"
        "started.set()\nassert release.wait(30)\nVALUE = 'whole'\n",
    )
    seen: list[object] = []

    def read() -> None:
        try:
            seen.append(module.VALUE)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            seen.append(exc)

    try:
        first = threading.Thread(target=read)
        first.start()
        assert started.wait(30)
        second = threading.Thread(target=read)
        second.start()
        release.set()
        first.join(30)
        second.join(30)
        assert seen == ["whole", "whole"]
        assert builtins.wfctl_probe_runs == 1  # type: ignore[attr-defined]
    finally:
        release.set()
        del builtins.wfctl_probe_gate, builtins.wfctl_probe_runs  # type: ignore[attr-defined]


def test_a_module_that_fails_is_imported_afresh_next_time(probe, tmp_path: Path) -> None:
    module = probe("wfctl_probe_fails", "raise RuntimeError('broken module')\n")
    with pytest.raises(RuntimeError, match="broken module"):
        module.ANYTHING  # noqa: B018
    assert "wfctl_probe_fails" not in sys.modules
    (tmp_path / "wfctl_probe_fails.py").write_text("FIXED = True\n")
    import importlib

    importlib.invalidate_caches()
    fixed = importlib.import_module("wfctl_probe_fails")
    assert fixed is not module and fixed.FIXED is True


def test_install_leaves_alone_what_it_cannot_defer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module imported already, a package, a C extension, a built-in module and a name that is nowhere
    keep the usual import."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "wfctl_probe_pkg").mkdir()
    (tmp_path / "wfctl_probe_pkg" / "__init__.py").write_text("")
    imported = sys.modules["json"]
    names = ("json", "wfctl_probe_pkg", "_decimal", "sys", "wfctl_probe_nowhere")
    before = {name: sys.modules.get(name) for name in names}
    _defer.install(names)
    assert {name: sys.modules.get(name) for name in names} == before
    assert sys.modules["json"] is imported


def test_every_deferred_name_is_a_top_level_source_module_of_the_standard_library() -> None:
    from importlib.machinery import PathFinder, SourceFileLoader

    for name in _defer.DEFERRED:
        spec = PathFinder.find_spec(name)
        assert spec is not None and isinstance(spec.loader, SourceFileLoader), name
        assert not spec.submodule_search_locations, name
