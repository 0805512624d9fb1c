"""PostgreSQL: one-statement SKIP LOCKED claim, NOTIFY on enqueue, partial indexes."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

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
        """Ids from the sequence, then ONE ``INSERT ... SELECT FROM unnest(arrays)``: no SQL
        text grows with the row count and no per-value ORM preparation (bulk enqueue of
        10,000 jobs went from about 10k to over 20k jobs/s)."""
        if not jobs:
            return jobs
        connection = self.connection
        table = Job._meta.db_table
        fields = [f for f in Job._meta.concrete_fields if not f.primary_key]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(jobs)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            columns: list[list[Any]] = [ids]
            casts = ["bigint[]"]
            for field in fields:
                values = [getattr(job, field.attname) for job in jobs]
                if isinstance(field, models.JSONField):
                    values = [None if v is None else json.dumps(v) for v in values]
                columns.append(values)
                casts.append(f"{field.db_type(connection)}[]")
            names = ", ".join(
                connection.ops.quote_name(c) for c in ["id", *(str(f.column) for f in fields)]
            )
            arrays = ", ".join(f"%s::{cast}" for cast in casts)
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(table)} ({names}) "
                f"SELECT * FROM unnest({arrays})",
                columns,
            )
        for job, new_id in zip(jobs, ids, strict=True):
            job.pk = new_id
            job._state.adding = False
            job._state.db = connection.alias
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
