"""Raise or resolve an alert row: one row per fingerprint, repeats counted."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Alert
from ..redaction import redact_for_payload

logger = logging.getLogger("django_resilient_queue.alerts")


def raise_alert(
    kind: str,
    severity: str,
    message: str,
    *,
    fingerprint: str | None = None,
    context: dict[str, Any] | None = None,
) -> Alert:
    """Record an occurrence of ``kind``: a new row, or one more on the row of its fingerprint."""
    fingerprint = fingerprint or kind
    message, context = redact_for_payload([message, context or {}])  # REDACT names and values
    alias = router.db_for_write(Alert)
    now = timezone.now()
    changes = {
        "severity": severity,
        "message": message,
        "context": context or {},
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
                return Alert.objects.using(alias).get(fingerprint=fingerprint)
        try:
            with transaction.atomic(using=alias):
                alert = Alert.objects.using(alias).create(
                    kind=kind, fingerprint=fingerprint, first_seen_at=now, **changes
                )
            logger.warning("alert %s (%s): %s", kind, severity, message)
            return alert
        except IntegrityError:
            continue  # another process created it first: count ours on its row
    raise RuntimeError(f"could not record alert {fingerprint}")


def resolve_alert(fingerprint: str, by: Any = None) -> bool:
    """Mark the active alert of ``fingerprint`` resolved; return False when none was active."""
    alias = router.db_for_write(Alert)
    return bool(
        Alert.objects.using(alias)
        .filter(fingerprint=fingerprint, resolved_at__isnull=True)
        .update(resolved_at=timezone.now(), resolved_by=by)
    )
