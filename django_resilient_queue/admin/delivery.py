"""The alert outbox, read-only: what was sent where, and what failed."""

from __future__ import annotations

from django.contrib import admin

from ..models import AlertDelivery
from ..redaction import redact_arguments
from .helpers import ReadOnlyAdmin, change_link, pretty_json

# Channel settings never reach this page; a payload's secret-looking keys are masked too.
SECRET_KEYS = ("secret", "token", "password", "url", "signature", "authorization")


def redacted_payload(payload: object) -> object:
    """The payload with REDACT names and secret-looking keys shown as ***."""
    if not isinstance(payload, dict):
        return payload
    task = str(payload.get("task") or payload.get("context", {}).get("task") or "")
    masked = redact_arguments(task, [], {"payload": payload})[1]["payload"]
    return _mask(masked)


def _mask(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: "***" if any(s in str(k).lower() for s in SECRET_KEYS) else _mask(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    """One notification of one alert to one channel."""

    list_display = (
        "id",
        "alert_link",
        "channel_type",
        "channel",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "channel_type", "event")
    list_select_related = ("alert",)
    fields = (
        "alert_link",
        "event",
        "channel",
        "channel_type",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "payload_json",
    )
    readonly_fields = fields

    @admin.display(description="alert")
    def alert_link(self, delivery: AlertDelivery) -> str:
        return change_link("alert", delivery.alert_id, str(delivery.alert.kind))

    @admin.display(description="payload (redacted)")
    def payload_json(self, delivery: AlertDelivery) -> str:
        return pretty_json(redacted_payload(delivery.payload))
