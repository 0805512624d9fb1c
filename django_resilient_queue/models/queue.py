"""Per-queue state an operator sets (pause), and the samples the dashboard draws."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class QueueState(models.Model):
    """A queue an operator acted on: a paused queue's jobs stay queued and unclaimed."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        permissions = [("pause_queue", "Can pause and resume queues")]

    def __str__(self) -> str:
        return f"{self.name} ({'paused' if self.paused_at else 'active'})"

    @property
    def is_paused(self) -> bool:
        """True while the queue is paused."""
        return self.paused_at is not None


class QueueSample(models.Model):
    """One queue's figures at one moment, written by the supervisor's housekeeping."""

    id = models.BigAutoField(primary_key=True)
    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    queue = models.CharField(max_length=100)
    queued = models.PositiveIntegerField(default=0)
    runnable = models.PositiveIntegerField(default=0)
    running = models.PositiveIntegerField(default=0)
    succeeded_total = models.PositiveBigIntegerField(default=0)
    failed_total = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.queue}@{self.taken_at.isoformat()}"
