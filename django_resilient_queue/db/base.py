"""The portable claim (ORM, SELECT ... FOR UPDATE SKIP LOCKED) and the dialect interface."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from ..models import Job, JobStatus
from .clock import database_now_plus

CHANNEL = "resilient_queue"

Admit = Callable[[list[Job], datetime], list[Job]]


@dataclass(frozen=True)
class ClaimFilter:
    """What a claim must skip, as ORM and as SQL; built by the protection gates."""

    q: Q
    sql: str
    params: tuple[object, ...]
    only_task: str | None = None


def revert_claim(jobs: list[Job], alias: str) -> None:
    """Put refused jobs back as they were before the claim (no attempt used; the run
    number stays: a fencing token never repeats)."""
    if not jobs:
        return
    Job.objects.using(alias).filter(pk__in=[j.pk for j in jobs]).unclaim(
        status=JobStatus.QUEUED,
        worker_id=None,
        lease_expires_at=None,
        holds_place=False,
    )


class SuccessfulRun(NamedTuple):
    """A run that succeeded, as mark_succeeded writes it."""

    job_id: int
    run: int
    result: object
    started_at: datetime | None
    finished_at: datetime


class Dialect:
    """What differs between databases: the claim, wake-ups, connection set-up, indexes."""

    vendor = "base"
    # True where an UPDATE can return the rows it changed (the gates' one-statement take).
    returns_updated_rows = False
    # True where the concurrency places and the rate rows are taken in one statement.
    one_statement_gates = False
    # True where mark_succeeded also writes the runs' Attempt rows.
    records_success_attempts = False
    # True where a trigger on the job table sends the wake-up for every insert (the
    # migration creates it); elsewhere idle workers poll.
    notifies_on_insert = False

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def listener(
        self, wake: threading.Event, stop: threading.Event, queues: Sequence[str]
    ) -> threading.Thread | None:
        """A thread that sets ``wake`` when a job is enqueued for ``queues``; None: poll."""
        return None

    def prepare_worker_connection(self) -> None:
        """Tune a worker's connection once it is open (no-op by default)."""

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
        """Mark up to ``limit`` runnable jobs running for ``worker_id`` and return them.

        ``where`` skips held-back jobs; ``admit`` (called inside the claim's transaction)
        returns the claimed jobs that must be put back.
        """
        lease_until = now + timedelta(seconds=lease_seconds)
        alias = self.connection.alias
        with transaction.atomic(using=alias):
            candidates = (
                Job.objects.using(alias).runnable(now).in_queues(list(queues or [])).claim_order()
            )
            if where is not None:
                candidates = candidates.filter(where.q)
                if where.only_task:
                    candidates = candidates.filter(task=where.only_task, solo=False)
            jobs = list(candidates.select_for_update(skip_locked=True)[:limit])
            if not jobs:
                return []
            Job.objects.using(alias).filter(pk__in=[j.pk for j in jobs]).update(
                status=JobStatus.RUNNING,
                attempts=F("attempts") + 1,
                run=F("run") + 1,
                started_at=now,
                first_started_at=Coalesce(F("first_started_at"), now),
                lease_expires_at=database_now_plus(lease_seconds),  # the server's clock
                worker_id=worker_id,
                holds_place=False,
            )
            self._mark_claimed(jobs, worker_id, now, lease_until)
            if admit is not None:
                refused = admit(jobs, now)
                revert_claim(refused, alias)
                jobs = [j for j in jobs if j not in refused]
        return jobs

    @staticmethod
    def _mark_claimed(
        jobs: list[Job], worker_id: int, now: datetime, lease_until: datetime
    ) -> None:
        for claimed in jobs:
            claimed.status = JobStatus.RUNNING
            claimed.attempts += 1
            claimed.run += 1
            claimed.started_at = now
            claimed.first_started_at = claimed.first_started_at or now
            claimed.lease_expires_at = lease_until
            claimed.worker_id = worker_id
            claimed.holds_place = False

    def bulk_insert(self, jobs: list[Job]) -> list[Job] | None:
        """Insert many new jobs fast and set their ids; None: use the ORM's bulk_create."""
        return None

    def mark_succeeded(self, runs: Sequence[SuccessfulRun]) -> set[int] | None:
        """Mark many runs succeeded in one statement, fenced like every write; return the
        ids written, or None where unsupported. Where ``records_success_attempts``, the same
        statement writes the Attempt rows of the runs it marked."""
        return None

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
