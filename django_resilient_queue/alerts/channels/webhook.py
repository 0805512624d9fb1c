"""Generic JSON webhook: the payload as the body, signed with HMAC-SHA256 of the exact bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from .base import post

SIGNATURE_HEADER = "X-Resilient-Queue-Signature"


def signature(body: bytes, secret: str) -> str:
    """Return the header value: ``sha256=<hex HMAC-SHA256 of body with secret>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(channel: Mapping[str, Any], payload: dict[str, Any], timeout: float) -> None:
    """POST the payload as JSON; with a ``secret``, sign the body."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {}
    secret = channel.get("secret")
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, str(secret))
    post(channel, body, headers, timeout)
