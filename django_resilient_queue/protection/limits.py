"""Rate and concurrency limits, enforced with conditional updates on Gate rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import Gate, GateKind
from .options import RateLimit


def _ensure_gate(key: str, kind: str, limit: int, window: float) -> None:
    if Gate.objects.filter(key=key).exists():
        return
    try:
        with transaction.atomic():
            Gate.objects.create(key=key, kind=kind, limit=limit, window=window)
    except IntegrityError:
        pass  # created by a concurrent claim


def acquire_concurrency(key: str, limit: int) -> bool:
    """Take a running place of ``key`` if fewer than ``limit`` are taken."""
    _ensure_gate(key, GateKind.CONCURRENCY, limit, 0.0)
    return bool(
        Gate.objects.filter(key=key, running__lt=limit).update(
            running=F("running") + 1, limit=limit
        )
    )


def release_concurrency(key: str) -> None:
    """Give back a running place of ``key`` (the job ended, however it ended)."""
    Gate.objects.filter(key=key, running__gt=0).update(running=F("running") - 1)


def acquire_rate(key: str, rate: RateLimit, now: datetime) -> bool:
    """Record a start of ``key`` if the sliding window has room (optimistic, versioned)."""
    _ensure_gate(key, GateKind.RATE, rate.count, rate.window)
    now_ts = now.timestamp()
    for _ in range(10):
        row = Gate.objects.filter(key=key).values("starts", "version").get()
        starts = sorted(t for t in row["starts"] if t > now_ts - rate.window)
        if len(starts) >= rate.count:
            return False
        starts.append(now_ts)
        blocked_until = None
        if len(starts) >= rate.count:
            oldest = starts[-rate.count]
            blocked_until = now + timedelta(seconds=oldest + rate.window - now_ts)
        if Gate.objects.filter(key=key, version=row["version"]).update(
            starts=starts,
            blocked_until=blocked_until,
            version=F("version") + 1,
            limit=rate.count,
            window=rate.window,
        ):
            return True
    return False


def release_rate(key: str, now: datetime) -> None:
    """Forget the latest start of ``key`` (the job was admitted but will not run)."""
    for _ in range(10):
        row = Gate.objects.filter(key=key).values("starts", "version").first()
        if row is None or not row["starts"]:
            return
        starts = sorted(row["starts"])[:-1]
        if Gate.objects.filter(key=key, version=row["version"]).update(
            starts=starts, blocked_until=None, version=F("version") + 1
        ):
            return
