"""What every channel shares: the safe error, the scrubber, the HTTP POST with a timeout."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 5.0
MASK = "***"


class ChannelError(Exception):
    """A delivery failed; the message names no secret and no URL path."""


def safe_origin(url: str) -> str:
    """Return ``scheme://host[:port]`` of ``url``: the part of a URL that is no secret."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def scrub(text: str, channel: Mapping[str, Any]) -> str:
    """Remove the channel's secret and its URL's path, query and credentials from ``text``."""
    url = str(channel.get("url") or "")
    secrets = [str(channel.get("secret") or "")]
    if url:
        parts = urlsplit(url)
        secrets += [url, parts.path, parts.query, parts.username or "", parts.password or ""]
    for secret in sorted({s for s in secrets if len(s) > 1}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text[:1000]


def post(
    channel: Mapping[str, Any], body: bytes, headers: Mapping[str, str], timeout: float
) -> None:
    """POST ``body`` to the channel's URL; any answer but 2xx is a ChannelError."""
    url = str(channel["url"])
    origin = safe_origin(url)
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "django-resilient-queue")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"HTTP {exc.code} from {origin}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChannelError(scrub(f"no answer from {origin}: {reason}", channel)) from None
    if not 200 <= status < 300:
        raise ChannelError(f"HTTP {status} from {origin}")
