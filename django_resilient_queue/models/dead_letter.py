"""A job that ran out of attempts, kept whole so that it can be understood and replayed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from .failure import FailureDetails

if TYPE_CHECKING:
    from .job import Job


class DeadLetter(FailureDetails):
    """Everything needed to understand and replay a job that failed for good."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(
        "django_resilient_queue.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dead_letters",
    )
    task = models.CharField(max_length=255)
    queue = models.CharField(max_length=100)
    priority = models.SmallIntegerField(default=0)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=0)
    history = models.JSONField(
        default=list, blank=True, help_text="Every attempt: number, outcome, error, traceback."
    )
    created_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    replayed_job = models.ForeignKey(
        "django_resilient_queue.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replay_of",
    )

    class Meta:
        permissions = [
            ("replay_deadletter", "Can replay dead letters"),
            ("discard_deadletter", "Can discard dead letters"),
        ]
        indexes = [
            models.Index(fields=["task", "created_at"], name="drq_deadletter_task_created"),
            models.Index(fields=["failure_category"], name="drq_deadletter_category"),
        ]

    def __str__(self) -> str:
        return f"dead letter #{self.pk} {self.task}: {self.reason}"

    def replay(self, by: Any = None, *, keep_checkpoint: bool = False) -> Job:
        """Enqueue a fresh attempt cycle of this job and return the new, queued Job."""
        from ..services.deadletters import replay_dead_letter

        return replay_dead_letter(self, by=by, keep_checkpoint=keep_checkpoint)
