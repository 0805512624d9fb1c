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
        """ONE ``INSERT ... SELECT ... FROM unnest(arrays) RETURNING id``: no SQL text grows
        with the row count, and a column whose value every job shares goes as one value,
        not an array (adapting 10,000-element text arrays was most of the Python time)."""
        if not jobs:
            return jobs
        connection = self.connection
        quote = connection.ops.quote_name
        fields = [f for f in Job._meta.concrete_fields if not f.primary_key]
        selected: list[str] = []
        unnested: list[str] = []
        shared: list[Any] = []  # parameters of the SELECT list, in order
        arrays: list[Any] = []  # then those of unnest()
        for field in fields:
            values = [getattr(job, field.attname) for job in jobs]
            if isinstance(field, models.JSONField):
                values = [None if v is None else json.dumps(v) for v in values]
            cast = field.db_type(connection)
            if _all_equal(values):
                selected.append(f"%s::{cast}")
                shared.append(values[0])
            else:
                name = f"c{len(unnested)}"
                selected.append(name)
                unnested.append(f"%s::{cast}[]")
                arrays.append(values)
        if unnested:
            source = f"unnest({', '.join(unnested)}) WITH ORDINALITY"
            aliases = [*(f"c{i}" for i in range(len(unnested))), "n"]
        else:
            source, aliases = "generate_series(1, %s)", ["n"]
            arrays.append(len(jobs))
        # The rows go in, and come back from RETURNING, in ordinality order: the ids
        # match the jobs one to one (Django's bulk_create relies on the same order).
        sql = (
            f"INSERT INTO {quote(Job._meta.db_table)} "
            f"({', '.join(quote(str(f.column)) for f in fields)}) "
            f"SELECT {', '.join(selected)} FROM {source} AS u({', '.join(aliases)}) "
            f"ORDER BY n RETURNING {quote('id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*shared, *arrays])
            ids = [row[0] for row in cursor.fetchall()]
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


def _all_equal(values: list[Any]) -> bool:
    """True when every value is the first one, and of its type (1, 1.0 and True differ)."""
    first = values[0]
    kind = type(first)
    return all(v == first and type(v) is kind for v in values)
