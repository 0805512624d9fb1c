"""Something an operator should know: one row per fingerprint, repeats counted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AlertSeverity(models.TextChoices):
    """How urgent an alert is, most urgent first."""

    CRITICAL = "critical", "critical"
    HIGH = "high", "high"
    MEDIUM = "medium", "medium"
    LOW = "low", "low"
    INFO = "info", "info"

    @property
    def rank(self) -> int:
        """0 for the most urgent, 4 for info."""
        return list(AlertSeverity).index(self)


class AlertKind(models.TextChoices):
    """The alerts the queue raises itself (``Alert.kind`` also takes a project's own)."""

    # Events: raised where they happen.
    DB_CONNECTION_LOST = "DB_CONNECTION_LOST", "database connection lost"
    BREAKER_OPEN = "BREAKER_OPEN", "circuit breaker open"
    WORKER_CRASHED = "WORKER_CRASHED", "worker crashed"
    # Conditions: found by the evaluator's rules (and the enqueue's backpressure).
    QUEUE_DEPTH_HIGH = "QUEUE_DEPTH_HIGH", "queue depth high"
    FAILURE_RATE_HIGH = "FAILURE_RATE_HIGH", "failure rate high"
    MEMORY_HIGH = "MEMORY_HIGH", "memory high"
    PROCESSING_TIME_EXCEEDED = "PROCESSING_TIME_EXCEEDED", "processing time exceeded"
    DEAD_LETTERS_GROWING = "DEAD_LETTERS_GROWING", "dead letters growing"


class Alert(models.Model):
    """A condition raised by workers or rules, until it clears or a person resolves it."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    message = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=255, unique=True)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    suppressed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("resolve_alert", "Can resolve alerts"),
            ("suppress_alert", "Can suppress and unsuppress alert kinds"),
        ]
        indexes = [models.Index(fields=["kind", "resolved_at"], name="drq_alert_kind_resolved")]

    def __str__(self) -> str:
        return f"{self.severity} {self.kind}: {self.message}"

    @property
    def is_active(self) -> bool:
        """True until the alert is resolved."""
        return self.resolved_at is None
