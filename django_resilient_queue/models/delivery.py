"""The alert outbox: one row per notification and channel, sent beside the workers."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    """Where a notification is."""

    PENDING = "pending", "pending"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"


class AlertDelivery(models.Model):
    """A notification of an alert (fired or resolved) to one channel."""

    id = models.BigAutoField(primary_key=True)
    alert = models.ForeignKey(
        "django_resilient_queue.Alert", on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=16, default="fired")
    channel = models.CharField(max_length=100, help_text="The channel's name or position.")
    channel_type = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "alert deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="drq_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_type} {self.event} alert #{self.alert_id}: {self.status}"
