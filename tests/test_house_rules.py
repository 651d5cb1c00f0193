"""House rules of wfctl's source that a linter does not check (CONTRIBUTING.md, "House rules").

**No module imports another module's private names.** A name that starts with one underscore is its
module's own business: when two modules need it, it is made public (or moved to a small shared module).
The one exception is a *package-private* module — one whose own name starts with an underscore, like
``wfctl/durable_streams/_reader.py`` — whose private names the modules of the same package may import: the
package as a whole is then the unit that keeps them private.

The scan reads every ``wfctl/**/*.py`` with :mod:`ast` (nothing is imported) and looks at

* ``from M import _name`` (absolute or relative, at module level or inside a function), and
* ``M._name`` where ``M`` was bound by ``import wfctl.x as M`` or ``from wfctl.pkg import M`` to a wfctl
  module (a private name reached through the module object is the same breach),

for every ``M`` that is a wfctl module. Imports from other projects (``typer._click``) are not wfctl's to
arrange and are left alone.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wfctl"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a wfctl module or package (a file or a directory with ``__init__.py``)."""
    if dotted != "wfctl" and not dotted.startswith("wfctl."):
        return False
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _allowed(importer: str, importer_path: Path, owner: str) -> bool:
    """A private name of ``owner`` may be used by ``importer`` only when ``owner`` is package-private (its own
    name starts with ``_``) and both are in the same package."""
    owner_package, _, owner_leaf = owner.rpartition(".")
    return _private(owner_leaf) and owner_package == _package_of(importer, importer_path)


def breaches(path: Path) -> list[str]:
    """Every import of another module's private name in one source file, as ``file:line: what``."""
    module = _module_name(path)
    package = _package_of(module, path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(ROOT)
    found: list[str] = []
    modules: dict[str, str] = {}  # a local name bound to a wfctl module -> that module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            owner = _absolute(node, package)
            for alias in node.names:
                dotted = f"{owner}.{alias.name}"
                if _is_module(dotted):  # ``from pkg import module``: the module object, checked where it is used
                    modules[alias.asname or alias.name] = dotted
                    if not _private(alias.name) or _allowed(module, path, dotted):
                        continue
                if _private(alias.name) and _is_module(owner) and owner != module:
                    if not _allowed(module, path, owner):
                        found.append(f"{where}:{node.lineno}: from {owner} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_module(alias.name) and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            owner = modules[node.value.id]
            if owner != module and not _allowed(module, path, owner):
                found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr} ({owner})")
    return found


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    """A throw-away tree shaped like wfctl's, for the scanner's own tests."""
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path


def test_no_module_imports_another_modules_private_names() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 50, "the scan found wfctl's sources"
    found = [line for path in sources for line in breaches(path)]
    assert found == [], "make the name public (or move it to a shared module):\n" + "\n".join(found)


@pytest.fixture
def fake_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scanner pointed at a small tree with a ``wfctl`` package of its own."""
    root = _write(
        tmp_path,
        {
            "wfctl/__init__.py": "",
            "wfctl/a.py": "def _hidden(): pass\ndef shown(): pass\n",
            "wfctl/pkg/__init__.py": "",
            "wfctl/pkg/_impl.py": "def _inner(): pass\n",
            "wfctl/pkg/b.py": "def _own(): pass\n",
            "wfctl/other/__init__.py": "",
        },
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", root)
    return root


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("wfctl/pkg/c.py", "from ..a import _hidden\n", ["wfctl/pkg/c.py:1: from wfctl.a import _hidden"]),
        (
            "wfctl/pkg/c.py",
            "def f():\n    from wfctl.a import _hidden\n",
            ["wfctl/pkg/c.py:2: from wfctl.a import _hidden"],
        ),
        ("wfctl/pkg/c.py", "from . import b\nb._own()\n", ["wfctl/pkg/c.py:2: b._own (wfctl.pkg.b)"]),
        ("wfctl/pkg/c.py", "import wfctl.a as a\na._hidden()\n", ["wfctl/pkg/c.py:2: a._hidden (wfctl.a)"]),
        ("wfctl/pkg/c.py", "from .._private_mod import x\n", []),  # not a wfctl module: nothing to say
        ("wfctl/pkg/c.py", "from ._impl import _inner\n", []),  # package-private module, same package
        ("wfctl/pkg/c.py", "from . import _impl\n_impl._inner()\n", []),
        (
            "wfctl/other/d.py",
            "from ..pkg._impl import _inner\n",
            ["wfctl/other/d.py:1: from wfctl.pkg._impl import _inner"],
        ),
        ("wfctl/other/d.py", "from ..pkg import _impl\n", ["wfctl/other/d.py:1: from wfctl.pkg import _impl"]),
        ("wfctl/pkg/c.py", "from ..a import shown, __doc__\n", []),
        ("wfctl/pkg/c.py", "from typer import _click\n", []),  # another project's
        ("wfctl/pkg/b.py", "from .b import _own\n", []),  # its own name
    ],
)
def test_the_scan_finds_what_the_rule_forbids(fake_tree: Path, where: str, source: str, expected: list[str]) -> None:
    path = _write(fake_tree, {where: source}) / where
    assert breaches(path) == expected
