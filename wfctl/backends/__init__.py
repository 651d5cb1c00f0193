"""Backend registry: names map to ``module:Class`` strings, imported on first use.

The one list of backend and Workflow SDK world names: everything else that names them all (help texts,
configuration checks, hints) takes them from here (:data:`BACKEND_NAMES`, :data:`WORLD_NAMES`). Nothing here
imports a backend module until a command needs it, so ``wfctl --help`` never pays for psycopg, cbor2 or httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Profile
    from .base import Backend, BackendContext

#: The Workflow SDK's backend name, whose module is chosen by the profile's ``world``.
WORKFLOW_SDK = "workflow-sdk"
#: The backend a profile without ``backend`` uses, and the world a Workflow SDK profile without ``world`` uses.
DEFAULT_BACKEND = WORKFLOW_SDK
DEFAULT_WORLD = "local"

BACKENDS: dict[str, str] = {
    WORKFLOW_SDK: "",  # resolved by world, below
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

#: Every backend wfctl ships, and every Workflow SDK world, in the order help texts list them.
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)
WORLD_NAMES: tuple[str, ...] = tuple(WORLDS)

# Extra backends registered at run time (the in-memory test backend uses this).
_EXTRA: dict[str, Callable[..., "Backend"]] = {}


def register(name: str, factory: Callable[..., "Backend"]) -> None:
    _EXTRA[name] = factory


def unregister(name: str) -> None:
    _EXTRA.pop(name, None)


def names() -> list[str]:
    """Every backend name :func:`create` accepts (those registered at run time too), sorted."""
    return sorted(set(BACKENDS) | set(_EXTRA))


def one_of(choices: tuple[str, ...]) -> str:
    """``a, b or c``."""
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else "".join(choices)


def _load(target: str) -> Callable[..., "Backend"]:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def create(profile: "Profile", ctx: "BackendContext") -> "Backend":
    """Instantiate the backend a resolved profile names."""
    name = profile.get("backend") or DEFAULT_BACKEND
    if name in _EXTRA:
        return _EXTRA[name](profile, ctx)
    if name not in BACKENDS:
        raise ConfigError(
            f"unknown backend {name!r} ({profile.source('backend')})",
            hint="choose one of: " + ", ".join(names()),
        )
    if name == WORKFLOW_SDK:
        world = profile.get("world") or DEFAULT_WORLD
        if world not in WORLDS:
            raise ConfigError(
                f"unknown world {world!r} ({profile.source('world')})", hint="choose " + one_of(WORLD_NAMES)
            )
        target = WORLDS[world]
    else:
        target = BACKENDS[name]
    return _load(target)(profile, ctx)
