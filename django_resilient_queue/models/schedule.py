"""Cron schedules and the ticks they made (one row per tick makes each tick exactly-once)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone as dj_timezone


class CatchUp(models.TextChoices):
    """What to do with ticks missed while no worker ran."""

    LATEST = "latest", "latest"
    ALL = "all", "all"
    NONE = "none", "none"


class Schedule(models.Model):
    """Enqueue ``task`` at every tick of ``cron`` in ``timezone``."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=200, unique=True)
    task = models.CharField(max_length=255)
    cron = models.CharField(max_length=255)
    timezone = models.CharField(max_length=64, default="UTC")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=100, default="default")
    priority = models.SmallIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    catch_up = models.CharField(max_length=8, choices=CatchUp.choices, default=CatchUp.LATEST)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, default="admin", editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        permissions = [
            ("run_schedule", "Can enable, disable and run schedules now"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cron})"


class ScheduleTick(models.Model):
    """A tick that was enqueued; UNIQUE (schedule, tick_at) makes it happen once."""

    id = models.BigAutoField(primary_key=True)
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="ticks")
    tick_at = models.DateTimeField()
    job = models.ForeignKey(
        "django_resilient_queue.Job",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["schedule", "tick_at"], name="drq_tick_once"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id}@{self.tick_at.isoformat()}"
