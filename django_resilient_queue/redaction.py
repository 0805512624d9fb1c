"""Sensitive job arguments shown as ``***`` wherever arguments are displayed; the row keeps them."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from django_resilient_queue import conf, registry
from django_resilient_queue.exceptions import UnknownTask

MASK = "***"
RESERVED_PREFIX = "__resilient_queue_"  # the tagged encoding's keys (serialization.py)


def redacted_names(task: str) -> frozenset[str]:
    """Return the lower-cased names hidden for ``task``: REDACT plus ``@job(redact=…)``."""
    names: list[str] = list(conf.raw_settings().get("REDACT", ()) or ())
    try:
        definition = registry.lookup(task) if task else None
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


# Shorter values are not searched for in free text: masking every "ab" would hide the text.
MIN_SECRET_LENGTH = 4


def _secrets_in(value: Any, names: frozenset[str], hidden: bool, found: set[str]) -> None:
    """Collect the scalar values found under a redacted name (``hidden``) inside ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).startswith(RESERVED_PREFIX):
                continue  # an encoding tag ("decimal"), not a value
            _secrets_in(item, names, hidden or str(key).lower() in names, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _secrets_in(item, names, hidden, found)
    elif hidden and isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= MIN_SECRET_LENGTH:
            found.add(text)


def secret_values(
    task: str, args: Sequence[Any] | Any, kwargs: Mapping[str, Any] | Any
) -> set[str]:
    """Return the redacted arguments' values as text (to mask them in messages)."""
    names = redacted_names(task)
    found: set[str] = set()
    if not names:
        return found
    if isinstance(args, list | tuple):
        for name, value in zip(_positional_names(task, len(args)), args, strict=True):
            _secrets_in(value, names, name is not None and name.lower() in names, found)
    if isinstance(kwargs, Mapping):
        _secrets_in(kwargs, names, False, found)
    return found


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(secret, MASK)
    return text


def redact_text(
    task: str, args: Sequence[Any] | Any, kwargs: Mapping[str, Any] | Any, text: str
) -> str:
    """Return ``text`` (an error message, a traceback) without the job's redacted values."""
    if not text:
        return text
    secrets = secret_values(task, args, kwargs)
    return mask_text(text, secrets) if secrets else text


def redact_for_payload(
    payload: Any,
    *,
    task: str | None = None,
    args: Sequence[Any] | Any = (),
    kwargs: Mapping[str, Any] | Any = None,
) -> Any:
    """Return a copy of ``payload`` (JSON: an alert, a channel message) fit to send out.

    Dict keys named by REDACT (and by ``task``'s ``redact``) are ``***`` at any depth, and
    the values they hid, with those of the job's redacted ``args``/``kwargs`` when given,
    are masked inside every string of the payload. Alert channels call this on what they send.
    """
    names = redacted_names(task or "")
    if not names:
        return payload
    found: set[str] = set()
    _secrets_in(payload, names, False, found)
    if task:
        found |= secret_values(task, args, kwargs or {})
    return _mask_strings(_mask(payload, names), found)


def _mask_strings(value: Any, secrets: set[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {key: _mask_strings(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_strings(item, secrets) for item in value]
    return value


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
