"""Raise or resolve an alert row: one row per fingerprint, repeats counted, people notified.

A fingerprint has one row for ever. A resolved alert that fires again is the same row
reopened: ``resolved_at`` cleared, ``occurrences`` bumped, ``first_seen_at`` kept. Whether
that reopening notifies anyone is the cooldown's decision (see ``dispatch``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Alert
from ..redaction import redact_for_payload
from ..signals import send_alert_raised
from . import config, dispatch

logger = logging.getLogger("django_resilient_queue.alerts")


def raise_alert(
    kind: str,
    severity: str,
    message: str,
    *,
    fingerprint: str | None = None,
    context: dict[str, Any] | None = None,
) -> Alert:
    """Record an occurrence of ``kind``: a new row, or one more on the row of its fingerprint.

    Notifications go to the outbox in the same transaction; nothing is sent from here.
    """
    fingerprint = fingerprint or kind
    message, context = redact_for_payload([message, context or {}])  # REDACT names and values
    severity = config.configured_severity(kind) or severity
    alias = router.db_for_write(Alert)
    now = timezone.now()
    changes = {
        "severity": severity,
        "message": message,
        "context": dispatch.redacted(context or {}),
        "last_seen_at": now,
        "resolved_at": None,
        "resolved_by": None,
    }
    for _ in range(3):
        with transaction.atomic(using=alias):
            if (
                Alert.objects.using(alias)
                .filter(fingerprint=fingerprint)
                .update(occurrences=F("occurrences") + 1, **changes)
            ):
                alert = Alert.objects.using(alias).get(fingerprint=fingerprint)
                dispatch.notify_fired(alert, now, alias)
                send_alert_raised(alert, created=False, using=alias)
                return alert
        try:
            with transaction.atomic(using=alias):
                alert = Alert.objects.using(alias).create(
                    kind=kind,
                    fingerprint=fingerprint,
                    first_seen_at=now,
                    suppressed_until=dispatch.suppressed_until(kind, now, alias),
                    **changes,
                )
                dispatch.notify_fired(alert, now, alias)
                send_alert_raised(alert, created=True, using=alias)
            logger.warning("alert %s (%s): %s", kind, severity, message)
            return alert
        except IntegrityError:
            continue  # another process created it first: count ours on its row
    raise RuntimeError(f"could not record alert {fingerprint}")


def resolve_alert(fingerprint: str, by: Any = None) -> bool:
    """Mark the active alert of ``fingerprint`` resolved; return False when none was active."""
    return bool(resolve_alerts_where({"fingerprint": fingerprint}, by=by))


def resolve_alerts_where(filters: dict[str, Any], *, by: Any = None) -> list[int]:
    """Resolve the active alerts matching ``filters``; notify those people were told of."""
    alias = router.db_for_write(Alert)
    now = timezone.now()
    with transaction.atomic(using=alias):
        active = Alert.objects.using(alias).filter(resolved_at__isnull=True, **filters)
        ids = list(active.select_for_update().values_list("pk", flat=True))
        if not ids:
            return []
        Alert.objects.using(alias).filter(pk__in=ids).update(resolved_at=now, resolved_by=by)
        dispatch.notify_resolved(ids, now, alias)
    return ids
