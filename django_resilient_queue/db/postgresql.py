"""PostgreSQL: one-statement SKIP LOCKED claim, NOTIFY on enqueue, partial indexes."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import Job
from .base import CHANNEL, PartialIndexes
from .returning import ReturningClaimDialect


class PostgreSQLDialect(PartialIndexes, ReturningClaimDialect):
    """The production engine: LISTEN/NOTIFY wake-ups and a single round-trip claim."""

    vendor = "postgresql"
    supports_listen = True
    notifies_on_insert = True
    lock_clause = " FOR UPDATE SKIP LOCKED"
    values_row = "(%s::bigint, %s::integer, %s::jsonb, %s::timestamptz)"

    def bulk_insert(self, jobs: list[Job]) -> list[Job] | None:
        """ONE ``INSERT ... SELECT ... FROM unnest(arrays) RETURNING id``: no SQL text grows
        with the row count, and a column whose value every job shares goes as one value,
        not an array (adapting 10,000-element text arrays was most of the Python time).
        Single enqueues use it too: its SQL is cached, unlike the ORM's per-save compile."""
        if not jobs:
            return jobs
        columns = _job_columns(self.connection)
        if len(jobs) == 1:  # a single enqueue: plain VALUES plans faster
            return self._insert(jobs, _values_sql(), _row(columns, jobs[0]))
        shared: list[Any] = []  # parameters of the SELECT list, in order
        arrays: list[Any] = []  # then those of unnest()
        varying: list[bool] = []
        for column in columns:
            values = [getattr(job, column.attname) for job in jobs]
            if column.is_json:
                values = [None if v is None else json.dumps(v) for v in values]
            same = _all_equal(values)
            varying.append(not same)
            if same:
                shared.append(values[0])
            else:
                arrays.append(values)
        if not arrays:
            arrays.append(len(jobs))  # generate_series(1, n)
        return self._insert(jobs, _insert_sql(tuple(varying)), [*shared, *arrays])

    def _insert(self, jobs: list[Job], sql: str, params: list[Any]) -> list[Job]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
        for job, new_id in zip(jobs, ids, strict=True):
            job.pk = new_id
            job._state.adding = False
            job._state.db = self.connection.alias
        return jobs

    def create_notify_trigger_sql(self, table: str) -> list[str]:
        """A statement-level trigger: one NOTIFY per queue per INSERT statement, sent at
        commit, without a round trip of the enqueuer's own (bulk inserts included)."""
        return [
            "CREATE OR REPLACE FUNCTION resilient_queue_notify() RETURNS trigger AS $$ "
            "BEGIN "
            f"PERFORM pg_notify('{CHANNEL}', q.queue) "
            "FROM (SELECT DISTINCT queue FROM new_jobs) AS q; "
            "RETURN NULL; "
            "END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER resilient_queue_job_inserted AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT "
            "EXECUTE FUNCTION resilient_queue_notify()",
        ]

    def drop_notify_trigger_sql(self, table: str) -> list[str]:
        """Return the DDL that undoes ``create_notify_trigger_sql``."""
        return [
            f"DROP TRIGGER IF EXISTS resilient_queue_job_inserted ON {table}",
            "DROP FUNCTION IF EXISTS resilient_queue_notify()",
        ]

    def notify(self, queue: str) -> None:
        """Send NOTIFY in the current transaction: PostgreSQL delivers it only on commit."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, queue])


@dataclass(frozen=True)
class _Column:
    attname: str
    name: str  # quoted
    cast: str
    is_json: bool


_columns: tuple[_Column, ...] = ()


def _job_columns(connection: BaseDatabaseWrapper) -> tuple[_Column, ...]:
    """The Job columns an insert writes (all but the id), read from the model once."""
    global _columns
    if not _columns:
        _columns = tuple(
            _Column(
                attname=field.attname,
                name=connection.ops.quote_name(str(field.column)),
                cast=str(field.db_type(connection)),
                is_json=isinstance(field, models.JSONField),
            )
            for field in Job._meta.concrete_fields
            if not field.primary_key
        )
    return _columns


@functools.lru_cache(maxsize=128)
def _insert_sql(varying: tuple[bool, ...]) -> str:
    """The INSERT for one shape: which columns vary from job to job (unnested arrays)."""
    columns = _columns
    selected: list[str] = []
    unnested: list[str] = []
    for column, varies in zip(columns, varying, strict=True):
        if varies:
            selected.append(f"c{len(unnested)}")
            unnested.append(f"%s::{column.cast}[]")
        else:
            selected.append(f"%s::{column.cast}")
    if unnested:
        source = f"unnest({', '.join(unnested)}) WITH ORDINALITY"
        aliases = ", ".join([*(f"c{i}" for i in range(len(unnested))), "n"])
    else:
        source, aliases = "generate_series(1, %s)", "n"
    # The rows go in, and come back from RETURNING, in ordinality order: the ids match
    # the jobs one to one (Django's bulk_create relies on the same order).
    return (
        f'INSERT INTO "{Job._meta.db_table}" ({", ".join(c.name for c in columns)}) '
        f"SELECT {', '.join(selected)} FROM {source} AS u({aliases}) "
        'ORDER BY n RETURNING "id"'
    )


@functools.cache
def _values_sql() -> str:
    """The INSERT of one job."""
    columns = _columns
    return (
        f'INSERT INTO "{Job._meta.db_table}" ({", ".join(c.name for c in columns)}) '
        f"VALUES ({', '.join(f'%s::{c.cast}' for c in columns)}) "
        'RETURNING "id"'
    )


def _row(columns: tuple[_Column, ...], job: Job) -> list[Any]:
    """One job's column values, as the INSERT's parameters."""
    values = []
    for column in columns:
        value = getattr(job, column.attname)
        values.append(json.dumps(value) if column.is_json and value is not None else value)
    return values


def _all_equal(values: list[Any]) -> bool:
    """True when every value is the first one, and of its type (1, 1.0 and True differ)."""
    first = values[0]
    kind = type(first)
    return all(v == first and type(v) is kind for v in values)
