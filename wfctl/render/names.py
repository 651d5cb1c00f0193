"""The bottom of the render layer: workflow and step names as tables and tail lines show them. No Rich
import, no other render module."""

from __future__ import annotations

from ..model import Run

#: The Workflow SDK's machine names: ``{kind}//{module}//{function}``.
_MACHINE_KINDS = ("workflow", "step", "class")


def machine_function(name: str | None) -> str | None:
    """The function part of a Workflow SDK machine name (``workflow//./workflows/demo//demoWorkflow`` →
    ``demoWorkflow``; everything after the module's ``//``, however many ``/`` it holds); None for any
    other name."""
    if not name or "//" not in name:
        return None
    parts = name.split("//")
    if len(parts) < 3 or parts[0] not in _MACHINE_KINDS or not parts[1]:
        return None
    return "//".join(parts[2:]) or None


def short_name(name: str | None) -> str | None:
    """A name as tables show it: a Workflow SDK machine name is shortened at the SDK's own separator
    (``//``) to its function name; every other name (a Temporal type, a URL, anything holding ``/``) is
    shown whole — never cut inside the text, where a cut could leave half of a markup tag."""
    return machine_function(name) or name


def workflow_label(run: Run) -> str | None:
    """The workflow name tables show: the function part of the SDK's full name (``workflowId``) when the
    run has one, else the backend's ``workflowName``. A default export keeps the backend's name for it."""
    function = machine_function(run.workflowId)
    if function and function not in ("default", "__default"):
        return function
    return short_name(run.workflowName)
