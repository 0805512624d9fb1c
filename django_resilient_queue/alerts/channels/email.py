"""Email through Django's mail framework: a mailer of ``MAILERS`` (Django 6.1+), or the
project's ``EMAIL_BACKEND`` on earlier versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django
from django.core.mail import send_mail

from .text import details, summary

# Django 6.1 replaced get_connection() and the connection argument by mailers (MAILERS
# and send_mail(using=)): using the old ones there would warn in every project.
HAS_MAILERS = django.VERSION >= (6, 1)


def send_email(channel: Mapping[str, Any], payload: dict[str, Any], timeout: float) -> None:
    """Send one message to ``to`` through the channel's mailer (``using``, default
    ``"default"``); before Django 6.1 the SMTP backend is given the channel's timeout."""
    message: dict[str, Any] = {
        "subject": summary(payload)[:200],
        "message": details(payload),
        "from_email": channel.get("from_email"),
        "recipient_list": list(channel["to"]),
    }
    if HAS_MAILERS:
        # The mailer's own OPTIONS (its "timeout" among them) apply.
        send_mail(**message, using=channel.get("using"))
        return
    from django.core.mail import get_connection

    try:
        connection = get_connection(timeout=timeout)
    except TypeError:  # a backend that takes no timeout
        connection = get_connection()
    send_mail(**message, connection=connection)
