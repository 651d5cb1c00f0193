"""wfctl's user directories (``config.user_dir``) are platformdirs' answers, computed without importing it on
Linux (docs/architecture.md, "Start-up")."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from wfctl.config import cache_dir, config_path, user_dir

VARIANTS = [
    {"HOME": "/home/ada", "XDG_CONFIG_HOME": None, "XDG_CACHE_HOME": None},
    {"HOME": "/home/ada/", "XDG_CONFIG_HOME": "/x/conf", "XDG_CACHE_HOME": "/x/cache/"},
    {"HOME": "/home/ada", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": ""},
    {"HOME": "/home/ada", "XDG_CONFIG_HOME": "relative/conf", "XDG_CACHE_HOME": "~/cache"},
    {"HOME": "relative-home", "XDG_CONFIG_HOME": None, "XDG_CACHE_HOME": None},
    {"HOME": None, "XDG_CONFIG_HOME": None, "XDG_CACHE_HOME": None},
    {"HOME": "/", "XDG_CONFIG_HOME": None, "XDG_CACHE_HOME": None},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v))
def test_user_dirs_are_platformdirs_answers(monkeypatch: pytest.MonkeyPatch, variant: dict[str, str | None]) -> None:
    for key, value in variant.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("WFCTL_CONFIG", raising=False)
    monkeypatch.delenv("WFCTL_CACHE_DIR", raising=False)
    assert user_dir("config") == Path(platformdirs.user_config_dir("wfctl", appauthor=False))
    assert user_dir("cache") == Path(platformdirs.user_cache_dir("wfctl", appauthor=False))
    assert config_path() == user_dir("config") / "config.toml"
    assert cache_dir() == user_dir("cache")


def test_commands_do_not_import_platformdirs_on_linux(tmp_path: Path) -> None:
    """A command in a fresh process resolves its config file and cache without importing platformdirs."""
    import subprocess

    if not sys.platform.startswith("linux"):
        pytest.skip("the XDG rule is computed here on Linux only; elsewhere platformdirs answers")
    code = (
        "import sys\n"
        "from wfctl.config import cache_dir, config_path\n"
        "config_path(); cache_dir()\n"
        "print('platformdirs' in sys.modules)\n"
    )
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
