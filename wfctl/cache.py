"""A small cache of recently printed run ids, read by shell completion.

Completion must be instant and must never touch the network or raise, so it
only reads this file. Writes are best-effort and atomic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

MAX_IDS = 200
FILE_NAME = "recent-run-ids"


def _path(env: Mapping[str, str] | None = None) -> Path:
    from .config import cache_dir

    return cache_dir(env) / FILE_NAME


def remember(run_ids: Iterable[str], env: Mapping[str, str] | None = None) -> None:
    new = [r for r in run_ids if r and "\n" not in r and "\t" not in r]
    if not new:
        return
    try:
        path = _path(env)
        old = read(env)
        seen: set[str] = set()
        merged: list[str] = []
        for run_id in reversed(new + old):  # newest last in the file
            if run_id not in seen:
                seen.add(run_id)
                merged.append(run_id)
        merged = list(reversed(merged))[:MAX_IDS]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}")
        tmp.write_text("\n".join(merged) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def read(env: Mapping[str, str] | None = None) -> list[str]:
    """Most recent first. Never raises."""
    try:
        text = _path(env).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def complete(incomplete: str) -> list[str]:
    try:
        return [r for r in read() if r.startswith(incomplete)]
    except Exception:  # completion must never raise
        return []
