"""Standard modules that the console script loads on first use instead of at start-up (docs/architecture.md,
"Start-up").

Typer and its vendored Click import, at module level, standard modules that a read command never touches, and
those import more: ``subprocess`` (shell detection, launching an editor), ``bz2`` and ``lzma`` (``shutil``'s
archive formats), ``ipaddress`` (``urllib.parse``'s bracketed hosts), ``linecache``, ``tokenize``, ``token`` and
``textwrap`` (``inspect``'s and ``traceback``'s source helpers), ``ntpath`` and ``fnmatch`` (``pathlib``'s
Windows paths and globbing). :func:`install` puts a placeholder module in ``sys.modules`` for each, holding the
module's real spec; the first attribute read that the placeholder does not have (anything but what the import
system sets: ``__name__``, ``__spec__``, ``__loader__``, ``__file__``, ...) runs the real module's code into the
placeholder itself, which from then on is an ordinary module. So a plain ``import subprocess`` costs nothing
until ``subprocess.run`` is read, a second ``import subprocess`` finds the placeholder and leaves it alone, and
``from subprocess import run`` loads it at once, as before. A module that Typer or the standard library uses
while it is being imported (``ast``: ``inspect`` subclasses ``ast.NodeVisitor``; ``platform``: ``uuid`` calls
``platform.system()``; ``struct``: ``pickle``, which Rich's imports bring, imports from it) would load at once,
so it is not listed. (``importlib.util.LazyLoader`` does the same but loads a module on any attribute read,
``__spec__`` included, which a second ``import`` of it reads on Python 3.11.)

Only the console script installs it (:func:`wfctl.cli.main` without ``argv``), before anything else is imported:
in-process callers (tests, ``main(argv)``) keep their interpreter as it is.
"""

from __future__ import annotations

import sys
from _thread import RLock
from types import ModuleType

#: Top-level source modules only (no packages, no C extensions): what Typer, Click and the standard modules
#: they import name with a plain ``import X`` and a read command does not use. ``tests/test_defer.py`` holds
#: a read command to loading none of them.
DEFERRED = (
    "bz2",
    "fnmatch",
    "ipaddress",
    "linecache",
    "lzma",
    "ntpath",
    "subprocess",
    "textwrap",
    "token",
    "tokenize",
)

_lock = RLock()  # re-entrant: the thread running a module's code may read the module again
_running: set[int] = set()  # the placeholders whose code is running (ids), under _lock


class _Deferred(ModuleType):
    """A module whose code has not run yet: reading a name it does not have runs it, once, under a lock."""

    def __getattr__(self, name: str) -> object:
        with _lock:  # another thread waits here until the module's code has run, never sees it half run
            if type(self) is _Deferred and id(self) not in _running:
                spec = self.__spec__
                assert spec is not None and spec.loader is not None
                _running.add(id(self))
                try:
                    spec.loader.exec_module(self)
                except BaseException:
                    sys.modules.pop(self.__name__, None)  # the next import starts afresh, as after any failure
                    raise
                finally:
                    _running.discard(id(self))
                    self.__class__ = ModuleType  # type: ignore[assignment]
        # Loaded; or this thread is running the module's code, which has not defined the name yet: an
        # AttributeError, as for any partly imported module.
        return ModuleType.__getattribute__(self, name)


def install(names: tuple[str, ...] = DEFERRED) -> None:
    """Put a placeholder in ``sys.modules`` for each module of ``names`` not imported yet."""
    from importlib.machinery import PathFinder, SourceFileLoader

    for name in names:
        if name in sys.modules:
            continue
        spec = PathFinder.find_spec(name)
        if spec is None or not isinstance(spec.loader, SourceFileLoader) or spec.submodule_search_locations:
            continue  # not found on the path, not a source module, or a package: import it the usual way
        module = _Deferred(name)
        # What the import system sets before a module's code runs (importlib's _init_module_attrs).
        module.__dict__.update(__spec__=spec, __loader__=spec.loader, __package__="")
        if spec.has_location:
            module.__dict__.update(__file__=spec.origin, __cached__=spec.cached)
        sys.modules[name] = module
