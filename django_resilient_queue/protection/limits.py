"""Rate and concurrency limits, enforced with conditional updates on Gate rows.

Every function takes the places of several jobs of one key at once: a claim that
brought back n jobs of a key costs one or two statements for that key, not n.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import Gate, GateKind
from .options import RateLimit

RETRIES = 10


def _create_gate(key: str, kind: str, limit: int, window: float) -> None:
    """Create the row of ``key`` unless it exists (a concurrent claim may create it first)."""
    if Gate.objects.filter(key=key).exists():
        return
    try:
        with transaction.atomic():
            Gate.objects.create(key=key, kind=kind, limit=limit, window=window)
    except IntegrityError:
        pass


def acquire_concurrency(key: str, limit: int, wanted: int = 1) -> int:
    """Take up to ``wanted`` running places of ``key`` (``limit`` in all); return how many."""
    for _ in range(RETRIES):
        # The common case in one statement: room for everything asked.
        if Gate.objects.filter(key=key, running__lte=limit - wanted).update(
            running=F("running") + wanted, limit=limit
        ):
            return wanted
        row = Gate.objects.filter(key=key).values("running").first()
        if row is None:
            _create_gate(key, GateKind.CONCURRENCY, limit, 0.0)
            continue
        room = limit - row["running"]
        if room <= 0:
            return 0
        if Gate.objects.filter(key=key, running=row["running"]).update(
            running=F("running") + room, limit=limit
        ):
            return room
    return 0


def release_concurrency(counts: Mapping[str, int]) -> None:
    """Give back running places per key (the jobs ended, however they ended)."""
    for key, count in counts.items():
        if count <= 0:
            continue
        freed = Gate.objects.filter(key=key, running__gte=count).update(
            running=F("running") - count
        )
        if not freed:  # never below zero, even if an operator reset the row meanwhile
            Gate.objects.filter(key=key).update(running=0)


def acquire_rate(key: str, rate: RateLimit, now: datetime, wanted: int = 1) -> int:
    """Record up to ``wanted`` starts of ``key`` at ``now`` within the sliding window; return
    how many fit (optimistic: the row's version makes concurrent claims retry)."""
    now_ts = now.timestamp()
    for _ in range(RETRIES):
        row = Gate.objects.filter(key=key).values("starts", "version").first()
        if row is None:
            _create_gate(key, GateKind.RATE, rate.count, rate.window)
            continue
        starts = sorted(t for t in row["starts"] if t > now_ts - rate.window)
        granted = min(wanted, rate.count - len(starts))
        if granted <= 0:
            return 0
        starts.extend([now_ts] * granted)
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
            return granted
    return 0


def release_rate(key: str, count: int) -> None:
    """Forget the ``count`` latest starts of ``key`` (admitted, but they will not run)."""
    for _ in range(RETRIES):
        row = Gate.objects.filter(key=key).values("starts", "version").first()
        if row is None or not row["starts"]:
            return
        starts = sorted(row["starts"])[: max(0, len(row["starts"]) - count)]
        if Gate.objects.filter(key=key, version=row["version"]).update(
            starts=starts, blocked_until=None, version=F("version") + 1
        ):
            return
