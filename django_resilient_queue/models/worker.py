"""A worker child process, as it last reported itself."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerState(models.TextChoices):
    """What a worker is doing."""

    RUNNING = "running", "running"
    STOPPING = "stopping", "stopping"
    STOPPED = "stopped", "stopped"
    LOST = "lost", "lost"


class Worker(models.Model):
    """One child process of ``runworkers``: identity, health and counters."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=255, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    supervisor_pid = models.PositiveIntegerField(null=True, blank=True)
    queues = models.JSONField(default=list, blank=True)
    threads = models.PositiveIntegerField(default=1)
    state = models.CharField(
        max_length=16, choices=WorkerState.choices, default=WorkerState.RUNNING
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    rss_bytes = models.PositiveBigIntegerField(default=0)
    cpu_percent = models.FloatField(default=0.0)
    processed = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    current_jobs = models.JSONField(default=list, blank=True)  # ids of the jobs it runs now
    # Ids of the jobs it claimed ahead and has not started, at its last heartbeat: if it
    # goes silent, the reaper gives these back unstarted (no stall charged; they never ran).
    claimed_ahead = models.JSONField(default=list, blank=True)
    stop_requested = models.BooleanField(default=False)

    class Meta:
        permissions = [
            ("stop_worker", "Can request a graceful stop of workers"),
        ]
        indexes = [models.Index(fields=["state", "last_heartbeat_at"], name="drq_worker_state_hb")]

    def __str__(self) -> str:
        return self.name
