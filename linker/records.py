"""The linker's record classes: `@dataclass` as the standard library spells it, made cheap
to *define*.

Why: a small link through the gcc shim is mostly start-up, and the standard decorator
compiles six functions from source per frozen class (`__init__`, `__repr__`, `__eq__`,
`__hash__`, `__setattr__`, `__delattr__`); over the ~55 classes a link imports that was
about half of the linker's import time.  Here a class costs one pass over its annotations:
`__repr__` and the frozen guards are shared functions, and `__init__`/`__eq__`/`__hash__`
are compiled from source (so instances are as fast to make and compare as a standard
dataclass's) only the first time one of them is called, so a class that a link never
instantiates never compiles anything.

The subset the linker uses, with the standard semantics: `frozen`, `slots`, `eq`, fields
with defaults or `field(default_factory=...)`.  Anything else (`order`, `kw_only`,
`InitVar`, `ClassVar`, `__post_init__`, inheriting fields) is refused when the class is
defined rather than half-supported.  The classes stay dataclasses to the standard library:
`dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work on them, and type
checkers see the decorator as a dataclass transform.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import marshal
import os
import sys
from collections.abc import Callable
from dataclasses import FrozenInstanceError, field
from types import CodeType
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["dataclass", "field", "save_compiled"]

_T = TypeVar("_T", bound=type)
_MISSING = dataclasses.MISSING
# The standard library's marker for "an ordinary field" (as opposed to ClassVar/InitVar
# pseudo-fields): `dataclasses.fields()` and `replace()` look for it.
_ORDINARY_FIELD = dataclasses._FIELD  # type: ignore[attr-defined]
_REFUSED_ANNOTATIONS = ("ClassVar", "InitVar", "KW_ONLY")


@overload
def dataclass(cls: _T, /) -> _T: ...
@overload
def dataclass(*, frozen: bool = False, slots: bool = False,
              eq: bool = True) -> Callable[[_T], _T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def dataclass(cls: Any = None, /, *, frozen: bool = False, slots: bool = False,
              eq: bool = True) -> Any:
    """`@dataclass`, `@dataclass(frozen=True, slots=True, eq=False)`, as the standard one."""
    def wrap(cls: type) -> type:
        return _make_record(cls, frozen=frozen, slots=slots, eq=eq)
    return wrap if cls is None else wrap(cls)


def _make_record(cls: type, *, frozen: bool, slots: bool, eq: bool) -> type:
    if any("__dataclass_fields__" in vars(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: records do not inherit fields")
    if "__post_init__" in vars(cls):
        raise TypeError(f"{cls.__qualname__}: records have no __post_init__")
    fields = _fields(cls)
    names = tuple(f.name for f in fields)
    body = dict(vars(cls))
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    own_methods = {key for key in ("__init__", "__repr__", "__eq__", "__hash__")
                   if key in body}
    if own_methods:  # the standard decorator would keep them; nothing here needs to
        raise TypeError(f"{cls.__qualname__}: records generate {', '.join(own_methods)}")
    body["__dataclass_fields__"] = {f.name: f for f in fields}
    body["__match_args__"] = names
    body["__repr__"] = _repr
    holder: list[type] = []  # the finished class, for the lazily compiled methods
    body["__init__"] = _compile_on_first_call("__init__", holder)
    if eq:
        body["__eq__"] = _compile_on_first_call("__eq__", holder)
        # The standard rule: eq and frozen make instances hashable by their fields; eq
        # alone makes them unhashable (a mutable value must not be a dict key).
        body["__hash__"] = _compile_on_first_call("__hash__", holder) if frozen else None
    if frozen:
        body["__setattr__"] = _frozen_setattr
        body["__delattr__"] = _frozen_delattr
    for f in fields:  # a class attribute keeps a plain default, never a field() spec
        if f.default is _MISSING:
            body.pop(f.name, None)
        else:
            body[f.name] = f.default
    if slots:
        for name in names:
            body.pop(name, None)  # a default would shadow the slot's descriptor
        body["__slots__"] = names
        if frozen:  # pickle and copy restore a frozen slotted record past its guard
            body["__getstate__"] = _getstate
            body["__setstate__"] = _setstate
        # A class's __slots__ cannot change once made: make the class again, as the
        # standard decorator does, with the class statement's own metaclass.
        record = type(cls)(cls.__name__, cls.__bases__, body)
        record.__qualname__ = cls.__qualname__
    else:
        for name in names:
            if name in vars(cls) and name not in body:
                delattr(cls, name)  # a default_factory field's spec
        for key, value in body.items():
            if key not in vars(cls) or vars(cls)[key] is not value:
                setattr(cls, key, value)
        record = cls
    holder.append(record)
    return record


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The class's own annotated fields, as the standard library's Field records."""
    fields: list[dataclasses.Field[Any]] = []
    seen_default = False
    for name, annotation in vars(cls).get("__annotations__", {}).items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if any(word in text for word in _REFUSED_ANNOTATIONS):
            raise TypeError(f"{cls.__qualname__}.{name}: {text} is not supported in records")
        default = vars(cls).get(name, _MISSING)
        if isinstance(default, dataclasses.Field):
            spec = default
            if not (spec.init and spec.repr and spec.compare and spec.hash is None
                    and not spec.metadata):
                raise TypeError(f"{cls.__qualname__}.{name}: only field(default=...) and "
                                "field(default_factory=...) are supported in records")
        else:
            if isinstance(default, (list, dict, set)):
                raise TypeError(f"{cls.__qualname__}.{name}: mutable default "
                                f"{type(default).__name__}: use default_factory")
            spec = field(default=default)
        has_default = spec.default is not _MISSING or spec.default_factory is not _MISSING
        if seen_default and not has_default:
            raise TypeError(f"{cls.__qualname__}: non-default argument {name!r} follows "
                            "default argument")
        seen_default |= has_default
        spec.name = name
        spec.type = annotation
        spec.kw_only = False
        spec._field_type = _ORDINARY_FIELD  # type: ignore[attr-defined]
        fields.append(spec)
    return fields


