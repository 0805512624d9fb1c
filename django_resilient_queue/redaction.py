"""Sensitive job arguments shown as ``***`` wherever arguments are displayed; the row keeps them."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from django_resilient_queue import conf, registry
from django_resilient_queue.exceptions import UnknownTask

MASK = "***"


def redacted_names(task: str) -> frozenset[str]:
    """Return the lower-cased names hidden for ``task``: REDACT plus ``@job(redact=…)``."""
    names: list[str] = list(conf.raw_settings().get("REDACT", ()) or ())
    try:
        definition = registry.lookup(task)
    except UnknownTask:
        definition = None
    names.extend(getattr(definition, "redact", ()) or ())
    return frozenset(str(name).lower() for name in names)


def _mask(value: Any, names: frozenset[str]) -> Any:
    # Dict keys are matched at any depth, inside lists too.
    if isinstance(value, Mapping):
        return {
            key: MASK if str(key).lower() in names else _mask(item, names)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask(item, names) for item in value]
    return value


def _positional_names(task: str, count: int) -> list[str | None]:
    try:
        func = registry.lookup(task).func
        parameters = list(inspect.signature(func).parameters.values())
    except (UnknownTask, TypeError, ValueError):
        return [None] * count
    names: list[str | None] = []
    for index in range(count):
        if index < len(parameters) and parameters[index].kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            names.append(parameters[index].name)
        else:
            names.append(None)
    return names


def redact_arguments(
    task: str, args: Sequence[Any] | Any, kwargs: Mapping[str, Any] | Any
) -> tuple[Any, Any]:
    """Return copies of ``args``/``kwargs`` with redacted names and dict keys as ``***``."""
    names = redacted_names(task)
    if not names:
        return args, kwargs
    shown_args: Any = args
    if isinstance(args, list | tuple):
        positional = _positional_names(task, len(args))
        shown_args = [
            MASK if name is not None and name.lower() in names else _mask(value, names)
            for name, value in zip(positional, args, strict=True)
        ]
    shown_kwargs: Any = kwargs
    if isinstance(kwargs, Mapping):
        shown_kwargs = _mask(kwargs, names)
    return shown_args, shown_kwargs


def redact_value(task: str, value: Any, extra: Iterable[str] = ()) -> Any:
    """Return ``value`` (a JSON payload) with redacted dict keys as ``***``, at any depth."""
    names = redacted_names(task) | frozenset(str(n).lower() for n in extra)
    return _mask(value, names) if names else value


def check_redact_setting(**kwargs: Any) -> list[CheckMessage]:
    """System check: REDACT is a list or tuple of non-empty strings (E050, E051)."""
    value = conf.raw_settings().get("REDACT", ())
    if not isinstance(value, list | tuple):
        return [
            Error(
                f"RESILIENT_QUEUE['REDACT'] must be a list of names, not {type(value).__name__}",
                hint='For example "REDACT": ["password", "token"].',
                id="resilient_queue.E050",
            )
        ]
    return [
        Error(
            f"RESILIENT_QUEUE['REDACT'][{index}] must be a non-empty string, "
            f"not {type(name).__name__}",
            id="resilient_queue.E051",
        )
        for index, name in enumerate(value)
        if not isinstance(name, str) or not name
    ]


register(check_redact_setting, Tags.compatibility)
