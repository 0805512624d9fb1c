"""The options of a job's promises, checked when it is declared: expiry and stall timeout."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from .definition import JobDefinition


def validate_promises(definition: JobDefinition) -> None:
    """Raise a clear TypeError/ValueError for a bad ``expires_*`` or ``stall_timeout``."""
    name = definition.name
    after = definition.expires_after
    if after is not None:
        if not isinstance(after, timedelta):
            raise TypeError(f"{name}: expires_after must be a timedelta")
        if after <= timedelta(0):
            raise ValueError(f"{name}: expires_after must be positive, not {after}")
    at = definition.expires_at
    if at is not None:
        if not isinstance(at, datetime):
            raise TypeError(f"{name}: expires_at must be a datetime")
        if timezone.is_naive(at):
            raise ValueError(f"{name}: expires_at must be an aware datetime (USE_TZ)")
    stall_seconds(definition)


def stall_seconds(definition: JobDefinition) -> float | None:
    """Return the stall timeout in seconds, or None; raise for a bad one."""
    value: Any = definition.stall_timeout
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        raise TypeError(f"{definition.name}: stall_timeout must be seconds or a timedelta")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise ValueError(f"{definition.name}: stall_timeout must be positive, not {seconds}")
    return seconds


def expires_at_for(definition: JobDefinition, now: datetime) -> datetime | None:
    """Return when an enqueue made now expires (None: never)."""
    if definition.expires_at is not None:
        return definition.expires_at
    if definition.expires_after is not None:
        return now + definition.expires_after
    return None
