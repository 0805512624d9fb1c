"""The portable claim (ORM, SELECT ... FOR UPDATE SKIP LOCKED) and the dialect interface."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.db.models.functions import Coalesce

from ..models import Job, JobStatus

CHANNEL = "resilient_queue"


class Dialect:
    """What differs between databases: the claim, wake-ups, connection set-up, indexes."""

    vendor = "base"
    supports_listen = False

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def prepare_worker_connection(self) -> None:
        """Tune a worker's connection once it is open (no-op by default)."""

    def notify(self, queue: str) -> None:
        """Wake idle workers when the current transaction commits (no-op: they poll)."""

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
        lease_until = now + timedelta(seconds=lease_seconds)
        with transaction.atomic(using=self.connection.alias):
            candidates = (
                Job.objects.using(self.connection.alias)
                .runnable(now)
                .in_queues(list(queues or []))
                .claim_order()
                .select_for_update(skip_locked=True)
            )
            jobs = list(candidates[:limit])
            if not jobs:
                return []
            Job.objects.using(self.connection.alias).filter(pk__in=[j.pk for j in jobs]).update(
                status=JobStatus.RUNNING,
                attempts=F("attempts") + 1,
                started_at=now,
                first_started_at=Coalesce(F("first_started_at"), now),
                lease_expires_at=lease_until,
                worker_id=worker_id,
            )
        for claimed in jobs:
            claimed.status = JobStatus.RUNNING
            claimed.attempts += 1
            claimed.started_at = now
            claimed.first_started_at = claimed.first_started_at or now
            claimed.lease_expires_at = lease_until
            claimed.worker_id = worker_id
        return jobs

    def create_indexes_sql(self, table: str) -> list[str]:
        """Return the claim and reaper index DDL for this database."""
        raise NotImplementedError

    def drop_indexes_sql(self, table: str) -> list[str]:
        """Return the DDL that undoes ``create_indexes_sql``."""
        raise NotImplementedError


class PartialIndexes:
    """Claim and reaper indexes that hold only queued or running rows (PostgreSQL, SQLite):
    finished rows never enter them, so the claim stays flat as history piles up."""

    def create_indexes_sql(self, table: str) -> list[str]:
        """Return the partial index DDL."""
        return [
            f"CREATE INDEX drq_job_runnable ON {table} (queue, priority DESC, run_after, id) "
            "WHERE status = 'queued'",
            f"CREATE INDEX drq_job_runnable_any ON {table} (priority DESC, run_after, id) "
            "WHERE status = 'queued'",
            f"CREATE INDEX drq_job_lease ON {table} (lease_expires_at) WHERE status = 'running'",
        ]

    def drop_indexes_sql(self, table: str) -> list[str]:
        """Return the DDL that undoes ``create_indexes_sql``."""
        return [
            "DROP INDEX IF EXISTS drq_job_runnable",
            "DROP INDEX IF EXISTS drq_job_runnable_any",
            "DROP INDEX IF EXISTS drq_job_lease",
        ]
