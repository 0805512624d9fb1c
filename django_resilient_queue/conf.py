"""Read ``settings.RESILIENT_QUEUE`` lazily, on every access, so override_settings works."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .failures import FailureCategory, coerce_category
from .retry import Backoff, Retry

DEFAULTS: Mapping[str, Any] = {
    "DEFAULT_QUEUE": "default",
    "QUEUES": {},
    "POLL_INTERVAL": 1.0,
    "LEASE_SECONDS": 60,
    "HEARTBEAT_SECONDS": 10,
    "MAX_STALLS": 3,
    "DEFAULT_TIMEOUT": 300,
    "GRACEFUL_TIMEOUT": 30,
    "RETRY": Retry(
        max_attempts=3, backoff=Backoff.exponential(base=2, min_delay=1, max_delay=3600)
    ),
    "FAILURE_POLICIES": {},
    "PRIORITY_AGING": {"interval": 300, "step": 10},
    "SCHEDULES": {},
    "JOB_MODULES": [],
    "RETENTION": {"succeeded": 7, "failed": 30},
    "ALERTS": {"CHANNELS": [], "RULES": {}, "COOLDOWN": 600},
    "METRICS_TOKEN": None,
    "EXCEPTION_CATEGORIES": {},
    "REDACT": [],
    "SERIALIZERS": [],
}


def raw_settings() -> Mapping[str, Any]:
    """Return the project's ``RESILIENT_QUEUE`` dict (empty when unset)."""
    from django.conf import settings

    value = getattr(settings, "RESILIENT_QUEUE", None)
    return value if isinstance(value, Mapping) else {}


def get(name: str) -> Any:
    """Return one setting, falling back to its documented default."""
    if name not in DEFAULTS:
        raise KeyError(f"unknown RESILIENT_QUEUE setting {name!r}")
    return raw_settings().get(name, DEFAULTS[name])


def default_queue() -> str:
    """Return the queue a job uses when it names none."""
    return str(get("DEFAULT_QUEUE"))


def poll_interval() -> float:
    """Return the seconds an idle worker waits between polls."""
    return float(get("POLL_INTERVAL"))


def lease_seconds() -> float:
    """Return how long a claimed job's lease lasts before it can be taken back."""
    return float(get("LEASE_SECONDS"))


def heartbeat_seconds() -> float:
    """Return how often a child renews its leases and its Worker row."""
    return float(get("HEARTBEAT_SECONDS"))


def max_stalls() -> int:
    """Return how many abandoned runs dead-letter a job ("worker lost")."""
    return int(get("MAX_STALLS"))


def default_timeout() -> float:
    """Return the hard time limit of a job that sets none."""
    return float(get("DEFAULT_TIMEOUT"))


def graceful_timeout() -> float:
    """Return how long a stopping worker lets running jobs finish."""
    return float(get("GRACEFUL_TIMEOUT"))


def default_retry() -> Retry:
    """Return the retry policy of a job that sets none."""
    value = get("RETRY")
    return value if isinstance(value, Retry) else DEFAULTS["RETRY"]


def failure_policies() -> dict[FailureCategory, Retry]:
    """Return the per-category overrides from ``FAILURE_POLICIES``, keyed by member."""
    value = get("FAILURE_POLICIES") or {}
    return {coerce_category(key): policy for key, policy in value.items()}


def exception_categories() -> dict[str, FailureCategory]:
    """Return ``EXCEPTION_CATEGORIES``: dotted exception class path -> category."""
    value = get("EXCEPTION_CATEGORIES") or {}
    return {str(path): coerce_category(category) for path, category in value.items()}


def queue_options(name: str) -> Mapping[str, Any]:
    """Return the ``QUEUES[name]`` options (empty when the queue is not configured)."""
    queues = get("QUEUES") or {}
    options = queues.get(name, {})
    return options if isinstance(options, Mapping) else {}


def retention_days() -> Mapping[str, int]:
    """Return the days finished jobs are kept, per final status."""
    merged = dict(DEFAULTS["RETENTION"])
    merged.update(get("RETENTION") or {})
    return merged


def as_timedelta(value: float | timedelta) -> timedelta:
    """Accept seconds or a timedelta."""
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def metrics_token() -> str | None:
    """Return the Bearer token that opens metrics/ and health/ (None: staff sessions only)."""
    token = get("METRICS_TOKEN")
    return str(token) if token else None
