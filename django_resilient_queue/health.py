"""The health conditions shared by ``health/`` and ``manage.py queuehealth``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connections, router
from django.utils import timezone

from . import conf
from .models import Alert, AlertSeverity, Job, Worker, WorkerState

# Runnable jobs older than this with no live worker make the queue unhealthy.
STUCK_AFTER = timedelta(minutes=1)


@dataclass
class Health:
    """The result of every condition checked: healthy only when each one is."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """True when every condition passed."""
        return all(check["ok"] for check in self.checks.values())

    @property
    def reasons(self) -> list[str]:
        """One line per failed condition."""
        return [f"{name}: {c['reason']}" for name, c in self.checks.items() if not c["ok"]]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON body of ``health/``."""
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "time": timezone.now().isoformat(),
            "checks": self.checks,
            "reasons": self.reasons,
        }


def live_worker_cutoff() -> Any:
    """Return the oldest heartbeat that still counts as a live worker."""
    stale = max(conf.lease_seconds(), 3 * conf.heartbeat_seconds())
    return timezone.now() - timedelta(seconds=stale)


def check_health(using: str | None = None) -> Health:
    """Check the database, stuck runnable jobs without workers, and critical alerts."""
    alias = using or router.db_for_read(Job)
    health = Health()
    try:
        connections[alias].ensure_connection()
        Job.objects.using(alias).filter(pk=0).exists()  # a real round trip, portable
    except DatabaseError as exc:
        health.checks["database"] = {
            "ok": False,
            "reason": f"database unreachable ({type(exc).__name__})",
        }
        return health  # nothing else can be read
    health.checks["database"] = {"ok": True, "reason": ""}

    now = timezone.now()
    live = (
        Worker.objects.using(alias)
        .filter(state=WorkerState.RUNNING, last_heartbeat_at__gte=live_worker_cutoff())
        .count()
    )
    oldest = (
        Job.objects.using(alias)
        .runnable(now)
        .order_by("run_after")
        .values_list("run_after", flat=True)
        .first()
    )
    age = (now - oldest).total_seconds() if oldest else 0.0
    stuck = oldest is not None and now - oldest > STUCK_AFTER and live == 0
    health.checks["workers"] = {
        "ok": not stuck,
        "live_workers": live,
        "oldest_runnable_age_seconds": round(age, 1),
        "reason": (f"runnable jobs have waited {age:.0f} s with no live worker" if stuck else ""),
    }

    critical = list(
        Alert.objects.using(alias)
        .filter(resolved_at__isnull=True, severity=AlertSeverity.CRITICAL)
        .values_list("kind", flat=True)[:20]
    )
    health.checks["critical_alerts"] = {
        "ok": not critical,
        "active": critical,
        "reason": f"critical alert active: {', '.join(critical)}" if critical else "",
    }
    return health
