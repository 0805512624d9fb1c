"""Alert channels: each sends one payload or raises ``ChannelError`` with a message safe to show.

A channel never logs nor returns its URL's path or its secret; callers never see another
exception type, so a failing channel cannot break the loop that sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import DEFAULT_TIMEOUT, ChannelError, scrub
from .email import send_email
from .log import send_log
from .slack import send_slack
from .webhook import send_webhook

Sender = Callable[[Mapping[str, Any], dict[str, Any], float], None]

SENDERS: Mapping[str, Sender] = {
    "email": send_email,
    "slack": send_slack,
    "webhook": send_webhook,
    "log": send_log,
}

__all__ = ["DEFAULT_TIMEOUT", "SENDERS", "ChannelError", "scrub", "send"]


def send(channel: Mapping[str, Any], payload: dict[str, Any]) -> None:
    """Send ``payload`` through ``channel``; raise ChannelError (safe message) on any failure."""
    sender = SENDERS.get(str(channel.get("type")))
    if sender is None:
        raise ChannelError(f"unknown channel type {channel.get('type')!r}")
    timeout = float(channel.get("timeout", DEFAULT_TIMEOUT))
    try:
        sender(channel, payload, timeout)
    except ChannelError:
        raise
    except Exception as exc:  # any library error becomes a safe, scrubbed message
        raise ChannelError(scrub(f"{type(exc).__name__}: {exc}", channel)) from None
