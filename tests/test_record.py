"""wfctl._record behaves as dataclasses for what wfctl uses (docs/architecture.md, "Start-up")."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from wfctl import _record


def _pair(decorator: Any, field: Any, **options: Any) -> type:
    @decorator(**options)
    class Point:
        kind: ClassVar[str] = "point"
        x: int
        y: int = 2
        tags: list[str] = field(default_factory=list)
        note: str | None = field(default=None, repr=False, compare=False)

    return Point


STD = _pair(dataclasses.dataclass, dataclasses.field)
REC = _pair(_record.dataclass, _record.field)
STD_FROZEN = _pair(dataclasses.dataclass, dataclasses.field, frozen=True)
REC_FROZEN = _pair(_record.dataclass, _record.field, frozen=True)


@pytest.mark.parametrize(
    "args, kwargs",
    [((1,), {}), ((1, 5), {}), ((1,), {"tags": ["a"]}), ((), {"x": 3, "note": "n"}), ((1, 2, ["t"], "n"), {})],
)
def test_same_instances_as_dataclasses(args: tuple, kwargs: dict) -> None:
    std, rec = STD(*args, **kwargs), REC(*args, **kwargs)
    names = [f.name for f in dataclasses.fields(std)]
    assert [f.name for f in _record.fields(rec)] == names == ["x", "y", "tags", "note"]
    assert [getattr(rec, n) for n in names] == [getattr(std, n) for n in names]
    assert repr(rec).replace("REC", "") == repr(std).replace("STD", "")
    assert repr(rec).startswith("_pair.<locals>.Point(")
    assert rec == REC(*args, **kwargs) and not (rec != REC(*args, **kwargs))
    assert (rec == REC(99)) == (std == STD(99))


def test_defaults_factories_and_classvars() -> None:
    a, b = REC(1), REC(1)
    assert a.tags == [] and a.tags is not b.tags  # a fresh list each time
    assert REC.kind == "point" and REC.y == 2  # a ClassVar is no field; a default stays a class attribute
    assert "tags" not in REC.__dict__  # as dataclasses: a factory field has no class attribute
    assert REC(1, note="a") == REC(1, note="b")  # compare=False
    with pytest.raises(TypeError):
        REC()  # the required field
    with pytest.raises(TypeError):
        REC(1, 2, [], None, 5)
    with pytest.raises(TypeError):
        REC(1, z=3)
    assert REC(1).__eq__(object()) is NotImplemented
    with pytest.raises(TypeError):
        hash(REC(1))  # eq without frozen: unhashable, as dataclasses


def test_frozen() -> None:
    p = REC_FROZEN(1, 2, ("t",))  # type: ignore[arg-type]
    with pytest.raises(_record.FrozenInstanceError):
        p.x = 5
    with pytest.raises(AttributeError):
        del p.x
    assert hash(p) == hash(REC_FROZEN(1, 2, ("t",)))  # type: ignore[arg-type]
    assert hash(STD_FROZEN(1, 2, ("t",))) is not None  # type: ignore[arg-type]


def test_inheritance_and_order_errors() -> None:
    @_record.dataclass
    class Base:
        a: int
        b: int = 0

    @_record.dataclass
    class Child(Base):
        c: int = 1

    assert [f.name for f in _record.fields(Child)] == ["a", "b", "c"]
    assert Child(1).c == 1 and Base(2).a == 2 and Child(1, 2, 3) != Base(1, 2)
    with pytest.raises(TypeError):

        @_record.dataclass
        class Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError):
        _record.field(default=1, default_factory=list)
    with pytest.raises(TypeError):
        _record.fields(object())


def test_the_model_uses_it() -> None:
    from wfctl.model import Run

    run = Run(runId="r1", backend="memory", status="completed")
    assert run.to_json()["runId"] == "r1" and "status" in Run.field_names()
