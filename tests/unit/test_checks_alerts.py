"""The ALERTS, METRICS_TOKEN and RETENTION checks: their own ids, and no secret in a message."""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.test import override_settings

from django_resilient_queue.checks import check_settings

SECRET = "hook-secret-value-1234"
SLACK = "https://hooks.slack.example/services/T000/B000/tokenpart"


def messages(value: Any) -> list[tuple[str, str]]:
    with override_settings(RESILIENT_QUEUE=value):
        return [(e.id or "", f"{e.msg} {e.hint or ''}") for e in check_settings()]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"METRICS_TOKEN": ""}, "resilient_queue.E016"),
        ({"METRICS_TOKEN": 12345}, "resilient_queue.E016"),
        ({"ALERTS": {"COOLDOWN": -1}}, "resilient_queue.E017"),
        ({"ALERTS": {"COOLDOWN": "10m"}}, "resilient_queue.E017"),
        ({"ALERTS": {"RULES": []}}, "resilient_queue.E018"),
        ({"ALERTS": {"RULES": {"QUEUE_TOO_DEEP": {}}}}, "resilient_queue.E018"),
        ({"ALERTS": {"RULES": {"QUEUE_DEPTH_HIGH": {"threshold": -5}}}}, "resilient_queue.E018"),
        ({"ALERTS": {"RULES": {"FAILURE_RATE_HIGH": {"window": 0}}}}, "resilient_queue.E018"),
        ({"ALERTS": {"RULES": {"MEMORY_HIGH": {"severity": "urgent"}}}}, "resilient_queue.E018"),
        ({"ALERTS": {"RULES": {"MEMORY_HIGH": {"limit": 1}}}}, "resilient_queue.E018"),
        ({"ALERTS": {"CHANNELS": [{"type": "email"}]}}, "resilient_queue.E012"),
        ({"ALERTS": {"CHANNELS": [{"type": "email", "to": []}]}}, "resilient_queue.E019"),
        ({"ALERTS": {"CHANNELS": [{"type": "log", "min_severity": "x"}]}}, "resilient_queue.E019"),
        (
            {"ALERTS": {"CHANNELS": [{"type": "slack", "url": SLACK, "colour": 1}]}},
            "resilient_queue.E019",
        ),
        (
            {"ALERTS": {"CHANNELS": [{"type": "webhook", "url": SLACK, "timeout": 0}]}},
            "resilient_queue.E019",
        ),
        ({"ALERTS": {"CHANNELS": {"type": "log"}}}, "resilient_queue.E012"),
        ({"ALERTS": {"CHANEL": []}}, "resilient_queue.E012"),
        ({"RETENTION": {"succeeded": True}}, "resilient_queue.E011"),
    ],
)
def test_each_bad_value_has_its_id(value: Any, expected: str) -> None:
    assert expected in [i for i, _ in messages(value)]


def test_good_alert_settings_pass() -> None:
    value = {
        "METRICS_TOKEN": "a-long-random-token",
        "ALERTS": {
            "COOLDOWN": 600,
            "CHANNELS": [
                {"type": "email", "to": ["ops@example.com"], "min_severity": "high"},
                {"type": "slack", "url": SLACK},
                {"type": "webhook", "url": "https://hooks.example.com/q", "secret": SECRET},
                {"type": "log"},
            ],
            "RULES": {
                "QUEUE_DEPTH_HIGH": {"threshold": 5000},
                "FAILURE_RATE_HIGH": {"threshold": 0.05, "window": 300, "severity": "critical"},
            },
        },
    }
    assert messages(value) == []


@pytest.mark.parametrize(
    "channel",
    [
        {"type": "webhok", "url": SLACK, "secret": SECRET},  # a mistyped type
        {"type": "webhook", "url": SLACK, "secret": SECRET, "extra": 1},
        {"type": "slack", "url": SLACK, "secret": SECRET},
    ],
)
def test_no_message_shows_a_secret_or_a_url(channel: dict[str, Any]) -> None:
    found = messages({"ALERTS": {"CHANNELS": [channel]}})
    assert found, "the channel should be reported"
    for _, text in found:
        assert SECRET not in text
        assert "tokenpart" not in text and "hooks.slack" not in text


def test_a_bad_metrics_token_is_not_printed() -> None:
    for _, text in messages({"METRICS_TOKEN": 987654321}):
        assert "987654321" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"ALERTS": {"RULES": {"FAILURE_RATE_HIGH": {"threshold": 5}}}}, "resilient_queue.E030"),
        (
            {"ALERTS": {"CHANNELS": [{"type": "webhook", "url": "ftp://x/" + SECRET}]}},
            "resilient_queue.E031",
        ),
        (
            {"ALERTS": {"CHANNELS": [{"type": "slack", "url": "hooks/" + SECRET}]}},
            "resilient_queue.E031",
        ),
    ],
)
def test_finer_alert_checks(value: Any, expected: str) -> None:
    from django_resilient_queue.checks_alerts import check_alert_rules_and_urls

    with override_settings(RESILIENT_QUEUE=value):
        found = [(e.id, e.msg) for e in check_alert_rules_and_urls()]
    assert [i for i, _ in found] == [expected]
    assert all(SECRET not in msg for _, msg in found)


MAILERS = {
    "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    "alerts": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
}


def email_using(alias: Any) -> list[tuple[str, str]]:
    channel = {"type": "email", "to": ["ops@example.com"], "using": alias}
    return messages({"ALERTS": {"CHANNELS": [channel]}})


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS is Django 6.1's")
def test_an_email_channel_names_a_mailer_of_mailers() -> None:
    with override_settings(MAILERS=MAILERS):
        assert email_using("alerts") == []
        [(check_id, text)] = email_using("pager")
        assert check_id == "resilient_queue.E019" and "names no mailer" in text
        assert [i for i, _ in email_using("")] == ["resilient_queue.E019"]


@pytest.mark.skipif(django.VERSION >= (6, 1), reason="before Django 6.1 there is no MAILERS")
def test_an_email_channel_cannot_name_a_mailer_before_django_6_1() -> None:
    [(check_id, text)] = email_using("alerts")
    assert check_id == "resilient_queue.E019" and "needs Django 6.1" in text
