"""The admin's pages beyond the actions: new models, the dashboard, filters, fast lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_resilient_queue.admin import helpers
from django_resilient_queue.models import Job, JobStatus, QueueSample, QueueState
from django_resilient_queue.services.retention import prune_queue_samples
from django_resilient_queue.worker.sampling import take_samples
from tests.factories import (
    AlertDeliveryFactory,
    AlertFactory,
    AttemptFactory,
    BreakerFactory,
    DeadLetterFactory,
    JobFactory,
    QueueSampleFactory,
    QueueStateFactory,
    ScheduleFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db
BASE = "/admin/django_resilient_queue"
DASHBOARD = f"{BASE}/dashboard/"
ALL_MODELS = (
    "job",
    "attempt",
    "deadletter",
    "alert",
    "alertdelivery",
    "worker",
    "schedule",
    "circuitbreaker",
    "queuestate",
)


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    assert client.login(username="admin", password="pw")
    client.user = user  # type: ignore[attr-defined]
    return client


def staff(client: Client, *codenames: str) -> Client:
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def with_history() -> None:
    """An hour of samples (growing totals) and some finished jobs."""
    now = timezone.now()
    for minute in range(60, 0, -5):
        QueueSampleFactory(
            taken_at=now - timedelta(minutes=minute),
            queued=100 - minute,
            succeeded_total=(60 - minute) * 10,
            failed_total=60 - minute,
        )
    JobFactory(status=JobStatus.SUCCEEDED, finished_at=now, task="tests.jobs.add")
    JobFactory(status=JobStatus.FAILED, finished_at=now, task="tests.jobs.fail_unknown")


def test_every_change_list_and_change_page_loads(admin_client: Client) -> None:
    index = admin_client.get("/admin/")
    assert index.status_code == 200 and DASHBOARD.encode() in index.content
    AttemptFactory()
    DeadLetterFactory()
    AlertDeliveryFactory()
    WorkerFactory()
    ScheduleFactory()
    BreakerFactory()
    QueueStateFactory()
    for model in ALL_MODELS:
        page = admin_client.get(f"{BASE}/{model}/")
        assert page.status_code == 200, model
    job = Job.objects.filter(attempt_set__isnull=False).first()
    assert job is not None
    page = admin_client.get(f"{BASE}/job/{job.pk}/change/")
    assert b"connection refused" in page.content and b"<details" in page.content
    assert admin_client.get(DASHBOARD).status_code == 200


def test_the_dashboard_draws_svg_charts_with_data_and_nothing_external(
    admin_client: Client,
) -> None:
    with_history()
    AlertFactory(message="an active alert")
    BreakerFactory(state="open")
    page = admin_client.get(DASHBOARD)
    body = page.content.decode()
    assert body.count("<svg") >= 4
    assert 'data-series="default"' in body  # the depth line of the sampled queue
    assert 'data-series="succeeded"' in body and 'data-series="failed"' in body
    assert "tests.jobs.fail_unknown" in body and "100.0%" in body
    assert "an active alert" in body
    assert "<script" not in body.split('id="content-main"')[1]
    assert "cdn" not in body.lower()


def test_pause_and_resume_from_the_dashboard_need_pause_queue(client: Client) -> None:
    staff(client, "view_job")
    page = client.get(DASHBOARD)
    assert page.status_code == 200 and b'value="Pause"' not in page.content
    assert client.post(DASHBOARD, {"queue": "default", "operation": "pause"}).status_code == 403
    assert not QueueState.objects.filter(paused_at__isnull=False).exists()
    get_user_model().objects.get(username="staff").user_permissions.add(
        Permission.objects.get(codename="pause_queue")
    )
    assert b'value="Pause"' in client.get(DASHBOARD).content
    response = client.post(DASHBOARD, {"queue": "default", "operation": "pause"}, follow=True)
    assert b"Paused queue" in response.content
    state = QueueState.objects.get(name="default")
    assert state.is_paused and state.paused_by is not None
    assert LogEntry.objects.filter(object_id=str(state.pk)).exists()
    again = client.post(DASHBOARD, {"queue": "default", "operation": "pause"}, follow=True)
    assert b"Queue &#x27;default&#x27; was already paused: nothing changed." in again.content
    client.post(DASHBOARD, {"queue": "default", "operation": "resume"})
    assert not QueueState.objects.get(name="default").is_paused


def test_a_user_without_view_job_does_not_see_the_dashboard(client: Client) -> None:
    staff(client, "view_alert")
    assert client.get(DASHBOARD).status_code == 403


def test_change_priority_asks_for_the_value_then_sets_it(admin_client: Client) -> None:
    job = JobFactory()
    selected = {"action": "change_priority", "_selected_action": [str(job.pk)]}
    form = admin_client.post(f"{BASE}/job/", selected)
    assert form.status_code == 200 and b"CRITICAL (100)" in form.content
    bad = admin_client.post(f"{BASE}/job/", {**selected, "apply": "1", "value": "500"})
    assert bad.status_code == 200 and Job.objects.get(pk=job.pk).priority == 0
    admin_client.post(f"{BASE}/job/", {**selected, "apply": "1", "value": "77"}, follow=True)
    assert Job.objects.get(pk=job.pk).priority == 77
    admin_client.post(f"{BASE}/job/", {**selected, "apply": "1", "named": "-50"}, follow=True)
    assert Job.objects.get(pk=job.pk).priority == -50
    assert LogEntry.objects.filter(object_id=str(job.pk)).count() == 2


def test_cancel_action_asks_a_running_job_to_stop(admin_client: Client) -> None:
    running = JobFactory(status=JobStatus.RUNNING)
    response = admin_client.post(
        f"{BASE}/job/", {"action": "cancel", "_selected_action": [str(running.pk)]}, follow=True
    )
    assert b"Cancelled 1 job." in response.content
    assert Job.objects.get(pk=running.pk).cancel_requested_at is not None


def test_filters_by_task_error_type_and_category(admin_client: Client) -> None:
    failed = AttemptFactory().job
    other = JobFactory(task="tests.jobs.record", status=JobStatus.FAILED)
    DeadLetterFactory(error_type="builtins.ConnectionError")
    page = admin_client.get(f"{BASE}/job/?task=tests.jobs.record").content.decode()
    assert f"/job/{other.pk}/change/" in page and f"/job/{failed.pk}/change/" not in page
    for query in ("error_type=builtins.ConnectionError", "failure_category=NETWORK"):
        page = admin_client.get(f"{BASE}/job/?{query}").content.decode()
        assert f"/job/{failed.pk}/change/" in page and f"/job/{other.pk}/change/" not in page
    assert "tests.jobs.record" in page  # the task filter lists registered names
    page = admin_client.get(f"{BASE}/deadletter/?error_type=builtins.RuntimeError")
    assert page.status_code == 200 and b"0 dead letters" in page.content


def test_search_by_id_task_and_unique_key(admin_client: Client) -> None:
    job = JobFactory(unique_key="invoice-42")
    other = JobFactory(task="tests.jobs.record")
    for term in (str(job.pk), "invoice-42", "jobs.add"):
        page = admin_client.get(f"{BASE}/job/", {"q": term}).content.decode()
        assert f"/job/{job.pk}/change/" in page and f"/job/{other.pk}/change/" not in page, term


def test_lists_never_count_past_the_cap_and_run_no_query_per_row(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(helpers, "COUNT_CAP", 5)
    JobFactory.create_batch(6)  # past the cap already: both pages take the same path
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(f"{BASE}/job/").status_code == 200
    JobFactory.create_batch(30, worker=WorkerFactory())
    with CaptureQueriesContext(connection) as many:
        page = admin_client.get(f"{BASE}/job/")
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not any("COUNT(" in q["sql"].upper() for q in many.captured_queries)
    if connection.vendor == "sqlite":
        assert b"6 jobs" in page.content  # no estimate here: the cap
    filtered = admin_client.get(f"{BASE}/job/", {"status": "queued"})
    assert b"6 jobs" in filtered.content  # a filtered list is capped, never estimated
    for model in ("deadletter", "attempt", "alertdelivery", "worker"):
        assert admin_client.get(f"{BASE}/{model}/").status_code == 200


def test_the_delivery_page_never_shows_a_secret(admin_client: Client) -> None:
    delivery = AlertDeliveryFactory(
        payload={"message": "visible-text", "secret": "s3cr3t-value", "url": "https://x/hook"}
    )
    page = admin_client.get(f"{BASE}/alertdelivery/{delivery.pk}/change/").content.decode()
    assert "visible-text" in page
    assert "s3cr3t-value" not in page and "https://x/hook" not in page


def test_samples_carry_running_totals_and_are_pruned() -> None:
    JobFactory(status=JobStatus.QUEUED, queue="mail")
    assert take_samples() >= 1
    first = QueueSample.objects.get(queue="mail")
    assert (first.queued, first.succeeded_total) == (1, 0)
    JobFactory(status=JobStatus.SUCCEEDED, queue="mail", finished_at=timezone.now())
    take_samples(timezone.now() + timedelta(seconds=5))
    latest = QueueSample.objects.filter(queue="mail").order_by("-taken_at").first()
    assert latest is not None and latest.succeeded_total == 1
    QueueSampleFactory(taken_at=timezone.now() - timedelta(days=3))
    assert prune_queue_samples() == 1
    assert QueueSample.objects.filter(queue="mail").count() == 2
