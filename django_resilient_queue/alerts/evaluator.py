"""Evaluate the alert conditions every few seconds, by ONE process across all runworkers.

The supervisor's housekeeping calls ``AlertEvaluator.tick``; whoever holds the
``alert-evaluator`` lease evaluates, the others return at once. Each condition that holds
raises (or repeats) its alert; each active alert of that kind that no longer holds is
resolved, with a resolution notification. Event kinds are resolved here too: an open
breaker's alert once the breaker is closed, a crash or outage alert after a quiet window.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import router
from django.utils import timezone

from ..models import Alert, AlertKind, BreakerState, CircuitBreaker
from ..snapshots import REFRESH_SECONDS, refresh_job_counts
from . import config, lease
from .rules import CONDITIONS
from .store import raise_alert, resolve_alerts_where

logger = logging.getLogger("django_resilient_queue.alerts")

LEASE_NAME = "alert-evaluator"
INTERVAL = 5.0
# Quiet-window kinds: an event that has not repeated for the rule's window is over.
QUIET_KINDS = (AlertKind.DB_CONNECTION_LOST, AlertKind.WORKER_CRASHED)


@dataclass
class AlertEvaluator:
    """Holds this process's lease identity; ``tick`` evaluates when it is the holder."""

    holder: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    interval: float = INTERVAL
    snapshot_due: float = 0.0

    def tick(self) -> bool:
        """Evaluate once if this process holds the lease; return whether it did."""
        if not lease.acquire(LEASE_NAME, self.holder, 3 * self.interval):
            return False
        evaluate(timezone.now())
        if time.monotonic() >= self.snapshot_due:
            # The lease holder also keeps the metrics' finished-rows snapshot fresh.
            self.snapshot_due = time.monotonic() + REFRESH_SECONDS
            refresh_job_counts()
        return True

    def stop(self) -> None:
        """Hand the lease over at once (a stopping supervisor)."""
        lease.release(LEASE_NAME, self.holder)


def evaluate(now: datetime) -> dict[str, tuple[int, int]]:
    """Raise what holds, resolve what cleared; return (raised, resolved) per kind."""
    alias = router.db_for_write(Alert)
    summary: dict[str, tuple[int, int]] = {}
    for kind, condition in CONDITIONS.items():
        rule = config.rule(kind)
        if not rule.enabled:
            continue
        firing = condition(rule, now, alias)
        for found in firing:
            raise_alert(
                kind,
                rule.severity,
                found.message,
                fingerprint=found.fingerprint,
                context=found.context,
            )
        holding = {found.fingerprint for found in firing}
        active = Alert.objects.using(alias).filter(kind=kind, resolved_at__isnull=True)
        cleared = [f for f in active.values_list("fingerprint", flat=True) if f not in holding]
        resolved = resolve_alerts_where({"fingerprint__in": cleared}) if cleared else []
        summary[kind] = (len(firing), len(resolved))
    summary.update(_resolve_events(now, alias))
    return summary


def _resolve_events(now: datetime, alias: str) -> dict[str, tuple[int, int]]:
    summary: dict[str, tuple[int, int]] = {}
    for kind in QUIET_KINDS:
        quiet_since = now - timedelta(seconds=config.rule(kind).window)
        resolved = resolve_alerts_where({"kind": kind, "last_seen_at__lt": quiet_since})
        summary[kind] = (0, len(resolved))
    still_open = set(
        CircuitBreaker.objects.using(alias)
        .exclude(state=BreakerState.CLOSED)
        .values_list("key", flat=True)
    )
    active = Alert.objects.using(alias).filter(
        kind=AlertKind.BREAKER_OPEN, resolved_at__isnull=True
    )
    closed = [
        fingerprint
        for fingerprint in active.values_list("fingerprint", flat=True)
        if fingerprint.split(":", 1)[-1] not in still_open
    ]
    resolved = resolve_alerts_where({"fingerprint__in": closed}) if closed else []
    summary["BREAKER_OPEN"] = (0, len(resolved))
    return summary
