"""PostgreSQL: one-statement SKIP LOCKED claim, NOTIFY on enqueue, partial indexes."""

from __future__ import annotations

from .base import CHANNEL, PartialIndexes
from .returning import ReturningClaimDialect


class PostgreSQLDialect(PartialIndexes, ReturningClaimDialect):
    """The production engine: LISTEN/NOTIFY wake-ups and a single round-trip claim."""

    vendor = "postgresql"
    supports_listen = True
    notifies_on_insert = True
    lock_clause = " FOR UPDATE SKIP LOCKED"
    values_row = "(%s::bigint, %s::integer, %s::jsonb, %s::timestamptz)"

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
