"""System checks for SERIALIZERS (resilient_queue.E052-E059)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.db import models

from . import conf
from .serializers import BUILTIN_TAGS, load, shape_problem

# Types the built-in encoding handles before any serializer is asked: one registered for
# them would never be used.
BUILTIN_TYPES = (
    type(None), bool, int, float, str, list, tuple, dict,
    dt.datetime, dt.date, dt.time, Decimal, uuid.UUID, models.Model,
)  # fmt: skip
EXAMPLE = 'For example "SERIALIZERS": ["myapp.serializers.MoneySerializer"].'


def _error(message: str, number: int, hint: str | None = None) -> Error:
    return Error(message, hint=hint, id=f"resilient_queue.E{number:03d}")


def check_serializers(**kwargs: Any) -> list[CheckMessage]:
    """SERIALIZERS is a list of importable serializers with a type, a tag of their own,
    encode and decode."""
    value = conf.raw_settings().get("SERIALIZERS", [])
    if not isinstance(value, list | tuple):
        return [
            _error(
                f"RESILIENT_QUEUE['SERIALIZERS'] must be a list of dotted paths, "
                f"not {type(value).__name__}.",
                52,
                EXAMPLE,
            )
        ]
    errors: list[CheckMessage] = []
    tags: dict[str, str] = {}
    for index, path in enumerate(value):
        where = f"RESILIENT_QUEUE['SERIALIZERS'][{index}]"
        if not isinstance(path, str) or not path:
            errors.append(
                _error(f"{where} must be a dotted path, not {type(path).__name__}.", 53, EXAMPLE)
            )
            continue
        try:
            serializer = load(path)
        except ImportError as exc:
            errors.append(_error(f"{where}: {path!r} cannot be imported ({exc}).", 54))
            continue
        except Exception as exc:
            errors.append(
                _error(f"{where}: {path!r} could not be made ({type(exc).__name__}: {exc}).", 55)
            )
            continue
        problem = shape_problem(serializer)
        if problem:
            errors.append(
                _error(
                    f"{where}: {path!r} is not a serializer: {problem}.",
                    56,
                    "A serializer has 'type', 'tag', 'encode(value)' and 'decode(data)'.",
                )
            )
            continue
        tag = serializer.tag
        if tag in BUILTIN_TAGS:
            errors.append(
                _error(
                    f"{where}: {path!r} uses the tag {tag!r}, which the built-in encoding uses.",
                    57,
                    f"Built-in tags: {sorted(BUILTIN_TAGS)}.",
                )
            )
        elif tag in tags:
            errors.append(
                _error(f"{where}: {path!r} uses the tag {tag!r}, as {tags[tag]!r} does.", 58)
            )
        else:
            tags[tag] = path
        kinds = serializer.type if isinstance(serializer.type, tuple) else (serializer.type,)
        shadowed = [k.__qualname__ for k in kinds if issubclass(k, BUILTIN_TYPES)]
        if shadowed:
            errors.append(
                _error(
                    f"{where}: {path!r} registers {shadowed}, which the built-in encoding "
                    "already handles; it would never be used.",
                    59,
                )
            )
    return errors


register(check_serializers, Tags.compatibility)
