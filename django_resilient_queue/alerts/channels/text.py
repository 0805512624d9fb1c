"""The human wording of a notification, shared by the email, Slack and log channels."""

from __future__ import annotations

import json
from typing import Any


def summary(payload: dict[str, Any]) -> str:
    """Return one line: ``[HIGH] BREAKER_OPEN fired (3x): message``."""
    alert = payload.get("alert", {})
    event = payload.get("event", "fired")
    return (
        f"[{str(alert.get('severity', '')).upper()}] {alert.get('kind')} {event} "
        f"({alert.get('occurrences', 1)}x): {alert.get('message', '')}"
    )


def details(payload: dict[str, Any]) -> str:
    """Return the summary followed by the alert's fields, for an email body."""
    alert = payload.get("alert", {})
    lines = [summary(payload), ""]
    for key in ("fingerprint", "first_seen_at", "last_seen_at", "resolved_at"):
        lines.append(f"{key}: {alert.get(key)}")
    lines.append("context: " + json.dumps(alert.get("context", {}), sort_keys=True, default=str))
    return "\n".join(lines) + "\n"
