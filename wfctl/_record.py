"""``dataclass``, ``field`` and ``fields`` for wfctl's own value classes, without the import-time cost of
:mod:`dataclasses` (docs/architecture.md, "Start-up").

The standard decorator compiles an ``__init__``, ``__repr__`` and ``__eq__`` for every class when the module is
imported: about a third of a millisecond per class, and wfctl declares some thirty of them on the way to any
command (the run model, options, the profile, the backend's requests). Here a class gets an ``__init__`` that
compiles the real one the first time the class is instantiated, so a command pays only for the classes it
builds; ``__repr__``, ``__eq__`` and, for ``frozen`` classes, ``__hash__`` are shared functions over the
fields.

What wfctl uses of dataclasses, with the same meaning: fields from annotations in declaration order (base
classes first; ``ClassVar`` annotations are not fields), defaults and ``field(default=..., default_factory=...,
repr=..., compare=...)``, ``frozen=True`` (assignment raises :class:`FrozenInstanceError`, an
``AttributeError``; instances hash by their fields), equality of the same class by the compared fields, and
``fields()`` of a class or an instance (objects with ``name``). Type checkers see the standard decorator
(``if TYPE_CHECKING`` at each import), so the classes type-check exactly as dataclasses.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["FrozenInstanceError", "dataclass", "field", "fields"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    __slots__ = ("name", "default", "default_factory", "repr", "compare")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True, compare: bool = True) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, repr, compare)


def fields(class_or_instance: Any) -> tuple[Field, ...]:
    cls = class_or_instance if isinstance(class_or_instance, type) else type(class_or_instance)
    try:
        return cls.__record_fields__  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError("must be called with a record class or instance") from None


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _collect(cls: type) -> tuple[Field, ...]:
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            found[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            f = value
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        else:
            f = Field(value, MISSING, True, True)
        f.name = name
        found[name] = f
    seen_default = False
    for f in found.values():
        if f.default is MISSING and f.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True
    return tuple(found.values())


def _lazy_init(cls: type, frozen: bool) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        real = _compile_init(cls, frozen)
        cls.__init__ = real  # type: ignore[misc]
        real(self, *args, **kwargs)

    return __init__


def _compile_init(cls: type, frozen: bool) -> Callable[..., None]:
    params: list[str] = []
    body: list[str] = []
    scope: dict[str, Any] = {"_MISSING": MISSING, "_setattr": object.__setattr__}
    for i, f in enumerate(fields(cls)):
        if f.default_factory is not MISSING:
            scope[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            value = f"_factory{i}() if {f.name} is _MISSING else {f.name}"
        elif f.default is not MISSING:
            scope[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        body.append(f"_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    source = f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
    exec(source, scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _compared(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in fields(self) if f.compare)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return _compared(self) == _compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_compared(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def dataclass(cls: type | None = None, *, frozen: bool = False) -> Any:
    def wrap(cls: type) -> type:
        cls.__record_fields__ = _collect(cls)  # type: ignore[attr-defined]
        cls.__init__ = _lazy_init(cls, frozen)  # type: ignore[misc]
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = _repr  # type: ignore[assignment]
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = _eq  # type: ignore[assignment]
            cls.__hash__ = _hash if frozen else None  # type: ignore[assignment]
        if frozen:
            cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
            cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
        return cls

    return wrap if cls is None else wrap(cls)
