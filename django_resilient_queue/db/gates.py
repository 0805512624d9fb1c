"""The SQL of rate and concurrency limits: conditional updates on Gate rows.

These statements run on every gated claim and every flush of outcomes, so they are
written as SQL: building them through the ORM cost several times what the database
spends running them. The decisions (how many places fit, the sliding window) are made
by ``protection/limits.py``; this module only reads, locks and writes rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import Gate, GateKind, Job
from . import dialect_for


def _names(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """The quoted table and column names (``limit`` and ``window`` are reserved words)."""
    quote = connection.ops.quote_name
    names = {field.name: quote(field.column or field.name) for field in Gate._meta.concrete_fields}
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


def _lock(connection: BaseDatabaseWrapper) -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def ensure_gates(kind: str, limits: Mapping[str, int], window: float = 0.0) -> None:
    """Create the missing rows of these keys (a concurrent claim may create them first)."""
    Gate.objects.bulk_create(
        [Gate(key=key, kind=kind, limit=limit, window=window) for key, limit in limits.items()],
        ignore_conflicts=True,
    )


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


def take_where_all_fit(
    connection: BaseDatabaseWrapper, wanted: Mapping[str, tuple[int, int]]
) -> dict[str, int] | None:
    """One statement taking the places of each key with room for all it wants; return
    key → places taken, or None where the database cannot say which rows it updated."""
    if not dialect_for(connection).returns_updated_rows:
        return None
    sql, params = _all_fit_update(_names(connection), wanted)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: wanted[row[0]][1] for row in cursor.fetchall()}


def lock_running_counts(connection: BaseDatabaseWrapper, keys: Sequence[str]) -> dict[str, int]:
    """Lock the concurrency rows of ``keys`` (in key order) and return their running counts."""
    n = _names(connection)
    select = (
        f"SELECT {n['key']}, {n['running']} FROM {n['table']} "
        f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(keys)} ORDER BY {n['key']}"
        f"{_lock(connection)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(select, [GateKind.CONCURRENCY, *keys])
        return dict(cursor.fetchall())


def add_places(
    connection: BaseDatabaseWrapper, granted: Mapping[str, int], limits: Mapping[str, int]
) -> None:
    """Add ``granted[key]`` running places to each key's row (locked), and store its limit."""
    n = _names(connection)
    counts, count_params = _case(n["key"], granted)
    caps, cap_params = _case(n["key"], {key: limits[key] for key in granted})
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {n['table']} SET {n['running']} = {n['running']} + {counts}, "
            f"{n['limit']} = {caps} "
            f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(list(granted))}",
            [*count_params, *cap_params, GateKind.CONCURRENCY, *granted],
        )


def release_places(connection: BaseDatabaseWrapper, freed: Mapping[str, int]) -> None:
    """Give back running places per key in one statement, never below zero."""
    n = _names(connection)
    amount, params = _case(n["key"], freed)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {n['table']} SET {n['running']} = CASE WHEN {n['running']} >= {amount} "
            f"THEN {n['running']} - {amount} ELSE 0 END "
            f"WHERE {n['kind']} = %s AND {n['key']} IN {_in(list(freed))}",
            [*params, *params, GateKind.CONCURRENCY, *freed],
        )


def take_places_and_lock_rates(
    connection: BaseDatabaseWrapper,
    wants: Mapping[str, tuple[int, int]],
    holders: Mapping[str, Sequence[int]],
    rate_keys: Sequence[str],
) -> tuple[dict[str, int], dict[str, tuple[int, Any]]] | None:
    """In ONE statement where the dialect can (None elsewhere): take the concurrency places
    of every key with room for all it wants, mark the runs ``holders[key]`` that hold them,
    and lock and read the rows of ``rate_keys``. Return (places taken per key, rate rows by
    key as (id, starts)); keys missing from either were not done here.

    One statement instead of four keeps the gate rows locked for less time: every claim
    of a key queues behind the transaction that holds its row.
    """
    if not dialect_for(connection).one_statement_gates or not (wants or rate_keys):
        return None
    n = _names(connection)
    parts: list[str] = []
    selects: list[str] = []
    params: list[Any] = []
    if wants:
        update, update_params = _all_fit_update(n, wants)
        parts.append(f"taken AS ({update})")
        params += update_params
        ids = [pk for key in wants for pk in holders.get(key, ())]
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


def lock_rate_row(connection: BaseDatabaseWrapper, key: str) -> tuple[int, Any] | None:
    """Lock and read the rate row of ``key`` as (id, starts as stored); None if missing."""
    n = _names(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {n['id']}, {n['starts']} FROM {n['table']} "
            f"WHERE {n['kind']} = %s AND {n['key']} = %s{_lock(connection)}",
            [GateKind.RATE, key],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def write_rate_row(
    connection: BaseDatabaseWrapper,
    pk: int,
    starts: list[list[float]],
    blocked_until: Any,
    count: int,
    window: float,
) -> None:
    """Store a rate row's window (locked by this transaction) and when it frees a place."""
    n = _names(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {n['table']} SET {n['starts']} = %s, {n['blocked_until']} = %s, "
            f"{n['version']} = {n['version']} + 1, {n['limit']} = %s, {n['window']} = %s "
            f"WHERE {n['id']} = %s",
            [
                Gate._meta.get_field("starts").get_db_prep_value(starts, connection),
                connection.ops.adapt_datetimefield_value(blocked_until),
                count,
                window,
                pk,
            ],
        )