def _compile_on_first_call(method: str, holder: list[type]) -> Callable[..., Any]:
    """A stand-in for `method` that, called once, compiles the class's `__init__`,
    `__eq__` and `__hash__` from source, puts them on the class, and calls the real one."""
    def stand_in(self: Any, *args: Any, **kwargs: Any) -> Any:
        record = holder[0]
        _install_compiled_methods(record)
        return getattr(record, method)(self, *args, **kwargs)
    stand_in.__name__ = stand_in.__qualname__ = method
    return stand_in


def _install_compiled_methods(record: type) -> None:
    fields = list(record.__dataclass_fields__.values())  # type: ignore[attr-defined]
    frozen = record.__setattr__ is _frozen_setattr
    slotted = "__slots__" in vars(record)
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params, lines = [], []
    for n, f in enumerate(fields):
        if f.default_factory is not _MISSING:
            namespace[f"_factory_{n}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            value = f"_factory_{n}() if {f.name} is _MISSING else {f.name}"
        elif f.default is not _MISSING:
            namespace[f"_default_{n}"] = f.default
            params.append(f"{f.name}=_default_{n}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        if not frozen:
            lines.append(f"    self.{f.name} = {value}")
        elif slotted:  # the slot's own setter, past the frozen guard (a quarter faster
            namespace[f"_set_{n}"] = vars(record)[f.name].__set__  # than object's setattr)
            lines.append(f"    _set_{n}(self, {value})")
        else:
            lines.append(f"    _set(self, {f.name!r}, {value})")
    own = ", ".join(f"self.{f.name}" for f in fields)
    other = ", ".join(f"other.{f.name}" for f in fields)
    trailing = "," if len(fields) == 1 else ""
    source = "\n".join([
        f"def __init__(self, {', '.join(params)}):" if params else "def __init__(self):",
        *(lines or ["    pass"]),
        "def __eq__(self, other):",
        "    if other.__class__ is self.__class__:",
        f"        return ({own}{trailing}) == ({other}{trailing})",
        "    return NotImplemented",
        "def __hash__(self):",
        f"    return hash(({own}{trailing}))",
    ])
    # Source made here from field names only, as the standard decorator does.
    exec(_compiled(source, f"<record {record.__qualname__}>"), namespace)  # noqa: S102
    for method in ("__init__", "__eq__", "__hash__"):
        current = vars(record).get(method)
        if callable(current):  # eq=False / unhashable classes keep object's (or None)
            compiled = namespace[method]
            compiled.__qualname__ = f"{record.__qualname__}.{method}"
            type.__setattr__(record, method, compiled)


# -- compiled methods kept between processes ------------------------------------------------
# Compiling a record's methods costs ~85 us, and a hello link compiles ~40 of them: like
# Python's own .pyc files, the code objects are kept on disk (marshal, keyed by their exact
# source and file label, so a changed record simply misses) in the bytecode cache
# directory: sys.pycache_prefix when set (the gcc shim sets it), else __pycache__ beside
# this file.  Written at exit when something new was compiled, unless bytecode writing is
# off; a cache that cannot be read or written only costs the compile.
_codes: dict[str, CodeType] | None = None
_CODES_KEPT = 1000  # the linker defines ~75 records
_codes_changed = False


def _codes_path() -> str:
    name = f"records.{sys.implementation.cache_tag}-{sys.hexversion:x}.codes"
    if sys.pycache_prefix:
        return os.path.join(sys.pycache_prefix, "linkharness", name)
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__", name)


def _compiled(source: str, label: str) -> CodeType:
    global _codes, _codes_changed
    if _codes is None:
        _codes = _read_codes(_codes_path())
    key = f"{label}\n{source}"
    code = _codes.get(key)
    if code is None:
        code = compile(source, label, "exec")
        _codes[key] = code
        if not _codes_changed and not sys.dont_write_bytecode:
            _codes_changed = True
            atexit.register(_write_codes, _codes_path())
    return code


def save_compiled() -> None:
    """Write what this process compiled now, for a process about to leave by `os._exit`
    (which runs no exit handlers)."""
    global _codes_changed
    if _codes_changed:
        atexit.unregister(_write_codes)
        _write_codes(_codes_path())
        _codes_changed = False


def _read_codes(path: str) -> dict[str, CodeType]:
    try:
        with open(path, "rb") as f:
            codes = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(codes, dict) or not all(
            isinstance(k, str) and isinstance(v, CodeType) for k, v in codes.items()):
        return {}
    return codes


def _write_codes(path: str) -> None:
    """Merge what this process compiled into the file (another link may have added to it
    meanwhile), written whole and renamed into place."""
    if _codes is None:
        return
    codes = {**_read_codes(path), **_codes}
    if len(codes) > _CODES_KEPT:  # records edited over time leave stale entries behind
        codes = dict(_codes)
    tmp = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(marshal.dumps(codes))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _repr(self: Any) -> str:
    items = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
    return f"{type(self).__qualname__}({items})"


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, name) for name in self.__match_args__]


def _setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(self.__match_args__, state):
        object.__setattr__(self, name, value)
