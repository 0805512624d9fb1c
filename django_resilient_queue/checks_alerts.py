"""Finer ALERTS checks (E030, E031): rule values that only make sense for their kind, and
channel URLs. Messages name a channel by position and type only, never its URL or secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Tags, register


def _alerts() -> Mapping[str, Any]:
    from django.conf import settings

    raw = getattr(settings, "RESILIENT_QUEUE", {})
    alerts = raw.get("ALERTS", {}) if isinstance(raw, Mapping) else {}
    return alerts if isinstance(alerts, Mapping) else {}


@register(Tags.compatibility)
def check_alert_rules_and_urls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A failure-rate threshold is a share (0 to 1); channel URLs are http(s) with a host."""
    errors: list[CheckMessage] = []
    alerts = _alerts()
    rules = alerts.get("RULES", {})
    rule = rules.get("FAILURE_RATE_HIGH") if isinstance(rules, Mapping) else None
    threshold = rule.get("threshold") if isinstance(rule, Mapping) else None
    if isinstance(threshold, int | float) and not isinstance(threshold, bool) and threshold > 1:
        errors.append(
            Error(
                "ALERTS['RULES']['FAILURE_RATE_HIGH']['threshold'] is a share of attempts: "
                "a number from 0 to 1.",
                hint="0.05 alerts when 5 % of a task's attempts fail.",
                id="resilient_queue.E030",
            )
        )
    channels = alerts.get("CHANNELS", [])
    for index, channel in enumerate(channels if isinstance(channels, list | tuple) else []):
        if not isinstance(channel, Mapping) or channel.get("type") not in ("slack", "webhook"):
            continue
        url = channel.get("url")
        if not isinstance(url, str) or not url:
            continue  # E012/E019 report it
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(
                Error(
                    f"ALERTS['CHANNELS'][{index}] ({channel['type']}) 'url' must be an "
                    "http:// or https:// URL with a host.",
                    id="resilient_queue.E031",
                )
            )
    return errors
