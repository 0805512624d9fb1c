"""Rate and concurrency limits, enforced with conditional updates on Gate rows.

A claim takes the places of all its jobs at once: the concurrency places of every key
in one or two statements, whatever the number of jobs and keys, and each rate key in
two. These statements run on every gated claim and every flush of outcomes, so they
are written as SQL: building them through the ORM cost several times what the
database spends running them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import Gate, GateKind, Job
from .options import RateLimit

# Vendors whose UPDATE can say which rows it changed (RETURNING).
RETURNING_VENDORS = ("postgresql", "sqlite")


def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(Gate)]


def _names(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """The quoted table and column names (``limit`` and ``window`` are reserved words)."""
    quote = connection.ops.quote_name
    fields = Gate._meta.concrete_fields
    names = {field.name: quote(field.column or field.name) for field in fields}
    names["table"] = quote(Gate._meta.db_table)
    return names


def _case(column: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``CASE column WHEN key THEN value ... END`` for every key of ``values``."""
    params: list[Any] = []
    for key, value in values.items():
        params.extend([key, value])
    return f"CASE {column} " + "WHEN %s THEN %s " * len(values) + "END", params


def _in(values: Sequence[object]) -> str:
    return "(" + ", ".join(["%s"] * len(values)) + ")"


def _ensure_gates(kind: str, limits: Mapping[str, int], window: float = 0.0) -> None:
    """Create the missing rows of these keys (a concurrent claim may create them first)."""
    Gate.objects.bulk_create(
        [Gate(key=key, kind=kind, limit=limit, window=window) for key, limit in limits.items()],
        ignore_conflicts=True,
    )


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
    granted: dict[str, int] = {}
    if connection.vendor in RETURNING_VENDORS:
        granted = _take_where_all_fit(connection, wanted)
    rest = {key: pair for key, pair in wanted.items() if key not in granted}
    if rest:
        granted.update(_take_what_fits(connection, rest))
    return granted


