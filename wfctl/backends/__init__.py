"""Backend registry: names map to ``module:Class`` strings, imported on first use.

Nothing here imports a backend module until a command needs it, so
``wfctl --help`` never pays for psycopg, cbor2 or httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Profile
    from .base import Backend, BackendContext

BACKENDS: dict[str, str] = {
    "workflow-sdk": "",  # resolved by world, below
    "flue": "wfctl.backends.flue:FlueBackend",
    "workflow-runs-v1": "wfctl.backends.workflow_runs:WorkflowRunsV1Backend",
    "workflow-runs-v2": "wfctl.backends.workflow_runs:WorkflowRunsV2Backend",
    "temporal": "wfctl.backends.temporal:TemporalBackend",
}

WORLDS: dict[str, str] = {
    "local": "wfctl.backends.workflow_sdk.local:LocalWorldBackend",
    "postgres": "wfctl.backends.workflow_sdk.postgres:PostgresWorldBackend",
    "vercel": "wfctl.backends.workflow_sdk.vercel:VercelWorldBackend",
}

# Extra backends registered at run time (the in-memory test backend uses this).
_EXTRA: dict[str, Callable[..., "Backend"]] = {}


def register(name: str, factory: Callable[..., "Backend"]) -> None:
    _EXTRA[name] = factory


def unregister(name: str) -> None:
    _EXTRA.pop(name, None)


def names() -> list[str]:
    return sorted(set(BACKENDS) | set(_EXTRA))


def _load(target: str) -> Callable[..., "Backend"]:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def create(profile: "Profile", ctx: "BackendContext") -> "Backend":
    """Instantiate the backend a resolved profile names."""
    name = profile.get("backend") or "workflow-sdk"
    if name in _EXTRA:
        return _EXTRA[name](profile, ctx)
    if name not in BACKENDS:
        raise ConfigError(
            f"unknown backend {name!r} ({profile.source('backend')})",
            hint="choose one of: " + ", ".join(names()),
        )
    if name == "workflow-sdk":
        world = profile.get("world") or "local"
        if world not in WORLDS:
            raise ConfigError(
                f"unknown world {world!r} ({profile.source('world')})", hint="choose local, postgres or vercel"
            )
        target = WORLDS[world]
    else:
        target = BACKENDS[name]
    return _load(target)(profile, ctx)
