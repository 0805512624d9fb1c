"""Circuit breaker verbs a person triggers: reset, force open."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.utils import timezone

from ..alerts.store import raise_alert
from ..models import AlertKind, AlertSeverity, BreakerState, CircuitBreaker
from .results import ActionResult, id_batches


def reset_breakers(breakers: Any, *, by: Any = None) -> ActionResult:
    """Close the selected breakers and forget their failures; closed ones are not eligible."""
    alias = router.db_for_write(CircuitBreaker)
    total = ActionResult()
    for batch in id_batches(CircuitBreaker, breakers):
        with transaction.atomic(using=alias):
            rows = CircuitBreaker.objects.using(alias).filter(pk__in=batch)
            eligible = rows.exclude(state=BreakerState.CLOSED, failures=0)
            ids = list(eligible.select_for_update().values_list("pk", flat=True))
            CircuitBreaker.objects.using(alias).filter(pk__in=ids).update(
                state=BreakerState.CLOSED,
                failures=0,
                window_started_at=None,
                opened_at=None,
                half_open_trials=0,
                updated_at=timezone.now(),
            )
            total += ActionResult(len(ids), len(batch) - len(ids), tuple(ids))
    return total


def force_open_breakers(breakers: Any, *, by: Any = None) -> ActionResult:
    """Open the selected breakers now (their jobs wait); open ones are not eligible.

    Each opens for its ``reset_timeout`` like a breaker that tripped, then lets trial
    jobs through; each raises a ``BREAKER_OPEN`` alert.
    """
    alias = router.db_for_write(CircuitBreaker)
    total = ActionResult()
    opened: list[str] = []
    for batch in id_batches(CircuitBreaker, breakers):
        with transaction.atomic(using=alias):
            rows = CircuitBreaker.objects.using(alias).filter(pk__in=batch)
            eligible = rows.exclude(state=BreakerState.OPEN).select_for_update()
            pairs = list(eligible.values_list("pk", "key"))
            now = timezone.now()
            CircuitBreaker.objects.using(alias).filter(pk__in=[pk for pk, _ in pairs]).update(
                state=BreakerState.OPEN, opened_at=now, half_open_trials=0, updated_at=now
            )
            opened += [key for _, key in pairs]
            ids = tuple(pk for pk, _ in pairs)
            total += ActionResult(len(ids), len(batch) - len(ids), ids)
    for key in opened:
        raise_alert(
            AlertKind.BREAKER_OPEN,
            AlertSeverity.HIGH,
            f"circuit breaker {key} was forced open by an operator",
            fingerprint=f"BREAKER_OPEN:{key}",
            context={"key": key, "forced": True},
        )
    return total
