"""Read ``settings.RESILIENT_QUEUE`` lazily, on every access, so override_settings works."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured

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
    from django.conf import settings

    value = getattr(settings, "RESILIENT_QUEUE", None)
    if value is not None and not isinstance(value, Mapping):
        # Never a silent fall-back to the defaults: `manage.py check` says E001.
        raise ImproperlyConfigured("RESILIENT_QUEUE must be a dict (resilient_queue.E001)")
    return raw_settings().get(name, DEFAULTS[name])


def _invalid(name: str, wanted: str, check: str) -> ImproperlyConfigured:
    # The value itself is not shown: a mistyped setting may hold a secret.
    return ImproperlyConfigured(
        f"RESILIENT_QUEUE[{name!r}] must be {wanted} (resilient_queue.{check}; "
        "`manage.py check` lists every bad setting)"
    )


def _number(name: str, *, minimum: float = 0.0, strict: bool = True) -> float:
    value = get(name)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < minimum
        or (strict and value == minimum)
    ):
        wanted = "a positive number" if strict else f"a number >= {minimum:g}"
        raise _invalid(name, wanted, "E003")
    return float(value)


def default_queue() -> str:
    """Return the queue a job uses when it names none."""
    value = get("DEFAULT_QUEUE")
    if not isinstance(value, str) or not value.strip():
        raise _invalid("DEFAULT_QUEUE", "a non-empty string", "E007")
    return value


def poll_interval() -> float:
    """Return the seconds an idle worker waits between polls."""
    return _number("POLL_INTERVAL")


def lease_seconds() -> float:
    """Return how long a claimed job's lease lasts before it can be taken back."""
    return _number("LEASE_SECONDS")


def heartbeat_seconds() -> float:
    """Return how often a child renews its leases and its Worker row."""
    return _number("HEARTBEAT_SECONDS")


def max_stalls() -> int:
    """Return how many abandoned runs dead-letter a job ("worker lost")."""
    value = get("MAX_STALLS")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid("MAX_STALLS", "an int >= 1", "E003")
    return value


def default_timeout() -> float:
    """Return the hard time limit of a job that sets none."""
    return _number("DEFAULT_TIMEOUT")


def graceful_timeout() -> float:
    """Return how long a stopping worker lets running jobs finish."""
    return _number("GRACEFUL_TIMEOUT", strict=False)


def default_retry() -> Retry:
    """Return the retry policy of a job that sets none."""
    value = get("RETRY")
    if not isinstance(value, Retry):
        raise _invalid("RETRY", "a Retry", "E005")
    return value


def failure_policies() -> dict[FailureCategory, Retry]:
    """Return the per-category overrides from ``FAILURE_POLICIES``, keyed by member."""
    value = get("FAILURE_POLICIES") or {}
    if not isinstance(value, Mapping) or not all(isinstance(v, Retry) for v in value.values()):
        raise _invalid("FAILURE_POLICIES", "a dict of category to Retry", "E006")
    try:
        return {coerce_category(key): policy for key, policy in value.items()}
    except ValueError:
        raise _invalid("FAILURE_POLICIES", "keyed by FailureCategory names", "E006") from None


def exception_categories() -> dict[str, FailureCategory]:
    """Return ``EXCEPTION_CATEGORIES``: dotted exception class path -> category."""
    value = get("EXCEPTION_CATEGORIES") or {}
    if not isinstance(value, Mapping):
        raise _invalid("EXCEPTION_CATEGORIES", "a dict of class path to category", "E014")
    try:
        return {str(path): coerce_category(category) for path, category in value.items()}
    except ValueError:
        raise _invalid("EXCEPTION_CATEGORIES", "valued by FailureCategory names", "E014") from None


def queue_options(name: str) -> Mapping[str, Any]:
    """Return the ``QUEUES[name]`` options (empty when the queue is not configured)."""
    queues = get("QUEUES") or {}
    options = queues.get(name, {}) if isinstance(queues, Mapping) else None
    if not isinstance(options, Mapping):
        raise _invalid("QUEUES", "a dict of queue name to a dict of options", "E007")
    return options


def retention_days() -> Mapping[str, int]:
    """Return the days finished jobs are kept, per final status."""
    value = get("RETENTION") or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(days, int) and not isinstance(days, bool) and days >= 0
        for days in value.values()
    ):
        raise _invalid("RETENTION", "a dict of final status to days (an int >= 0)", "E011")
    merged = dict(DEFAULTS["RETENTION"])
    merged.update(value)
    return merged


def as_timedelta(value: float | timedelta) -> timedelta:
    """Accept seconds or a timedelta."""
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def metrics_token() -> str | None:
    """Return the Bearer token that opens metrics/ and health/ (None: staff sessions only)."""
    token = get("METRICS_TOKEN")
    if token is not None and not (isinstance(token, str) and token.strip()):
        raise _invalid("METRICS_TOKEN", "None or a non-empty string", "E016")
    return token or None
