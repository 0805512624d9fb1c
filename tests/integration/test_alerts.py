"""Alert lifecycle, the outbox and its channels, against real HTTP servers and locmem email."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import django
import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from django_resilient_queue.alerts import lease
from django_resilient_queue.alerts.delivery import MAX_ATTEMPTS, deliver_due
from django_resilient_queue.alerts.evaluator import LEASE_NAME, AlertEvaluator
from django_resilient_queue.alerts.store import raise_alert, resolve_alert
from django_resilient_queue.models import Alert, AlertDelivery, DeliveryStatus
from django_resilient_queue.services.alerts import resolve_alerts, suppress_alerts
from tests.httpsink import http_sink

pytestmark = pytest.mark.django_db
SECRET = "webhook-secret-for-tests"


def alerts(*channels: dict[str, Any], **extra: Any) -> Any:
    # Django's test set-up already sends every email to mail.outbox.
    return override_settings(RESILIENT_QUEUE={"ALERTS": {"CHANNELS": list(channels), **extra}})


def breaker_alert(fingerprint: str = "BREAKER_OPEN:dep") -> Alert:
    return raise_alert("BREAKER_OPEN", "high", "breaker opened", fingerprint=fingerprint)


def send_all() -> None:
    """Make every pending delivery due now and send it (what the delivery loop does)."""
    AlertDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )
    deliver_due()


def test_repeats_bump_one_row_and_notify_once_within_the_cooldown() -> None:
    with alerts({"type": "log"}):
        for _ in range(3):
            breaker_alert()
        alert = Alert.objects.get()
        assert alert.occurrences == 3
        assert AlertDelivery.objects.filter(event="fired").count() == 1
        Alert.objects.update(notified_at=timezone.now() - timedelta(seconds=601))
        breaker_alert()
        assert AlertDelivery.objects.filter(event="fired").count() == 2


def test_a_kind_cooldown_rule_overrides_the_global_one() -> None:
    with alerts({"type": "log"}, COOLDOWN=600, RULES={"BREAKER_OPEN": {"cooldown": 0}}):
        breaker_alert()
        breaker_alert()
    assert AlertDelivery.objects.count() == 2


def test_a_suppressed_kind_counts_occurrences_but_notifies_nobody() -> None:
    with alerts({"type": "log"}):
        alert = breaker_alert()
        suppress_alerts([alert.pk], timedelta(minutes=30))
        AlertDelivery.objects.all().delete()
        breaker_alert()
        other = breaker_alert("BREAKER_OPEN:other")  # a new row of the suppressed kind
        resolve_alert("BREAKER_OPEN:dep")
    assert Alert.objects.get(pk=alert.pk).occurrences == 2
    assert other.suppressed_until is not None
    assert AlertDelivery.objects.count() == 0


def test_resolving_notifies_and_a_refire_within_the_cooldown_reopens_the_row_quietly() -> None:
    with alerts({"type": "log"}):
        alert = breaker_alert()
        assert resolve_alert(alert.fingerprint)
        events = list(AlertDelivery.objects.order_by("id").values_list("event", flat=True))
        assert events == ["fired", "resolved"]
        again = breaker_alert()
        assert again.pk == alert.pk and again.resolved_at is None and again.occurrences == 2
        assert AlertDelivery.objects.count() == 2  # within the cooldown: no new "fired"
        resolve_alert(alert.fingerprint)
        assert AlertDelivery.objects.count() == 2  # nobody was told it fired again
        Alert.objects.update(notified_at=timezone.now() - timedelta(hours=1))
        breaker_alert()
        assert AlertDelivery.objects.latest("id").event == "fired"


def test_a_person_resolving_in_the_admin_sends_the_resolution() -> None:
    with alerts({"type": "log"}):
        alert = breaker_alert()
        assert resolve_alerts([alert.pk]).changed == 1
    assert AlertDelivery.objects.filter(event="resolved").count() == 1


def test_min_severity_filters_channels_and_email_goes_through_django_mail() -> None:
    email = {"type": "email", "to": ["ops@example.com"], "min_severity": "high"}
    with alerts(email, {"type": "log"}):
        raise_alert("MEMORY_HIGH", "medium", "big worker", fingerprint="MEMORY_HIGH:w")
        assert list(AlertDelivery.objects.values_list("channel_type", flat=True)) == ["log"]
        breaker_alert()
        send_all()
    assert AlertDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 3
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "BREAKER_OPEN" in mail.outbox[0].subject


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS is Django 6.1's")
def test_an_email_channel_sends_through_the_mailer_it_names() -> None:
    mailers = {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        "alerts": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    }
    email = {"type": "email", "to": ["ops@example.com"], "using": "alerts"}
    with override_settings(MAILERS=mailers), alerts(email):
        breaker_alert()
        send_all()
    assert AlertDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 1
    [message] = mail.outbox
    assert message.to == ["ops@example.com"] and message.sent_using == "alerts"


def test_the_log_channel_writes_one_record(caplog: pytest.LogCaptureFixture) -> None:
    with alerts({"type": "log"}), caplog.at_level(logging.WARNING):
        breaker_alert()
        send_all()
    records = [r for r in caplog.records if r.name == "django_resilient_queue.alerts.notify"]
    assert len(records) == 1 and "BREAKER_OPEN" in records[0].getMessage()


def test_the_webhook_is_signed_over_the_exact_body() -> None:
    with http_sink(secret=SECRET) as sink:
        with alerts({"type": "webhook", "url": sink.url, "secret": SECRET}):
            breaker_alert()
            send_all()
        assert len(sink.received) == 1
        request = sink.received[0]
        assert sink.signature_ok(request)
        body = json.loads(request.body)
        assert body["event"] == "fired" and body["alert"]["kind"] == "BREAKER_OPEN"
    assert AlertDelivery.objects.get().status == DeliveryStatus.SENT


def test_slack_gets_a_text_message() -> None:
    with http_sink() as sink:
        with alerts({"type": "slack", "url": sink.url}):
            breaker_alert()
            send_all()
        assert "BREAKER_OPEN" in json.loads(sink.received[0].body)["text"]


def test_a_500_is_retried_with_backoff_then_sent_and_the_error_hides_the_path() -> None:
    with http_sink(secret=SECRET, statuses=[500]) as sink:
        with alerts({"type": "webhook", "url": sink.url, "secret": SECRET}):
            breaker_alert()
            deliver_due()
            delivery = AlertDelivery.objects.get()
            assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
            assert delivery.next_attempt_at > timezone.now()  # backoff
            assert "HTTP 500" in delivery.last_error
            assert "T0KEN" not in delivery.last_error and "/hooks" not in delivery.last_error
            assert deliver_due() == 0  # not due yet
            send_all()
        assert len(sink.received) == 2 and all(sink.signature_ok(r) for r in sink.received)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


def test_a_hanging_channel_times_out_and_ends_failed_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with http_sink(hang=True) as sink:
        channel = {"type": "webhook", "url": sink.url, "secret": SECRET, "timeout": 0.3}
        with alerts(channel), caplog.at_level(logging.WARNING):
            breaker_alert()
            for _ in range(MAX_ATTEMPTS):
                send_all()
    delivery = AlertDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == MAX_ATTEMPTS
    assert delivery.last_error.startswith("no answer from http://127.0.0.1:")
    logged = caplog.text + delivery.last_error + json.dumps(delivery.payload)
    assert SECRET not in logged and "T0KEN" not in logged


def test_a_refused_connection_is_a_failed_attempt_not_an_exception() -> None:
    with alerts({"type": "webhook", "url": "http://127.0.0.1:9/x/tok"}):
        breaker_alert()
        deliver_due()
    delivery = AlertDelivery.objects.get()
    assert delivery.attempts == 1 and "tok" not in delivery.last_error


def test_payloads_redact_job_arguments() -> None:
    context = {"task": "tests.jobs.add", "args": [1, 2], "kwargs": {"password": "hunter2"}}
    settings = {"REDACT": ["password"], "ALERTS": {"CHANNELS": [{"type": "log"}]}}
    with override_settings(RESILIENT_QUEUE=settings):
        raise_alert("PROCESSING_TIME_EXCEEDED", "medium", "slow", fingerprint="p", context=context)
    payload = AlertDelivery.objects.get().payload
    assert payload["alert"]["context"]["kwargs"] == {"password": "***"}
    assert Alert.objects.get().context["kwargs"] == {"password": "***"}


def test_one_evaluator_holds_the_lease_at_a_time() -> None:
    first, second = AlertEvaluator(holder="a"), AlertEvaluator(holder="b")
    assert first.tick() is True
    assert second.tick() is False
    assert first.tick() is True  # renewing its own lease
    first.stop()
    assert second.tick() is True
    assert lease.acquire(LEASE_NAME, "a", 15) is False
