"""Shared counters for rate and concurrency limits: one row per limited key."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class GateKind(models.TextChoices):
    """What a gate limits."""

    CONCURRENCY = "concurrency", "concurrency"
    RATE = "rate", "rate"


class Gate(models.Model):
    """The state of one limit (one kind, one key), shared by every worker through the database.

    Concurrency: ``running`` jobs of the key now, at most ``limit``.
    Rate: ``starts`` holds the start times (epoch seconds) within the last ``window``
    seconds, at most ``limit`` of them; ``blocked_until`` says when a full window
    frees a place, so a claim can skip the key without reading ``starts``.
    """

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=GateKind.choices)
    limit = models.PositiveIntegerField(default=1)
    window = models.FloatField(default=0.0)
    running = models.PositiveIntegerField(default=0)
    starts = models.JSONField(default=list, blank=True)
    blocked_until = models.DateTimeField(null=True, blank=True)
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "blocked_until"], name="drq_gate_blocked")]
        # A task with both a rate and a concurrency limit has one key for both: one row each.
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="drq_gate_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
