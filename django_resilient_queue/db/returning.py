"""The one-statement claim, ``UPDATE ... WHERE id IN (SELECT ...) RETURNING``, shared by
PostgreSQL (with FOR UPDATE SKIP LOCKED in the sub-select) and SQLite (whose single
statement is atomic under its database-wide write lock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ..models import Job
from .base import Dialect


class ReturningClaimDialect(Dialect):
    """Claim with one round trip instead of SELECT + UPDATE in a transaction."""

    lock_clause = ""

    def claim(
        self,
        *,
        worker_id: int,
        queues: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
        now: datetime,
    ) -> list[Job]:
        """Mark up to ``limit`` runnable jobs running for ``worker_id`` and return them."""
        ops = self.connection.ops
        table = ops.quote_name(Job._meta.db_table)
        now_db = ops.adapt_datetimefield_value(now)
        lease_db = ops.adapt_datetimefield_value(now + timedelta(seconds=lease_seconds))
        params: list[object] = [worker_id, now_db, now_db, lease_db, "queued", now_db]
        queue_filter = ""
        if queues:
            queue_filter = f" AND queue IN ({', '.join(['%s'] * len(queues))})"
            params.extend(queues)
        params.append(limit)
        sql = (
            f"UPDATE {table} SET status = 'running', attempts = attempts + 1, worker_id = %s, "
            "started_at = %s, first_started_at = COALESCE(first_started_at, %s), "
            "lease_expires_at = %s "
            f"WHERE id IN (SELECT id FROM {table} WHERE status = %s AND run_after <= %s"
            f"{queue_filter} ORDER BY priority DESC, run_after, id LIMIT %s{self.lock_clause}) "
            "RETURNING *"
        )
        claimed = list(Job.objects.raw(sql, params).using(self.connection.alias))
        # RETURNING gives no order; callers run them in claim order.
        return sorted(claimed, key=lambda job: (-job.priority, job.run_after, job.pk))
