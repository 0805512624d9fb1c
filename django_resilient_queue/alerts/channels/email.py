"""Email through Django's mail framework (whatever EMAIL_BACKEND the project uses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.mail import get_connection, send_mail

from .text import details, summary


def send_email(channel: Mapping[str, Any], payload: dict[str, Any], timeout: float) -> None:
    """Send one message to ``to``; the SMTP backend is given the channel's timeout."""
    try:
        connection = get_connection(timeout=timeout)
    except TypeError:  # a backend that takes no timeout
        connection = get_connection()
    send_mail(
        subject=summary(payload)[:200],
        message=details(payload),
        from_email=channel.get("from_email"),
        recipient_list=list(channel["to"]),
        connection=connection,
    )
