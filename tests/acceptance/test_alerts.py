"""Alerts reach a real webhook from real runworkers; a hanging channel never slows the drain."""

from __future__ import annotations

import json
import time

import pytest
from django.utils import timezone

from django_resilient_queue.models import Alert, AlertDelivery, DeliveryStatus, Job
from tests import jobs, jobs_protection
from tests.conftest import Workers, wait_until, worker_env
from tests.httpsink import http_sink

pytestmark = pytest.mark.acceptance
SECRET = "acceptance-webhook-secret"


def env(channel: dict[str, object] | None = None) -> dict[str, str]:
    extra = {"RESILIENT_QUEUE_FAST_RETRIES": "1"}
    if channel is not None:
        extra["RESILIENT_QUEUE_ALERTS"] = json.dumps({"COOLDOWN": 600, "CHANNELS": [channel]})
    return worker_env(**extra)


def test_a_breaker_reopening_every_second_sends_one_signed_post(workers: Workers) -> None:
    with http_sink(secret=SECRET) as sink:
        for n in range(20):
            jobs_protection.always_down.enqueue(n)
        workers.start(
            "--processes", "2", env=env({"type": "webhook", "url": sink.url, "secret": SECRET})
        )
        alert = wait_until(
            lambda: Alert.objects.filter(kind="BREAKER_OPEN", occurrences__gte=3).first(),
            timeout=60,
        )
        wait_until(lambda: sink.received, timeout=30)
        wait_until(
            lambda: Alert.objects.get(pk=alert.pk).occurrences >= alert.occurrences + 1,
            timeout=30,
        )
        assert len(sink.received) == 1
        assert sink.signature_ok(sink.received[0])
        body = json.loads(sink.received[0].body)
        assert body["alert"]["fingerprint"] == "BREAKER_OPEN:tests.jobs_protection.always_down"
        assert AlertDelivery.objects.get().status == DeliveryStatus.SENT


def _drain(workers: Workers, channel: dict[str, object] | None, count: int) -> float:
    Job.objects.all().delete()
    jobs.add.enqueue_many([(i, i) for i in range(count)])
    if channel is not None:
        alert = Alert.objects.create(
            kind="WORKER_CRASHED", severity="high", message="m", fingerprint=f"f{time.time()}"
        )
        AlertDelivery.objects.bulk_create(
            AlertDelivery(
                alert=alert,
                channel="0:webhook",
                channel_type="webhook",
                payload={"n": i},
                next_attempt_at=timezone.now(),
            )
            for i in range(5)
        )
    started = time.monotonic()
    code, output = workers.run_burst("--processes", "2", env=env(channel))
    elapsed = time.monotonic() - started
    assert code == 0, output
    assert Job.objects.filter(status="succeeded").count() == count
    return elapsed


def test_a_hanging_channel_does_not_slow_the_drain(workers: Workers) -> None:
    with http_sink(hang=True) as sink:
        channel = {"type": "webhook", "url": sink.url, "secret": SECRET, "timeout": 3}
        plain, hanging = [], []
        for _ in range(2):  # alternating pairs: load from elsewhere hits both sides alike
            plain.append(_drain(workers, None, 300))
            hanging.append(_drain(workers, channel, 300))
        assert sink.received  # the channel was really tried, and hung, during the drains
    ratio = min(hanging) / min(plain)
    assert ratio < 1.5, f"drain with a hanging channel took {ratio:.2f}x as long"
