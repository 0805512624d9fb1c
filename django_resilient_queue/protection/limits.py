"""Rate and concurrency limits: how many places fit, and the sliding window of starts.

A claim takes the places of all its jobs at once: the concurrency places of every key
in one or two statements, whatever the number of jobs and keys, and each rate key in
two. The statements are in ``db/gates.py``; this module decides what they write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from ..db import gates
from ..models import Gate, GateKind
from .options import RateLimit


def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(Gate)]


def acquire_concurrency(wants: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """Take running places: ``wants`` maps key → (limit, places wanted); return key → taken.

    Runs inside the claim's transaction. Where the database reports the rows it updated,
    one statement takes every key that has room for all it wants; the rest (or all keys,
    elsewhere) are locked, read and given what fits with one more statement.
    """
    wanted = {key: pair for key, pair in sorted(wants.items()) if pair[1] > 0}
    if not wanted:
        return {}
    connection = _connection()
    granted = gates.take_where_all_fit(connection, wanted) or {}
    rest = {key: pair for key, pair in wanted.items() if key not in granted}
    if rest:
        granted.update(_take_what_fits(connection, rest))
    return granted


def take_places_and_lock_rates(
    wants: Mapping[str, tuple[int, int]],
    holders: Mapping[str, Sequence[int]],
    rate_keys: Sequence[str],
) -> tuple[dict[str, int], dict[str, tuple[int, Any]]] | None:
    """Where the database can, in one statement: see ``db.gates.take_places_and_lock_rates``."""
    return gates.take_places_and_lock_rates(_connection(), wants, holders, rate_keys)


def _take_what_fits(
    connection: BaseDatabaseWrapper, wanted: Mapping[str, tuple[int, int]]
) -> dict[str, int]:
    keys = list(wanted)
    running = gates.lock_running_counts(connection, keys)
    missing = {key: wanted[key][0] for key in keys if key not in running}
    if missing:
        gates.ensure_gates(GateKind.CONCURRENCY, missing)
        running = gates.lock_running_counts(connection, keys)
    granted = places_that_fit(wanted, running)
    if granted:
        gates.add_places(connection, granted, {key: wanted[key][0] for key in granted})
    return granted


def places_that_fit(
    wanted: Mapping[str, tuple[int, int]], running: Mapping[str, int]
) -> dict[str, int]:
    """Pure: key → the places to take, given (limit, wanted) per key and what already runs."""
    return {
        key: min(count, limit - running[key])
        for key, (limit, count) in wanted.items()
        if key in running and limit - running[key] > 0
    }


def release_concurrency(counts: Mapping[str, int]) -> None:
    """Give back running places per key (the jobs ended, however they ended): one statement.

    Never below zero, even if an operator reset a row meanwhile.
    """
    freed = {key: count for key, count in sorted(counts.items()) if count > 0}
    if freed:
        gates.release_places(_connection(), freed)


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


def acquire_rate(
    key: str,
    rate: RateLimit,
    now: datetime,
    wanted: int = 1,
    locked: tuple[int, Any] | None = None,
) -> int:
    """Record up to ``wanted`` starts of ``key`` at ``now`` within the sliding window; return
    how many fit. The row is locked for the claim's transaction: concurrent claims of the
    key queue up behind it instead of retrying (optimistic retries starved under load).

    ``starts`` holds [bucket start, count] entries, at most BUCKETS + 1 of them, so its
    size does not grow with the number of jobs or claims. ``locked``: the row, already
    locked and read in this transaction, as (id, starts).
    """
    connection = _connection()
    row = locked or gates.lock_rate_row(connection, key)
    if row is None:
        gates.ensure_gates(GateKind.RATE, {key: rate.count}, rate.window)
        row = gates.lock_rate_row(connection, key)
    if row is None:  # created just now (by us or a concurrent claim): cannot be missing
        raise RuntimeError(f"the rate gate row of {key!r} could not be created")
    pk, stored = row
    starts, granted = record_starts(_json(stored), rate, now, wanted)
    if granted <= 0:
        return 0
    blocked = _blocked_until(starts, rate, now, now.timestamp())
    gates.write_rate_row(connection, pk, starts, blocked, rate.count, rate.window)
    return granted


def record_starts(
    stored: list[list[float]], rate: RateLimit, now: datetime, wanted: int
) -> tuple[list[list[float]], int]:
    """Pure window math: the window after recording up to ``wanted`` starts at ``now``, and
    how many fit (the window unchanged but trimmed when none does)."""
    now_ts = now.timestamp()
    starts = _in_window(stored, now_ts, rate)
    granted = min(wanted, rate.count - int(sum(count for _, count in starts)))
    if granted <= 0:
        return starts, 0
    width = rate.window / BUCKETS
    bucket = now_ts - now_ts % width
    if starts and starts[-1][0] == bucket:
        starts[-1][1] += granted
    else:
        starts.append([bucket, granted])
    return starts, granted


def _json(stored: Any) -> list[list[float]]:
    """The ``starts`` column as read by a cursor: text on most backends, decoded on some."""
    value = json.loads(stored) if isinstance(stored, str | bytes) else stored
    return list(value or [])


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
