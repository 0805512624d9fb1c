"""Circuit breaker state, shared by every worker through the database."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BreakerState(models.TextChoices):
    """The three states of a circuit breaker."""

    CLOSED = "closed", "closed"
    OPEN = "open", "open"
    HALF_OPEN = "half_open", "half_open"


class CircuitBreaker(models.Model):
    """The breaker of one key (a task, or its ``breaker_key``)."""

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=255, unique=True)
    state = models.CharField(
        max_length=16, choices=BreakerState.choices, default=BreakerState.CLOSED
    )
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    half_open_trials = models.PositiveIntegerField(default=0)
    # The configuration of the @job that uses the key, copied here so that claims
    # and the admin can act on it without importing code.
    failure_threshold = models.PositiveIntegerField(default=10)
    window = models.FloatField(default=300.0)
    reset_timeout = models.FloatField(default=60.0)
    half_open_max = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [
            ("reset_breaker", "Can reset or force open circuit breakers"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.state}"
