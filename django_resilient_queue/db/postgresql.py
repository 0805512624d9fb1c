"""PostgreSQL: one-statement SKIP LOCKED claim, NOTIFY on enqueue, partial indexes."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import Attempt, Job
from .base import CHANNEL, PartialIndexes
from .returning import SUCCESS_RUNS, ReturningClaimDialect


class PostgreSQLDialect(PartialIndexes, ReturningClaimDialect):
    """The production engine: LISTEN/NOTIFY wake-ups and a single round-trip claim."""

    vendor = "postgresql"
    one_statement_gates = True
    notifies_on_insert = True
    lock_clause = " FOR UPDATE SKIP LOCKED"
    values_row = "(%s::bigint, %s::bigint, %s::jsonb, %s::timestamptz, %s::timestamptz)"
    records_success_attempts = True

    def listener(
        self, wake: threading.Event, stop: threading.Event, queues: Sequence[str]
    ) -> threading.Thread | None:
        """LISTEN on its own connection: an idle child wakes at each enqueue's NOTIFY."""
        from .listen import PostgresListener

        return PostgresListener(self.connection, wake, stop, queues)

    def lease_until(self, now: datetime, lease_seconds: float) -> tuple[str, object]:
        """A new lease's end on the server's clock, the one every worker shares."""
        return "STATEMENT_TIMESTAMP() + %s * INTERVAL '1 second'", lease_seconds

    def succeed_sql(self, values: str) -> str:
        """The fenced UPDATE and, in the same statement, the Attempt rows of exactly the runs
        it marked: one round trip per flush of successes instead of two."""
        quote = self.connection.ops.quote_name
        job = quote(Job._meta.db_table)
        attempt = quote(Attempt._meta.db_table)
        return (
            f"{SUCCESS_RUNS} AS (VALUES {values}), "
            f"done AS ({self.fenced_success()} "
            f"RETURNING {job}.id, {job}.attempts, {job}.worker_id, v.started_at, v.finished_at), "
            f"recorded AS (INSERT INTO {attempt} (job_id, number, worker_id, started_at, "
            "finished_at, outcome, failure_category, error_type, error_message, traceback) "
            "SELECT id, attempts, worker_id, started_at, finished_at, 'succeeded', '', '', '', '' "
            "FROM done) "
            "SELECT id FROM done"
        )

    def bulk_insert(self, jobs: list[Job]) -> list[Job] | None:
        """ONE ``INSERT ... SELECT ... FROM unnest(arrays) RETURNING id``: no SQL text grows
        with the row count, and a column whose value every job shares goes as one value,
        not an array (adapting 10,000-element text arrays was most of the Python time).
        Single enqueues use it too: its SQL is cached, unlike the ORM's per-save compile."""
        if not jobs:
            return jobs
        inserts = _job_inserts(self.connection)
        if len(jobs) == 1:
            return self._insert(jobs, inserts.one, inserts.row(jobs[0]))
        shared: list[Any] = []  # parameters of the SELECT list, in order
        arrays: list[Any] = []  # then those of unnest()
        varying: list[bool] = []
        for column in inserts.columns:
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
        return self._insert(jobs, inserts.many(tuple(varying)), [*shared, *arrays])

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


@dataclass(frozen=True)
class _Column:
    attname: str
    name: str  # quoted
    cast: str
    is_json: bool


class _JobInserts:
    """The INSERT statements of Job rows, built once per process and per shape."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        quote = connection.ops.quote_name
        self.columns = tuple(
            _Column(
                attname=field.attname,
                name=quote(str(field.column)),
                cast=str(field.db_type(connection)),
                is_json=isinstance(field, models.JSONField),
            )
            for field in Job._meta.concrete_fields
            if not field.primary_key
        )
        self.head = (
            f"INSERT INTO {quote(Job._meta.db_table)} ({', '.join(c.name for c in self.columns)}) "
        )
        self.returning = f" RETURNING {quote('id')}"
        # One job: plain VALUES, which plans faster than a SELECT.
        self.one = (
            f"{self.head}VALUES ({', '.join(f'%s::{c.cast}' for c in self.columns)})"
            f"{self.returning}"
        )
        self._by_shape: dict[tuple[bool, ...], str] = {}

    def row(self, job: Job) -> list[Any]:
        """One job's column values, as the parameters of ``one``."""
        values = []
        for column in self.columns:
            value = getattr(job, column.attname)
            values.append(json.dumps(value) if column.is_json and value is not None else value)
        return values

    def many(self, varying: tuple[bool, ...]) -> str:
        """The INSERT of many jobs: the varying columns come from unnested arrays, the
        others from one parameter each (SELECT-list parameters first, then the arrays)."""
        sql = self._by_shape.get(varying)
        if sql is None:
            selected: list[str] = []
            unnested: list[str] = []
            for column, varies in zip(self.columns, varying, strict=True):
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
            # The rows go in, and come back from RETURNING, in ordinality order: the ids
            # match the jobs one to one (Django's bulk_create relies on the same order).
            sql = (
                f"{self.head}SELECT {', '.join(selected)} FROM {source} AS u({aliases}) "
                f"ORDER BY n{self.returning}"
            )
            self._by_shape[varying] = sql
        return sql


_inserts: _JobInserts | None = None


def _job_inserts(connection: BaseDatabaseWrapper) -> _JobInserts:
    global _inserts
    if _inserts is None:
        _inserts = _JobInserts(connection)
    return _inserts


def _all_equal(values: list[Any]) -> bool:
    """True when every value is the first one, and of its type (1, 1.0 and True differ)."""
    first = values[0]
    kind = type(first)
    return all(v == first and type(v) is kind for v in values)
