"""The one-statement claim, ``UPDATE ... WHERE id IN (SELECT ...) RETURNING``, shared by
PostgreSQL (with FOR UPDATE SKIP LOCKED in the sub-select) and SQLite (whose single
statement is atomic under its database-wide write lock)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from ..models import Job
from .base import Admit, ClaimFilter, Dialect, SuccessfulRun, revert_claim

# The runs of a flush of successes, as a CTE.
SUCCESS_RUNS = "WITH v(id, run, result, started_at, finished_at)"


class ReturningClaimDialect(Dialect):
    """Claim with one round trip instead of SELECT + UPDATE in a transaction."""

    lock_clause = ""
    returns_updated_rows = True
    # How one row of the VALUES list in mark_succeeded is typed.
    values_row = "(%s, %s, %s, %s, %s)"

    def mark_succeeded(self, runs: Sequence[SuccessfulRun]) -> set[int] | None:
        """One UPDATE ... FROM (VALUES ...) RETURNING for a flush of successes: a benchmark
        drain of no-op jobs went from two statements per job to two per flush."""
        if not runs:
            return set()
        adapt = self.connection.ops.adapt_datetimefield_value
        params: list[Any] = []
        for run in runs:
            encoded = None if run.result is None else json.dumps(run.result)
            params.extend(
                [run.job_id, run.run, encoded, adapt(run.started_at), adapt(run.finished_at)]
            )
        values = ", ".join([self.values_row] * len(runs))
        with self.connection.cursor() as cursor:
            cursor.execute(self.succeed_sql(values), params)
            return {row[0] for row in cursor.fetchall()}

    def succeed_sql(self, values: str) -> str:
        """The statement of mark_succeeded, its runs in ``values``; it returns the ids written."""
        table = self.connection.ops.quote_name(Job._meta.db_table)
        return f"{SUCCESS_RUNS} AS (VALUES {values}) {self.fenced_success()} RETURNING {table}.id"

    def fenced_success(self) -> str:
        """The UPDATE that marks the runs of ``v`` succeeded, each fenced by (id, run)."""
        table = self.connection.ops.quote_name(Job._meta.db_table)
        return (
            f"UPDATE {table} SET status = 'succeeded', result = v.result, "
            "finished_at = v.finished_at, lease_expires_at = NULL "
            f"FROM v WHERE {table}.id = v.id AND {table}.run = v.run "
            f"AND {table}.status = 'running'"
        )

    def lease_until(self, now: datetime, lease_seconds: float) -> tuple[str, object]:
        """The SQL (one parameter) of a new lease's end. SQLite runs in the worker's
        process, so its clock is the host's: the worker's ``now`` is the database's."""
        adapt = self.connection.ops.adapt_datetimefield_value
        return "%s", adapt(now + timedelta(seconds=lease_seconds))

    def claim(
        self,
        *,
        worker_id: int,
        queues: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
        now: datetime,
        where: ClaimFilter | None = None,
        admit: Admit | None = None,
    ) -> list[Job]:
        """Mark up to ``limit`` runnable jobs running for ``worker_id`` and return them."""
        ops = self.connection.ops
        table = ops.quote_name(Job._meta.db_table)
        now_db = ops.adapt_datetimefield_value(now)
        lease_sql, lease_param = self.lease_until(now, lease_seconds)
        params: list[object] = [worker_id, now_db, now_db, lease_param, False, now_db]
        queue_filter = ""
        if queues:
            queue_filter = f" AND queue IN ({', '.join(['%s'] * len(queues))})"
            params.extend(queues)
        if where is not None:
            queue_filter += where.sql
            params.extend(where.params)
            if where.only_task:
                queue_filter += " AND task = %s AND solo = %s"
                params.extend([where.only_task, False])
        params.append(limit)
        sql = (
            f"UPDATE {table} SET status = 'running', attempts = attempts + 1, run = run + 1, "
            "worker_id = %s, "
            "started_at = %s, first_started_at = COALESCE(first_started_at, %s), "
            f"lease_expires_at = {lease_sql}, holds_place = %s "
            # status is a literal, not a parameter: SQLite uses a partial index only when
            # the query's text implies its WHERE (with a parameter it sorted every
            # queued row on each claim).
            f"WHERE id IN (SELECT id FROM {table} WHERE status = 'queued' AND run_after <= %s"
            f"{queue_filter} ORDER BY priority DESC, run_after, id LIMIT %s{self.lock_clause}) "
            "RETURNING *"
        )
        alias = self.connection.alias
        # Without gates the single statement is its own transaction; with them, admission
        # must commit or roll back together with the claim.
        with transaction.atomic(using=alias) if admit is not None else nullcontext():
            # RETURNING gives no order: sort into claim order before admission and running.
            claimed = sorted(
                Job.objects.raw(sql, params).using(alias),
                key=lambda job: (-job.priority, job.run_after, job.pk),
            )
            if admit is not None and claimed:
                refused = admit(claimed, now)
                revert_claim(refused, alias)
                claimed = [j for j in claimed if j not in refused]
        return claimed
