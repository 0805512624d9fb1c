"""The SERIALIZERS setting: more types for the tagged JSON encoding of job arguments.

Each entry is the dotted path of a serializer: an object (or a class, made with no
arguments) with ``type`` (a class, or a tuple of classes), ``tag`` (a short string stored
beside the value), ``encode(value) -> JSON`` and ``decode(JSON) -> value``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.module_loading import import_string

from . import conf

# Tags the built-in encoding uses; a registered serializer may not take one.
BUILTIN_TAGS = frozenset({"dict", "datetime", "date", "time", "decimal", "uuid"})


class Serializer(Protocol):
    """What a SERIALIZERS entry names."""

    type: type | tuple[type, ...]
    tag: str

    def encode(self, value: Any) -> Any:
        """Return ``value`` as JSON (typed values inside are encoded too)."""

    def decode(self, data: Any) -> Any:
        """Return the value ``encode`` described."""


@dataclass(frozen=True)
class Registered:
    """The usable serializers, in setting order, and by tag."""

    ordered: tuple[Serializer, ...] = ()
    by_tag: dict[str, Serializer] = field(default_factory=dict)


_cache: dict[tuple[str, ...], Registered] = {}


def load(path: str) -> Serializer:
    """Import the serializer at ``path`` (a class is made with no arguments)."""
    found = import_string(path)
    return found() if isinstance(found, type) else found  # type: ignore[no-any-return]


def shape_problem(serializer: Any) -> str | None:
    """Return why ``serializer`` is not usable, or None."""
    kind = getattr(serializer, "type", None)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) for k in kinds):
        return "its 'type' must be a class or a tuple of classes"
    tag = getattr(serializer, "tag", None)
    if not isinstance(tag, str) or not tag:
        return "its 'tag' must be a non-empty string"
    for name in ("encode", "decode"):
        if not callable(getattr(serializer, name, None)):
            return f"its {name!r} must be callable"
    return None


def registered_serializers() -> Registered:
    """Return the serializers SERIALIZERS names; broken entries are skipped (see checks)."""
    value = conf.raw_settings().get("SERIALIZERS", ())
    if not value or not isinstance(value, list | tuple):
        return _EMPTY
    key = tuple(str(path) for path in value)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    ordered: list[Serializer] = []
    by_tag: dict[str, Serializer] = {}
    for path in key:
        try:
            serializer = load(path)
        except Exception:
            continue
        if shape_problem(serializer) or serializer.tag in BUILTIN_TAGS or serializer.tag in by_tag:
            continue
        ordered.append(serializer)
        by_tag[serializer.tag] = serializer
    registered = Registered(tuple(ordered), by_tag)
    _cache[key] = registered
    return registered


_EMPTY = Registered()
