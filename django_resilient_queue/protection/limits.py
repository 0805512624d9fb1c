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


BUCKETS = 100  # a window is kept as at most this many [start of bucket, count] entries


def _in_window(starts: list[list[float]], now_ts: float, rate: RateLimit) -> list[list[float]]:
    """The entries whose bucket still overlaps the window ending now, oldest first.

    A bucket is dropped only once all of it has left the window, so the count is never
    lower than the true number of starts in the window: the limit is never exceeded,
    and a place can come free up to one bucket (1 % of the window) late.
    """
    width = rate.window / BUCKETS
    since = now_ts - rate.window
    return sorted(([t, n] for t, n in starts if t + width > since), key=lambda entry: entry[0])


def acquire_rate(key: str, rate: RateLimit, now: datetime, wanted: int = 1) -> int:
    """Record up to ``wanted`` starts of ``key`` at ``now`` within the sliding window; return
    how many fit. The row is locked for the claim's transaction: concurrent claims of the
    key queue up behind it instead of retrying (optimistic retries starved under load).

    ``starts`` holds [bucket start, count] entries, at most BUCKETS + 1 of them, so its
    size does not grow with the number of jobs or claims.
    """
    now_ts = now.timestamp()
    width = rate.window / BUCKETS
    for _ in range(RETRIES):
        row = Gate.objects.select_for_update().filter(key=key).values("starts", "version").first()
        if row is None:
            _create_gate(key, GateKind.RATE, rate.count, rate.window)
            continue
        starts = _in_window(row["starts"], now_ts, rate)
        used = int(sum(n for _, n in starts))
        granted = min(wanted, rate.count - used)
        if granted <= 0:
            return 0
        bucket = now_ts - now_ts % width
        if starts and starts[-1][0] == bucket:
            starts[-1][1] += granted
        else:
            starts.append([bucket, granted])
        if Gate.objects.filter(key=key, version=row["version"]).update(
            starts=starts,
            blocked_until=_blocked_until(starts, rate, now, now_ts),
            version=F("version") + 1,
            limit=rate.count,
            window=rate.window,
        ):
            return granted
    return 0


def _blocked_until(
    starts: list[list[float]], rate: RateLimit, now: datetime, now_ts: float
) -> datetime | None:
    """When the full window frees a place: the end of the oldest bucket that must leave it."""
    excess = sum(n for _, n in starts) - rate.count + 1
    if excess <= 0:
        return None
    width = rate.window / BUCKETS
    for moment, count in starts:
        excess -= count
        if excess <= 0:
            return now + timedelta(seconds=moment + width + rate.window - now_ts)
    return None


def release_rate(key: str, count: int) -> None:
    """Forget the ``count`` latest starts of ``key`` (admitted, but they will not run)."""
    for _ in range(RETRIES):
        row = Gate.objects.filter(key=key).values("starts", "version").first()
        if row is None or not row["starts"]:
            return
        starts = sorted(row["starts"], key=lambda entry: entry[0])
        while count > 0 and starts:
            moment, n = starts.pop()
            if n > count:
                starts.append([moment, n - count])
            count -= n
        if Gate.objects.filter(key=key, version=row["version"]).update(
            starts=starts, blocked_until=None, version=F("version") + 1
        ):
            return
