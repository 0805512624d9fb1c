"""PostgreSQL: one-statement SKIP LOCKED claim, NOTIFY on enqueue, partial indexes."""

from __future__ import annotations

from .base import CHANNEL, PartialIndexes
from .returning import ReturningClaimDialect


class PostgreSQLDialect(PartialIndexes, ReturningClaimDialect):
    """The production engine: LISTEN/NOTIFY wake-ups and a single round-trip claim."""

    vendor = "postgresql"
    supports_listen = True
    lock_clause = " FOR UPDATE SKIP LOCKED"
    values_row = "(%s::bigint, %s::integer, %s::jsonb, %s::timestamptz)"

    def notify(self, queue: str) -> None:
        """Send NOTIFY in the current transaction: PostgreSQL delivers it only on commit."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, queue])
