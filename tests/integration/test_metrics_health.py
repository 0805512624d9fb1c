"""metrics/ and health/ through Django's test Client, and ``manage.py queuehealth``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from django_resilient_queue.failures import FailureCategory
from django_resilient_queue.health import check_health
from django_resilient_queue.models import (
    Alert,
    Attempt,
    CircuitBreaker,
    Job,
    JobStatus,
    Schedule,
    Worker,
)
from django_resilient_queue.worker.executor import Outcome
from django_resilient_queue.worker.outcomes import apply_outcomes
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token-for-tests"
WITH_TOKEN = {"RESILIENT_QUEUE": {"METRICS_TOKEN": TOKEN}}


def _staff(client: Client, *, staff: bool = True) -> None:
    user = get_user_model().objects.create_user("op", password="pw", is_staff=staff)
    client.force_login(user)


def _value(body: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", body, re.MULTILINE)
    assert match, f"{sample} not in:\n{body}"
    return float(match.group(1))


def _live_worker(**fields: Any) -> Worker:
    return Worker.objects.create(name=f"w-{Worker.objects.count()}", hostname="h", pid=1, **fields)


@pytest.mark.parametrize("url", ["/queue/metrics/", "/queue/health/"])
def test_anonymous_gets_401_and_non_staff_403(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    _staff(client, staff=False)
    assert client.get(url).status_code == 403


@override_settings(**WITH_TOKEN)
@pytest.mark.parametrize("url", ["/queue/metrics/", "/queue/health/"])
def test_a_wrong_token_gets_403_and_is_not_echoed(client: Client, url: str) -> None:
    response = client.get(url, HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 403
    assert b"wrong" not in response.content and TOKEN.encode() not in response.content


def test_a_bearer_token_without_a_configured_token_is_refused(client: Client) -> None:
    assert client.get("/queue/metrics/", HTTP_AUTHORIZATION="Bearer anything").status_code == 403


@override_settings(**WITH_TOKEN)
def test_metrics_with_a_token_show_depth_jobs_and_breakers(client: Client) -> None:
    JobFactory.create_batch(3)
    JobFactory(status=JobStatus.SUCCEEDED, queue="emails")
    CircuitBreaker.objects.create(key="tests.jobs.flaky", state="open", opened_at=timezone.now())
    CircuitBreaker.objects.create(key="tests.jobs.ok", state="closed")
    response = client.get("/queue/metrics/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert _value(body, 'resilient_queue_queue_depth{queue="default"}') >= 3
    assert _value(body, 'resilient_queue_jobs{queue="default",status="queued"}') == 3
    assert _value(body, 'resilient_queue_jobs{queue="emails",status="succeeded"}') == 1
    assert _value(body, 'resilient_queue_breaker_state{key="tests.jobs.flaky"}') == 2
    assert _value(body, 'resilient_queue_breaker_state{key="tests.jobs.ok"}') == 0
    assert 'resilient_queue_oldest_job_age_seconds{queue="default"}' in body


def _run_and_record(kind: str, seconds: float, *, task: str = "tests.jobs.add") -> Job:
    """A running job whose run of ``seconds`` ends ``kind``, written by the outcome writer."""
    start = timezone.now() - timedelta(seconds=5)
    job = JobFactory(
        status=JobStatus.RUNNING,
        task=task,
        attempts=1,
        max_attempts=1,
        started_at=start,
        run_after=start - timedelta(seconds=2),
    )
    finished = start + timedelta(seconds=seconds)
    if kind == "succeeded":
        outcome = Outcome(kind="succeeded", started_at=start, finished_at=finished)
    else:
        outcome = Outcome(
            kind="failed",
            started_at=start,
            finished_at=finished,
            category=FailureCategory.VALIDATION,
            error_type="ValueError",
        )
    assert apply_outcomes([(job, outcome)]) == [True]
    return job


def test_metrics_for_a_staff_session_count_attempts_and_durations(client: Client) -> None:
    _staff(client)
    _run_and_record("failed", 0.02)
    _run_and_record("succeeded", 0.3)
    _live_worker()
    Alert.objects.create(kind="BREAKER_OPEN", severity="high", message="m", fingerprint="f")
    body = client.get("/queue/metrics/").content.decode()
    labels = 'task="tests.jobs.add"'
    assert _value(body, f'resilient_queue_attempts_total{{outcome="succeeded",{labels}}}') == 1
    assert _value(body, f'resilient_queue_attempts_total{{outcome="failed",{labels}}}') == 1
    assert _value(body, f'resilient_queue_job_duration_seconds_bucket{{le="0.05",{labels}}}') == 1
    assert _value(body, f'resilient_queue_job_duration_seconds_bucket{{le="0.5",{labels}}}') == 2
    assert _value(body, f"resilient_queue_job_duration_seconds_count{{{labels}}}") == 2
    assert _value(body, f"resilient_queue_job_duration_seconds_sum{{{labels}}}") == pytest.approx(
        0.32, abs=0.01
    )
    assert _value(body, 'resilient_queue_workers{state="running"}') == 1
    assert _value(body, 'resilient_queue_alerts_active{kind="BREAKER_OPEN",severity="high"}') == 1


def test_health_is_200_with_a_live_worker_and_old_jobs(client: Client) -> None:
    _staff(client)
    _live_worker()
    JobFactory(run_after=timezone.now() - timedelta(minutes=5))
    response = client.get("/queue/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "workers", "critical_alerts"}


def test_health_is_503_when_old_jobs_wait_with_no_live_worker(client: Client) -> None:
    _staff(client)
    _live_worker(last_heartbeat_at=timezone.now() - timedelta(hours=1))  # stale
    JobFactory(run_after=timezone.now() - timedelta(minutes=2))
    response = client.get("/queue/health/")
    assert response.status_code == 503
    assert "no live worker" in " ".join(response.json()["reasons"])


def test_young_jobs_without_a_worker_are_still_healthy(client: Client) -> None:
    _staff(client)
    JobFactory()
    assert client.get("/queue/health/").status_code == 200


def test_health_is_503_while_a_critical_alert_is_active(client: Client) -> None:
    _staff(client)
    alert = Alert.objects.create(
        kind="DB_CONNECTION_LOST", severity="critical", message="m", fingerprint="db"
    )
    response = client.get("/queue/health/")
    assert response.status_code == 503
    assert "DB_CONNECTION_LOST" in " ".join(response.json()["reasons"])
    Alert.objects.filter(pk=alert.pk).update(resolved_at=timezone.now())
    assert client.get("/queue/health/").status_code == 200


@pytest.mark.django_db(transaction=True)
@override_settings(**WITH_TOKEN)
def test_health_is_503_when_the_database_is_unreachable(client: Client) -> None:
    from django.db import connection

    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/for/health/db.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        assert not check_health().healthy
        # A Bearer token needs no session, so the view answers without the database.
        response = client.get("/queue/health/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["database"]["ok"] is False
        assert "database unreachable" in body["reasons"][0]
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert check_health().checks["database"]["ok"] is True


def test_queuehealth_exits_1_with_reasons_then_0(capsys: Any) -> None:
    JobFactory(run_after=timezone.now() - timedelta(minutes=3))
    with pytest.raises(SystemExit) as exit_info:
        call_command("queuehealth")
    assert exit_info.value.code == 1
    assert "no live worker" in capsys.readouterr().err
    Job.objects.update(status=JobStatus.SUCCEEDED)
    call_command("queuehealth", "--json")
    assert json.loads(capsys.readouterr().out)["status"] == "ok"


def test_attempts_total_and_durations_survive_pruning(client: Client) -> None:
    _staff(client)
    for _ in range(3):
        _run_and_record("succeeded", 0.2)
    labels = 'task="tests.jobs.add"'
    before = client.get("/queue/metrics/").content.decode()
    assert _value(before, f'resilient_queue_attempts_total{{outcome="succeeded",{labels}}}') == 3
    assert _value(before, 'resilient_queue_queue_wait_seconds_count{queue="default"}') == 3
    assert (
        _value(before, 'resilient_queue_queue_wait_seconds_bucket{le="5.0",queue="default"}') == 3
    )
    Attempt.objects.all().delete()
    Job.objects.all().delete()  # what prunejobs does to old rows
    after = client.get("/queue/metrics/").content.decode()
    assert _value(after, f'resilient_queue_attempts_total{{outcome="succeeded",{labels}}}') == 3
    assert _value(after, f"resilient_queue_job_duration_seconds_count{{{labels}}}") == 3
    assert _value(after, f"resilient_queue_job_duration_seconds_sum{{{labels}}}") == (
        pytest.approx(0.6, abs=0.01)
    )


def test_schedule_lag_shows_an_overdue_tick(client: Client) -> None:
    _staff(client)
    now = timezone.now()
    Schedule.objects.create(
        name="late", task="tests.jobs.add", cron="* * * * *", next_run_at=now - timedelta(90)
    )
    Schedule.objects.create(
        name="fine",
        task="tests.jobs.add",
        cron="* * * * *",
        next_run_at=now + timedelta(seconds=30),
        last_run_at=now - timedelta(seconds=30),
    )
    body = client.get("/queue/metrics/").content.decode()
    assert _value(body, 'resilient_queue_schedule_lag_seconds{schedule="late"}') > 80 * 86400
    assert _value(body, 'resilient_queue_schedule_lag_seconds{schedule="fine"}') == 0
    assert _value(
        body, 'resilient_queue_schedule_last_run_timestamp_seconds{schedule="fine"}'
    ) == pytest.approx((now - timedelta(seconds=30)).timestamp(), abs=1)


def test_finished_rows_come_from_the_snapshot_and_live_rows_are_counted_now(
    client: Client,
) -> None:
    from django_resilient_queue.snapshots import refresh_job_counts

    _staff(client)
    JobFactory.create_batch(2, status=JobStatus.SUCCEEDED)
    refresh_job_counts()
    Job.objects.filter(status=JobStatus.SUCCEEDED).delete()  # after the snapshot
    JobFactory()
    body = client.get("/queue/metrics/").content.decode()
    assert _value(body, 'resilient_queue_jobs{queue="default",status="succeeded"}') == 2
    assert _value(body, 'resilient_queue_jobs{queue="default",status="queued"}') == 1
