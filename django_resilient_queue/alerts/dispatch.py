"""The outbox: decide who is told of an alert (cooldown, suppression) and queue the deliveries.

Nothing here talks to the network: rows in ``AlertDelivery`` are written in the caller's
transaction and sent later by ``delivery.DeliveryLoop``, beside the workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from ..models import Alert, AlertDelivery
from ..redaction import redact_arguments
from . import config


def redacted(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``context`` with the job arguments it carries redacted for its task."""
    result = dict(context)
    if "task" in result and ("args" in result or "kwargs" in result):
        args, kwargs = redact_arguments(
            str(result["task"]), result.get("args", []), result.get("kwargs", {})
        )
        if "args" in result:
            result["args"] = args
        if "kwargs" in result:
            result["kwargs"] = kwargs
    return result


def suppressed_until(kind: str, now: datetime, alias: str) -> datetime | None:
    """Return when the suppression of ``kind`` ends (None when it is not suppressed)."""
    rows = Alert.objects.using(alias).filter(kind=kind, suppressed_until__gt=now)
    found: datetime | None = (
        rows.order_by("-suppressed_until").values_list("suppressed_until", flat=True).first()
    )
    return found


def payload(alert: Alert, event: str) -> dict[str, Any]:
    """Return what every channel is told: the alert as JSON, its arguments redacted."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "event": event,
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "severity": alert.severity,
            "message": alert.message,
            "fingerprint": alert.fingerprint,
            "occurrences": alert.occurrences,
            "context": redacted(alert.context or {}),
            "first_seen_at": iso(alert.first_seen_at),
            "last_seen_at": iso(alert.last_seen_at),
            "resolved_at": iso(alert.resolved_at),
        },
    }


def _queue(alert: Alert, event: str, now: datetime, alias: str) -> int:
    body = payload(alert, event)
    rows = [
        AlertDelivery(
            alert_id=alert.pk,
            event=event,
            channel=f"{index}:{channel.get('type')}",
            channel_type=str(channel.get("type")),
            payload=body,
            next_attempt_at=now,
            created_at=now,
        )
        for index, channel in enumerate(config.channels())
        if config.reaches(channel, alert.severity)
    ]
    AlertDelivery.objects.using(alias).bulk_create(rows)
    return len(rows)


def notify_fired(alert: Alert, now: datetime, alias: str) -> int:
    """Queue "fired" deliveries unless the kind is off or suppressed, or within the cooldown.

    The cooldown is claimed with a conditional UPDATE of ``notified_at``: of many workers
    raising the same fingerprint at once, exactly one notifies.
    """
    rule = config.rule(alert.kind)
    if not rule.enabled or suppressed_until(alert.kind, now, alias) is not None:
        return 0
    cutoff = now - timedelta(seconds=rule.cooldown)
    claimed = (
        Alert.objects.using(alias)
        .filter(pk=alert.pk)
        .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=cutoff))
        .update(notified_at=now)
    )
    if not claimed:
        return 0
    alert.notified_at = now
    return _queue(alert, "fired", now, alias)


def notify_resolved(ids: list[int], now: datetime, alias: str) -> int:
    """Queue "resolved" deliveries for the alerts whose last notification said "fired"."""
    queued = 0
    for alert in Alert.objects.using(alias).filter(pk__in=ids):
        last = (
            AlertDelivery.objects.using(alias)
            .filter(alert_id=alert.pk)
            .order_by("-id")
            .values_list("event", flat=True)
            .first()
        )
        if last != "fired" or suppressed_until(alert.kind, now, alias) is not None:
            continue
        queued += _queue(alert, "resolved", now, alias)
    return queued
