"""Alert verbs a person triggers: resolve, suppress a kind for a while, unsuppress."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import router, transaction
from django.utils import timezone

from ..alerts.dispatch import notify_resolved
from ..models import Alert
from .results import ActionResult, id_batches, user_or_none

SUPPRESS_CHOICES = {
    "30m": timedelta(minutes=30),
    "2h": timedelta(hours=2),
    "1d": timedelta(days=1),
}


def resolve_alerts(alerts: Any, *, by: Any = None) -> ActionResult:
    """Mark the selected active alerts resolved by ``by``; resolved ones are not eligible."""
    alias = router.db_for_write(Alert)
    total = ActionResult()
    for batch in id_batches(Alert, alerts):
        with transaction.atomic(using=alias):
            active = Alert.objects.using(alias).filter(pk__in=batch, resolved_at__isnull=True)
            ids = list(active.select_for_update().values_list("pk", flat=True))
            now = timezone.now()
            Alert.objects.using(alias).filter(pk__in=ids).update(
                resolved_at=now, resolved_by=user_or_none(by)
            )
            notify_resolved(ids, now, alias)  # people told it fired are told it is over
            total += ActionResult(len(ids), len(batch) - len(ids), tuple(ids))
    return total


def _kinds(alerts: Any, alias: str) -> list[str]:
    rows = Alert.objects.using(alias)
    if isinstance(alerts, type(rows)):
        rows = alerts.using(alias)
    else:
        rows = rows.filter(pk__in=list(alerts))
    return sorted(set(rows.order_by().values_list("kind", flat=True).distinct()))


def suppress_alerts(alerts: Any, duration: timedelta, *, by: Any = None) -> ActionResult:
    """Suppress the kinds of the selected alerts: every row of those kinds, until now + duration.

    A suppressed kind still records occurrences, but notifies nobody until then.
    """
    if duration <= timedelta(0):
        raise ValueError("a suppression lasts a positive time")
    alias = router.db_for_write(Alert)
    with transaction.atomic(using=alias):
        kinds = _kinds(alerts, alias)
        until = timezone.now() + duration
        changed = Alert.objects.using(alias).filter(kind__in=kinds).update(suppressed_until=until)
    return ActionResult(changed, 0)


def unsuppress_alerts(alerts: Any, *, by: Any = None) -> ActionResult:
    """End the suppression of the selected alerts' kinds; kinds not suppressed are not eligible."""
    alias = router.db_for_write(Alert)
    with transaction.atomic(using=alias):
        kinds = _kinds(alerts, alias)
        rows = Alert.objects.using(alias).filter(kind__in=kinds)
        changed = rows.filter(suppressed_until__gt=timezone.now()).update(suppressed_until=None)
        rows.exclude(suppressed_until=None).update(suppressed_until=None)  # expired ones
    return ActionResult(changed, 0)


def kind_suppressed_until(kind: str) -> Any:
    """Return when the suppression of ``kind`` ends, or None when it is not suppressed."""
    now = timezone.now()
    rows = Alert.objects.filter(kind=kind, suppressed_until__gt=now)
    return rows.order_by("-suppressed_until").values_list("suppressed_until", flat=True).first()
