"""Slack incoming webhook: one line of text per notification."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import post
from .text import summary


def send_slack(channel: Mapping[str, Any], payload: dict[str, Any], timeout: float) -> None:
    """POST ``{"text": ...}`` to the incoming webhook URL."""
    body = json.dumps({"text": summary(payload)}).encode()
    post(channel, body, {}, timeout)