def take_places_and_lock_rates(
    wants: Mapping[str, tuple[int, int]],
    holders: Mapping[str, Sequence[int]],
    rate_keys: Sequence[str],
) -> tuple[dict[str, int], dict[str, tuple[int, Any]]] | None:
    """PostgreSQL only (None elsewhere): in ONE statement, take the concurrency places of
    every key that has room for all it wants, mark the runs ``holders[key]`` that hold
    them, and lock and read the rows of ``rate_keys``. Return (places taken per key, rate
    rows by key as (id, starts)); keys missing from either were not done here.

    One statement instead of four keeps the gate rows locked for less time: every claim
    of a key queues behind the transaction that holds its row.
    """
    connection = _connection()
    if connection.vendor != "postgresql" or not (wants or rate_keys):
        return None
    n = _names(connection)
    parts: list[str] = []
    selects: list[str] = []
    params: list[Any] = []
    if wants:
        update, update_params = _all_fit_update(n, wants)
        parts.append(f"taken AS ({update})")
        params += update_params
        keys = list(wants)
        ids = [pk for key in keys for pk in holders.get(key, ())]
        if ids:
            job = connection.ops.quote_name(Job._meta.db_table)
            parts.append(
                f"marked AS (UPDATE {job} SET holds_place = TRUE WHERE id IN {_in(ids)} "
                f"AND concurrency_key IN (SELECT {n['key']} FROM taken))"
            )
            params += ids
        selects.append(f"SELECT 'c', {n['key']}, NULL::bigint, NULL::text FROM taken")
    if rate_keys:
        parts.append(
            f"rates AS (SELECT {n['id']}, {n['key']}, {n['starts']} FROM {n['table']} "
            f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(rate_keys)} "
            f"ORDER BY {n['key']} FOR UPDATE)"
        )
        params += [GateKind.RATE, *rate_keys]
        selects.append(f"SELECT 'r', {n['key']}, {n['id']}, {n['starts']}::text FROM rates")
    sql = "WITH " + ", ".join(parts) + " " + " UNION ALL ".join(selects)
    taken: dict[str, int] = {}
    rates: dict[str, tuple[int, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for what, key, pk, starts in cursor.fetchall():
            if what == "c":
                taken[key] = wants[key][1]
            else:
                rates[key] = (pk, starts)
    return taken, rates


def _all_fit_update(
    n: Mapping[str, str], wanted: Mapping[str, tuple[int, int]]
) -> tuple[str, list[Any]]:
    """``UPDATE … RETURNING key`` taking the places of every key with room for all it wants
    (keys in sorted order, so concurrent claims lock rows in the same order)."""
    ordered = dict(sorted(wanted.items()))
    counts, count_params = _case(n["key"], {k: w for k, (_, w) in ordered.items()})
    caps, cap_params = _case(n["key"], {k: limit for k, (limit, _) in ordered.items()})
    keys = list(ordered)
    sql = (
        f"UPDATE {n['table']} SET {n['running']} = {n['running']} + {counts}, "
        f"{n['limit']} = {caps} WHERE {n['kind']} = %s AND {n['key']} IN {_in(keys)} "
        f"AND {n['running']} + {counts} <= {caps} RETURNING {n['key']}"
    )
    params = [*count_params, *cap_params, GateKind.CONCURRENCY, *keys, *count_params, *cap_params]
    return sql, params


def _take_where_all_fit(
    connection: BaseDatabaseWrapper, wanted: Mapping[str, tuple[int, int]]
) -> dict[str, int]:
    sql, params = _all_fit_update(_names(connection), wanted)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: wanted[row[0]][1] for row in cursor.fetchall()}


def _take_what_fits(
    connection: BaseDatabaseWrapper, wanted: Mapping[str, tuple[int, int]]
) -> dict[str, int]:
    n = _names(connection)
    keys = list(wanted)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = (
        f"SELECT {n['key']}, {n['running']} FROM {n['table']} "
        f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(keys)} ORDER BY {n['key']}{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(select, [GateKind.CONCURRENCY, *keys])
        running = dict(cursor.fetchall())
        missing = {key: wanted[key][0] for key in keys if key not in running}
        if missing:
            _ensure_gates(GateKind.CONCURRENCY, missing)
            cursor.execute(select, [GateKind.CONCURRENCY, *keys])
            running = dict(cursor.fetchall())
        granted = {
            key: min(count, limit - running[key])
            for key, (limit, count) in wanted.items()
            if key in running and limit - running[key] > 0
        }
        if granted:
            counts, count_params = _case(n["key"], granted)
            caps, cap_params = _case(n["key"], {k: wanted[k][0] for k in granted})
            cursor.execute(
                f"UPDATE {n['table']} SET {n['running']} = {n['running']} + {counts}, "
                f"{n['limit']} = {caps} "
                f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(list(granted))}",
                [*count_params, *cap_params, GateKind.CONCURRENCY, *granted],
            )
    return granted


def release_concurrency(counts: Mapping[str, int]) -> None:
    """Give back running places per key (the jobs ended, however they ended): one statement.

    Never below zero, even if an operator reset a row meanwhile.
    """
    freed = {key: count for key, count in sorted(counts.items()) if count > 0}
    if not freed:
        return
    connection = _connection()
    n = _names(connection)
    amount, params = _case(n["key"], freed)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {n['table']} SET {n['running']} = CASE WHEN {n['running']} >= {amount} "
            f"THEN {n['running']} - {amount} ELSE 0 END "
            f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(list(freed))}",
            [*params, *params, GateKind.CONCURRENCY, *freed],
        )


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
    n = _names(connection)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = (
        f"SELECT {n['id']}, {n['starts']} FROM {n['table']} "
        f"WHERE {n['kind']} = %s AND {n['key']} = %s{lock}"
    )
    with connection.cursor() as cursor:
        row = locked
        if row is None:
            cursor.execute(select, [GateKind.RATE, key])
            row = cursor.fetchone()
        if row is None:
            _ensure_gates(GateKind.RATE, {key: rate.count}, rate.window)
            cursor.execute(select, [GateKind.RATE, key])
            row = cursor.fetchone()
        pk, stored = row
        now_ts = now.timestamp()
        starts = _in_window(_json(stored), now_ts, rate)
        granted = min(wanted, rate.count - int(sum(count for _, count in starts)))
        if granted <= 0:
            return 0
        width = rate.window / BUCKETS
        bucket = now_ts - now_ts % width
        if starts and starts[-1][0] == bucket:
            starts[-1][1] += granted
        else:
            starts.append([bucket, granted])
        blocked = _blocked_until(starts, rate, now, now_ts)
        cursor.execute(
            f"UPDATE {n['table']} SET {n['starts']} = %s, {n['blocked_until']} = %s, "
            f"{n['version']} = {n['version']} + 1, {n['limit']} = %s, {n['window']} = %s "
            f"WHERE {n['id']} = %s",
            [
                Gate._meta.get_field("starts").get_db_prep_value(starts, connection),
                connection.ops.adapt_datetimefield_value(blocked),
                rate.count,
                rate.window,
                pk,
            ],
        )
    return granted


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
