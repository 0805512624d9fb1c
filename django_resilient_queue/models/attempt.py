"""One run of a job, whatever its outcome."""

from __future__ import annotations

from django.db import models

from .failure import FailureDetails


class AttemptOutcome(models.TextChoices):
    """How a run ended."""

    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    TIMEOUT = "timeout", "timeout"
    ABANDONED = "abandoned", "abandoned"
    RELEASED = "released", "released"
    CANCELLED = "cancelled", "cancelled"


class Attempt(FailureDetails):
    """A run of a job: who ran it, when, and how it ended."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: drq_attempt_job_number (job, number) serves every lookup by job,
    # and one index less is cheaper for every run's Attempt insert.
    job = models.ForeignKey(
        "django_resilient_queue.Job",
        on_delete=models.CASCADE,
        related_name="attempt_set",
        db_index=False,
    )
    number = models.PositiveIntegerField()
    worker = models.ForeignKey(
        "django_resilient_queue.Worker",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attempts",
        db_constraint=False,
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)

    class Meta:
        indexes = [
            models.Index(fields=["job", "number"], name="drq_attempt_job_number"),
            models.Index(fields=["finished_at"], name="drq_attempt_finished"),
        ]

    def __str__(self) -> str:
        return f"job #{self.job_id} attempt {self.number}: {self.outcome}"

    @property
    def duration(self) -> float | None:
        """Seconds the run lasted, when both ends are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
