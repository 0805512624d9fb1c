"""Log channel: one WARNING record per notification (the project's logging decides where)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .text import summary

DEFAULT_LOGGER = "django_resilient_queue.alerts.notify"


def send_log(channel: Mapping[str, Any], payload: dict[str, Any], timeout: float) -> None:
    """Write the notification to the channel's logger."""
    logger = logging.getLogger(str(channel.get("logger") or DEFAULT_LOGGER))
    logger.warning("alert %s", summary(payload))
