"""Records: frozen, slotted dataclasses that read and write JSON objects key for key.

The machinery under :mod:`rooflens.report_model`.  A :class:`Record` keeps the keys its JSON
object had, in their order (``json_keys``), and any key its class does not declare (``extra``),
so an object read and written again is the same JSON — an older file keeps its shape, a field
of a newer minor version survives.  :func:`finish` compiles each class's ``from_dict``: a whole
model's report holds ~100,000 rows, and a frozen dataclass's ``__init__`` costs several times
more than filling its slots directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from operator import attrgetter
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypeVar

R = TypeVar("R", bound="Record")
Conv = Callable[[Any], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Base of every section and row: the JSON object's key order and unknown keys ride along."""

    json_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    # field name → converter of its JSON value (nested records); filled by _finish().
    NESTED: ClassVar[dict[str, Conv]] = {}
    _KNOWN: ClassVar[frozenset[str]] = frozenset()
    _ORDER: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """The record of one JSON object (a non-object is a malformed document: TypeError).

        Replaced per class by :func:`_finish` with a builder compiled for its fields (a whole
        model's report holds ~100,000 rows: the dataclass ``__init__`` of a frozen record
        costs several times more)."""
        raise NotImplementedError(f"{cls.__name__} was not finished (_finish)")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the keys it was read with (all fields when built in Python), in order."""
        extra = self.extra
        keys = self.json_keys or (*self._ORDER, *extra)
        if extra:
            out = {k: extra[k] if k in extra else getattr(self, k) for k in keys}
        else:
            getter = _GETTERS.get(keys)
            if getter is None:
                getter = _GETTERS[keys] = attrgetter(*keys) if len(keys) > 1 else _single(keys)
            out = dict(zip(keys, getter(self), strict=True))
        for key in self.NESTED:
            value = out.get(key)
            if value is not None:
                out[key] = _plain(value)
        return out

    def has(self, key: str) -> bool:
        """Whether the JSON object carried ``key`` (``null`` counts; absent in an older file does not)."""
        return key in self.json_keys if self.json_keys else key in self._KNOWN or key in self.extra


# attrgetter per key order (the rows of one table share theirs).
_GETTERS: dict[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] = {}
_ABSENT = object()
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _single(keys: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    return (lambda obj: (getattr(obj, keys[0]),)) if keys else (lambda obj: ())


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, tuple):  # a record sequence (scalar lists stay lists as read)
        return [v.to_dict() if isinstance(v, Record) else v for v in value]
    return value


def one(cls: type[R]) -> Conv:
    """Converter of a nested object into ``cls`` (looked up when called: any order of finish)."""
    return lambda value: cls.from_dict(value)


def many(cls: type[R]) -> Conv:
    """Converter of a JSON list of objects into a tuple of ``cls``."""

    def conv(items: Any) -> tuple[R, ...]:
        if not isinstance(items, list | tuple):
            raise TypeError(f"{cls.__name__}: expected a list, got {type(items).__name__}")
        return tuple(cls.from_dict(x) for x in items)

    return conv


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot's own setter (it bypasses the frozen ``__setattr__``, for building only)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name].__set__
    raise AttributeError(name)


def finish(cls: type[R], **nested: Conv) -> type[R]:
    """Record the field names and nested converters of ``cls`` and compile its ``from_dict``:
    straight-line code that fills each slot from the JSON object (its default when absent,
    ``None`` when null, converted when nested), then ``json_keys`` and ``extra``."""
    own = [f for f in fields(cls) if f.name not in ("json_keys", "extra")]
    names = tuple(f.name for f in own)
    cls._ORDER, cls._KNOWN, cls.NESTED = names, frozenset(names), nested
    env: dict[str, Any] = {"cls": cls, "Mapping": Mapping, "new": object.__new__,
                           "ABSENT": _ABSENT, "EMPTY": _EMPTY, "KNOWN": cls._KNOWN,
                           "set_keys": _slot_setter(cls, "json_keys"),
                           "set_extra": _slot_setter(cls, "extra")}  # fmt: skip
    lines = [
        "def from_dict(d):",
        "    if type(d) is not dict and not isinstance(d, Mapping):",
        "        raise TypeError(f'{cls.__name__}: expected an object, got {type(d).__name__}')",
        "    o = new(cls)",
        "    get = d.get",
    ]
    for i, f in enumerate(own):
        env[f"s{i}"] = _slot_setter(cls, f.name)
        if f.default_factory is not MISSING:
            env[f"f{i}"], default = f.default_factory, f"f{i}()"
        else:
            env[f"d{i}"], default = f.default, f"d{i}"
        if f.name in nested:
            env[f"c{i}"] = nested[f.name]
            lines.append(f"    v = get({f.name!r}, ABSENT)")
            lines.append(
                f"    s{i}(o, {default} if v is ABSENT else (None if v is None else c{i}(v)))"
            )
        elif f.default_factory is not MISSING:
            lines.append(f"    v = get({f.name!r}, ABSENT)")
            lines.append(f"    s{i}(o, {default} if v is ABSENT else v)")
        else:
            lines.append(f"    s{i}(o, get({f.name!r}, d{i}))")
    lines += [
        "    set_keys(o, tuple(d))",
        "    set_extra(o, EMPTY if KNOWN.issuperset(d) else {k: v for k, v in d.items() if k not in KNOWN})",
        "    return o",
    ]
    exec("\n".join(lines), env)  # noqa: S102 - code built above from the class's field names
    cls.from_dict = staticmethod(env["from_dict"])  # type: ignore[method-assign]
    return cls
