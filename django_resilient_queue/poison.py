"""Poison rows: a job row whose arguments cannot be what a call needs.

Rows written outside enqueue() (raw SQL, a migration, another service) may hold JSON
Python cannot decode, or ``args`` that is not a list, ``kwargs`` that is not a dict.
Such a row is dead-lettered (VALIDATION) without a run; the jobs claimed with it go on.
"""

from __future__ import annotations

from typing import Any

from .models.fields import Undecodable

_JSON_TYPES = {type(None): "null", bool: "a boolean", int: "a number", float: "a number"}


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def row_problem(args: Any, kwargs: Any) -> str | None:
    """Why a row's arguments cannot be called with, or None when they can."""
    for name, value in (("args", args), ("kwargs", kwargs)):
        if isinstance(value, Undecodable):
            return f"poison row: {name} cannot be decoded ({value.why})"[:255]
    if not isinstance(args, list):
        return f"poison row: args is not a list (it is {_kind(args)})"
    if not isinstance(kwargs, dict):
        return f"poison row: kwargs is not a dict (it is {_kind(kwargs)})"
    return None


def storable(value: Any, default: Any) -> Any:
    """``value`` as a NOT NULL JSON column can keep it: JSON null becomes ``default``."""
    return default if value is None else value
