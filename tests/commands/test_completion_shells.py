"""Shell completion in the real shells (README, "Install"): the scripts ``wfctl completion bash|zsh|fish`` prints,
installed where the README says, driven by bash, zsh and fish themselves.

* **bash** (with the ``bash-completion`` package): the script in ``~/.local/share/bash-completion/completions/wfctl``
  loaded by bash-completion's on-demand loader, and ``source <(wfctl completion bash)``; the completion function
  is called the way readline calls it (``COMP_LINE``, ``COMP_POINT``, ``COMP_WORDS`` split at bash's word breaks,
  ``COMP_CWORD``) and ``COMPREPLY`` is printed.
* **zsh**: the script as ``_wfctl`` in a directory of ``fpath`` before ``compinit`` (``#compdef`` on line 1 is
  what registers it), and ``source <(wfctl completion zsh)`` after ``compinit``. An interactive ``zsh -f`` runs in
  a pseudo-terminal (``zpty``); the test types the line and a TAB, and a ``compadd`` wrapper prints what the real
  completion system adds (``builtin compadd -A``: the matches after zsh's own filtering, file names included).
* **fish**: the script in ``~/.config/fish/completions/wfctl.fish``; ``complete -C LINE`` prints the candidates.

Every case runs with a temporary config (profiles ``ops``, current, and ``dev``), a temporary run-id cache
(``WFCTL_CACHE_DIR``) and a working directory holding a file and a directory, so a file name offered where none
belongs shows. The engine configured is unreachable: TAB must never touch it. The shells come from Debian packages
(``tests/run`` installs them as root); a missing one is ``peer_missing`` (a failure under CI).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_rule import peer_missing
from tests.doubles.net import closed_port
from wfctl.app import completion_script
from wfctl.model import STATUSES
from wfctl.output import FORMATS
from wfctl.render import RUN_FIELDS

pytestmark = pytest.mark.live

RUN_IDS = ["wrun_01HAAA1", "wrun_01HAAB2", "wrun_01HXYZ3"]
PROFILES = {"ops", "dev"}
SUBCOMMANDS = {
    "get",
    "list",
    "status",
    "cancel",
    "wake",
    "resume",
    "tail",
    "dashboard",
    "start",
    "rerun",
    "completion",
    "config",
}
DEADLINE = 60  # seconds for one shell process: a hang fails instead of stalling the suite

#: (line typed before TAB, the candidates) — the same in every shell, but for the few cases below.
CASES: list[tuple[str, set[str]]] = [
    ("wfctl get ", set(RUN_IDS)),
    ("wfctl tail wrun_01HAA", {"wrun_01HAAA1", "wrun_01HAAB2"}),
    ("wfctl status wrun_01HAAA1 ", {"wrun_01HAAB2", "wrun_01HXYZ3"}),  # the ids not on the line yet
    ("wfctl list --status ", set(STATUSES)),
    ("wfctl cancel -s f", {"failed"}),
    ("wfctl -o ", set(FORMATS)),
    ("wfctl list -o ", set(FORMATS)),
    ("wfctl list -o j", {"json", "jsonl"}),
    ("wfctl config use ", PROFILES),
    ("wfctl -p ", PROFILES),
    ("wfctl get wrun_01HAAA1 -p ", PROFILES),
    ("wfctl completion ", {"bash", "zsh", "fish"}),
    ("wfctl list --fields ", set(RUN_FIELDS)),
    ("wfctl list --fields runId,st", {"runId,status", "runId,startedAt", "runId,steps", "runId,streams"}),
    ("wfctl --time ", {"relative", "iso", "local"}),
    ("wfctl get wrun_01HAAA1 --color ", {"auto", "always", "never"}),
    ("wfctl get wrun_01HAAA1 --co", {"--color"}),
    ("wfctl ", SUBCOMMANDS),
    ("wfctl config ", {"view", "use", "set", "profiles", "path", "doctor"}),
    # free text and filled arguments: nothing, and above all no file names
    ("wfctl start demo ", set()),
    ("wfctl cancel --reason ", set()),
    ("wfctl --url ", set()),
    ("wfctl get wrun_01HAAA1 ", set()),
    # where a path is meant, the shell's own file completion (a file "afile" and a directory "adir" are here)
    ("wfctl --data-dir ", {"adir"}),
    ("wfctl start demo --input-file ", {"adir", "afile"}),
]
#: ``--opt=value``: bash completes what follows "=" (readline's word break), zsh and fish the whole word.
EQUALS_CASES = [
    ("wfctl list --status=ru", {"running"}, {"--status=running"}),
    ("wfctl get wrun_01HAAA1 --output=js", {"json", "jsonl"}, {"--output=json", "--output=jsonl"}),
    ("wfctl --data-dir=a", {"adir"}, {"--data-dir=adir"}),
]
ALL_CASES = [(line, want, want, want) for line, want in CASES] + [
    (line, bash, other, other) for line, bash, other in EQUALS_CASES
]


def need(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        peer_missing(f"{shell} (Debian package {shell}; tests/run installs it when run as root)")
    assert path is not None
    return path


@pytest.fixture
def home(tmp_path: Path, isolated_env: Path) -> Path:
    """A home with the config and the cache, a ``wfctl`` on PATH, and a working directory with a file and a
    directory."""
    home = tmp_path / "home"
    (home / "work" / "adir").mkdir(parents=True)
    (home / "work" / "afile").write_text("{}\n")
    (home / "config.toml").write_text(
        'current_profile = "ops"\n[profiles.ops]\nbackend = "temporal"\n[profiles.dev]\nbackend = "flue"\n'
    )
    (home / "cache").mkdir()
    (home / "cache" / "recent-run-ids").write_text("\n".join(RUN_IDS) + "\n")
    bin_dir = home / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "wfctl"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m wfctl.cli "$@"\n')
    shim.chmod(0o755)
    return home


def shell_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASH", "ZDOTDIR", "XDG_", "fish_"))}
    env.update(
        HOME=str(home),
        PATH=f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        WFCTL_CONFIG=str(home / "config.toml"),
        WFCTL_CACHE_DIR=str(home / "cache"),
        # an engine TAB must never reach: nothing listens there
        WFCTL_BACKEND="temporal",
        WFCTL_URL=f"http://127.0.0.1:{closed_port()}",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        TERM="dumb",
        LC_ALL="C.UTF-8",
    )
    return env


def run(argv: list[str], home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=home / "work", env={**shell_env(home), **env}, capture_output=True, text=True, timeout=DEADLINE
    )


# -- bash ------------------------------------------------------------------------------------------------------

BASH_BREAKS = "\"'><=;|&(:"


def bash_words(line: str) -> list[str]:
    """COMP_WORDS as bash splits the line: at blanks, and around its word-break characters (``=`` and ``:``)."""
    words: list[str] = []
    for blank_separated in line.split():
        for piece in re.split(r"([=:])", blank_separated):
            if piece:
                words.append(piece)
    if line.endswith(" "):
        words.append("")
    return words


def bash_driver(lines: list[str]) -> str:
    calls = []
    for line in lines:
        words = bash_words(line)
        calls.append(
            f"COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}; "
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}; COMPREPLY=(); "
            f"_wfctl_completion wfctl {shlex.quote(words[-1])} {shlex.quote(words[-2])}; "
            "printf '%s\\n' \"${COMPREPLY[@]}\"; echo '<END>'"
        )
    return "\n".join(calls) + "\n"


@pytest.mark.parametrize("install", ["bash-completion", "source"])
def test_bash(home: Path, install: str) -> None:
    bash = need("bash")
    lines = [case[0] for case in ALL_CASES]
    if install == "bash-completion":
        loader = Path("/usr/share/bash-completion/bash_completion")
        if not loader.exists():
            peer_missing("bash-completion (Debian package bash-completion; tests/run installs it when run as root)")
        target = home / ".local" / "share" / "bash-completion" / "completions" / "wfctl"
        target.parent.mkdir(parents=True)
        target.write_text(completion_script("bash"))
        setup = f'source {loader}\n_completion_loader wfctl\ncomplete -p wfctl\necho "<END>"\n'
    else:
        setup = 'source <(wfctl completion bash)\ncomplete -p wfctl\necho "<END>"\n'
    out = run([bash, "--norc", "--noprofile", "-c", setup + bash_driver(lines)], home)
    assert out.returncode == 0, out.stderr
    spec, *answers = out.stdout.split("<END>\n")
    assert spec.strip().splitlines()[-1] == "complete -F _wfctl_completion wfctl"
    assert len(answers) == len(ALL_CASES) + 1  # and what follows the last <END>
    for (line, want, _, _), answer in zip(ALL_CASES, answers[:-1], strict=True):
        got = {w.rstrip("/") for w in answer.splitlines() if w}
        assert got == want, f"bash: {line!r}"


# -- zsh -------------------------------------------------------------------------------------------------------

ZSH_SETUP = r"""
PS1='' RPS1=''
{load}
print -r -- "<COMPS>${{_comps[wfctl]}}</COMPS>"
compadd() {{
    # options -O, -A or -D only collect matches: pass them through; anything else, print what the real
    # compadd adds (after zsh's own matching)
    if [[ ${{@[1,(i)(-|--)]}} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
    local -a hits
    builtin compadd -A hits "$@"
    local ret=$?
    (( $#hits )) && print -rl -- "<HIT>$IPREFIX"${{^hits}}"</HIT>"
    return ret
}}
_wfctl_test_done() {{ print -r -- "<DONE>"; exit }}
comppostfuncs=(_wfctl_test_done)
print -r -- "<READY>"
"""

ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 3
zpty shell zsh -f -i
zpty -w shell "source ${(q)1}"
zpty -r shell out '*<READY>*'
print -r -- "$out"
zpty -w -n shell "$2"$'\t'
zpty -r shell out '*<DONE>*'
print -r -- "$out"
zpty -d shell
"""


def zsh_complete(home: Path, line: str, install: str) -> tuple[str, set[str]]:
    zsh = need("zsh")
    if install == "fpath":
        fdir = home / ".zfunc"
        fdir.mkdir(exist_ok=True)
        (fdir / "_wfctl").write_text(completion_script("zsh"))
        load = f"fpath=({fdir} $fpath)\nautoload -Uz compinit && compinit -u -D"
    else:
        load = "autoload -Uz compinit && compinit -u -D\nsource <(wfctl completion zsh)"
    setup = home / "setup.zsh"
    setup.write_text(ZSH_SETUP.format(load=load))
    driver = home / "driver.zsh"
    driver.write_text(ZSH_DRIVER)
    out = run([zsh, "-f", str(driver), str(setup), line], home)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout.replace("\r", "")
    comps = re.search(r"<COMPS>(.*?)</COMPS>", text)
    return (comps.group(1) if comps else ""), set(re.findall(r"<HIT>(.*?)</HIT>", text))


@pytest.mark.parametrize(("line", "want"), [(case[0], case[2]) for case in ALL_CASES])
def test_zsh_fpath(home: Path, line: str, want: set[str]) -> None:
    comps, got = zsh_complete(home, line, "fpath")
    assert comps == "_wfctl", "compinit did not register _wfctl from its #compdef line"
    assert {w.rstrip("/") for w in got} == want


@pytest.mark.parametrize(("line", "want"), [(case[0], case[2]) for case in ALL_CASES[:3] + ALL_CASES[-3:]])
def test_zsh_sourced(home: Path, line: str, want: set[str]) -> None:
    comps, got = zsh_complete(home, line, "source")
    assert comps == "_wfctl"
    assert {w.rstrip("/") for w in got} == want


def test_zsh_script_starts_with_compdef() -> None:
    assert completion_script("zsh").splitlines()[0] == "#compdef wfctl"


# -- fish ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "want"), [(case[0], case[3]) for case in ALL_CASES])
def test_fish(home: Path, line: str, want: set[str]) -> None:
    fish = need("fish")
    target = home / ".config" / "fish" / "completions" / "wfctl.fish"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(completion_script("fish"))
    out = run([fish, "-c", 'complete -C "$WFCTL_TEST_LINE"'], home, WFCTL_TEST_LINE=line)
    assert out.returncode == 0, out.stderr
    got = {candidate.split("\t", 1)[0].rstrip("/") for candidate in out.stdout.splitlines() if candidate}
    assert got == want
