"""The Job row: one unit of work, from enqueue to its final status."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from .fields import SafeJSONField

if TYPE_CHECKING:
    from .dead_letter import DeadLetter


class JobStatus(models.TextChoices):
    """Where a job is in its life."""

    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobQuerySet(models.QuerySet["Job"]):
    """The vocabulary the worker, commands and admin share."""

    def queued(self) -> JobQuerySet:
        """Jobs waiting to run, now or later."""
        return self.filter(status=JobStatus.QUEUED)

    def runnable(self, now: datetime | None = None) -> JobQuerySet:
        """Jobs that may start now."""
        return self.filter(status=JobStatus.QUEUED, run_after__lte=now or timezone.now())

    def running(self) -> JobQuerySet:
        """Jobs a worker holds."""
        return self.filter(status=JobStatus.RUNNING)

    def run_of(self, job_id: int, run: int) -> JobQuerySet:
        """The fence of every write about a run: the job, while it still runs that run."""
        return self.filter(pk=job_id, run=run, status=JobStatus.RUNNING)

    def unclaim(self, **changes: Any) -> int:
        """Give the selected claimed jobs back their attempt, as if never claimed, with
        ``changes`` besides; return how many rows changed. The run number stays: a
        fencing token never repeats."""
        return self.update(
            # First: MySQL evaluates SET left to right, so this must read attempts before
            # the decrement (attempts=1 means this was the job's first claim).
            first_started_at=models.Case(
                models.When(attempts=1, then=models.Value(None)),
                default=models.F("first_started_at"),
            ),
            attempts=models.F("attempts") - 1,
            **changes,
        )

    def finished(self) -> JobQuerySet:
        """Jobs in a final status."""
        return self.filter(status__in=FINISHED_STATUSES)

    def in_queues(self, queues: list[str] | None) -> JobQuerySet:
        """Restrict to ``queues`` (all queues when None or empty)."""
        return self.filter(queue__in=queues) if queues else self

    def claim_order(self) -> JobQuerySet:
        """Highest priority first, then the longest waiting."""
        return self.order_by("-priority", "run_after", "id")


class Job(models.Model):
    """A unit of work: which ``@job`` to call, with what, and how it went."""

    id = models.BigAutoField(primary_key=True)
    task = models.CharField(max_length=255, help_text="Dotted path of the @job function.")
    queue = models.CharField(max_length=100, default="default")
    priority = models.SmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    args = SafeJSONField(default=list, blank=True)
    kwargs = SafeJSONField(default=dict, blank=True)
    run_after = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0, help_text="Runs that started.")
    # The fencing token's run number: grows by one at every claim and never goes back,
    # even when a run is given back unstarted or released, so (id, run) never repeats.
    run = models.PositiveBigIntegerField(default=0, editable=False)
    max_attempts = models.PositiveIntegerField(default=3)
    stalls = models.PositiveIntegerField(default=0, help_text="Runs lost with their worker.")
    timeout = models.FloatField(null=True, blank=True, help_text="Hard limit in seconds.")
    result = SafeJSONField(null=True, blank=True)
    unique_key = models.CharField(max_length=255, null=True, blank=True)
    # Set while the job holds its uniqueness; the UNIQUE index makes concurrent
    # enqueuers of one key race in the database, not in Python. NULLs never clash,
    # which gives MariaDB the partial unique index it lacks.
    unique_lock = models.CharField(max_length=64, null=True, blank=True, editable=False)
    unique_until = models.DateTimeField(null=True, blank=True)
    progress = SafeJSONField(default=dict, blank=True)
    # The last value the job stored with context.checkpoint(); read back by the next attempt.
    checkpoint = SafeJSONField(null=True, blank=True)
    # A queued job not started by then never runs (it ends cancelled, reason "expired").
    expires_at = models.DateTimeField(null=True, blank=True)
    # Seconds without a change of progress after which a running job is stopped as stalled.
    stall_timeout = models.FloatField(null=True, blank=True)
    # Set by the cancel action on a running job: the worker running it stops it.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Why the job ended in its final status when that is not its own doing ("expired", …).
    reason = models.CharField(max_length=255, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    concurrency_key = models.CharField(max_length=255, null=True, blank=True)
    # While running: this run holds one of its key's concurrency places, given back when
    # this run ends, however it ends. A worker running jobs one after another holds one
    # place per key for all the jobs of that key it claimed ahead (on the last of them).
    holds_place = models.BooleanField(default=False, editable=False)
    rate_limit_key = models.CharField(max_length=255, null=True, blank=True)
    breaker_key = models.CharField(max_length=255, null=True, blank=True)
    # Batching: a job split out of a failed batch runs alone.
    solo = models.BooleanField(default=False)
    # Priority aging: when the job last gained priority for waiting.
    aged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    first_started_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.ForeignKey(
        "django_resilient_queue.Worker",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_constraint=False,
    )

    objects = JobQuerySet.as_manager()

    if TYPE_CHECKING:
        dead_letters: models.Manager[DeadLetter]

    class Meta:
        permissions = [
            ("retry_job", "Can retry jobs now"),
            ("cancel_job", "Can cancel jobs"),
            ("change_job_priority", "Can change the priority of jobs"),
        ]
        # The claim and reaper indexes are partial where the database allows it;
        # they are created per vendor in migration 0002 (see db/).
        indexes = [
            models.Index(fields=["status", "finished_at"], name="drq_job_status_finished"),
            models.Index(fields=["task", "created_at"], name="drq_job_task_created"),
        ]
        # A constraint rather than unique=True: on PostgreSQL the field would also get a
        # second, pattern-matching index that no query uses and every write maintains.
        constraints = [models.UniqueConstraint(fields=["unique_lock"], name="drq_job_unique_lock")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task} [{self.status}]"

    @property
    def is_finished(self) -> bool:
        """True once the job reached a final status."""
        return self.status in FINISHED_STATUSES

    def describe(self) -> dict[str, Any]:
        """Return a JSON-ready summary (used by commands and alerts)."""
        return {
            "id": self.pk,
            "task": self.task,
            "queue": self.queue,
            "priority": self.priority,
            "status": self.status,
            "attempts": self.attempts,
        }
