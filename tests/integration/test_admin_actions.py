"""The admin through Django's test Client: pages load, actions need their own permission."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from django_resilient_queue.models import Alert, DeadLetter, Job, JobStatus
from tests.factories import (
    AlertFactory,
    BreakerFactory,
    DeadLetterFactory,
    JobFactory,
    ScheduleFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db
BASE = "/admin/django_resilient_queue"
MODELS = ("job", "attempt", "deadletter", "alert", "worker", "schedule", "circuitbreaker")


@pytest.fixture
def superuser_client(client: Client) -> Client:
    user = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    assert client.login(username="admin", password="pw")
    client.user = user  # type: ignore[attr-defined]
    return client


def staff_with(client: Client, *codenames: str) -> Client:
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    assert client.login(username="staff", password="pw")
    return client


def post_action(client: Client, model: str, action: str, ids: list[int], **extra: Any) -> Any:
    return client.post(
        f"{BASE}/{model}/",
        {"action": action, "_selected_action": [str(i) for i in ids], **extra},
        follow=True,
    )


def test_every_change_list_and_page_loads(superuser_client: Client) -> None:
    letter = DeadLetterFactory()
    AlertFactory()
    WorkerFactory()
    ScheduleFactory()
    BreakerFactory()
    for model in MODELS:
        assert superuser_client.get(f"{BASE}/{model}/").status_code == 200, model
    page = superuser_client.get(f"{BASE}/job/{letter.job_id}/change/")
    assert page.status_code == 200
    assert b"dead letter #" in page.content
    # The second wave's fields are shown too (contract section 9).
    for label in (b"Reason", b"Expires at", b"Stall timeout", b"checkpoint"):
        assert label in page.content, label
    assert superuser_client.get(f"{BASE}/deadletter/{letter.pk}/change/").status_code == 200


def test_replay_action_requeues_and_logs(superuser_client: Client) -> None:
    letter = DeadLetterFactory()
    response = post_action(superuser_client, "deadletter", "replay", [letter.pk])
    assert b"Replayed 1 dead letter." in response.content
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert Job.objects.get(pk=letter.replayed_job_id).status == JobStatus.QUEUED
    assert LogEntry.objects.filter(object_id=str(letter.pk)).exists()
    again = post_action(superuser_client, "deadletter", "replay", [letter.pk])
    assert b"1 was not eligible" in again.content


def test_replay_keeping_the_checkpoint_resumes_from_it(superuser_client: Client) -> None:
    letter = DeadLetterFactory()
    Job.objects.filter(pk=letter.job_id).update(checkpoint={"offset": 41})
    plain = DeadLetterFactory()
    Job.objects.filter(pk=plain.job_id).update(checkpoint={"offset": 7})
    response = post_action(superuser_client, "deadletter", "replay_keeping_checkpoint", [letter.pk])
    assert b"Replayed (keeping the checkpoint) 1 dead letter." in response.content
    letter.refresh_from_db()
    assert Job.objects.get(pk=letter.replayed_job_id).checkpoint == {"offset": 41}
    post_action(superuser_client, "deadletter", "replay", [plain.pk])
    plain.refresh_from_db()
    assert Job.objects.get(pk=plain.replayed_job_id).checkpoint is None


def test_staff_without_replay_permission_is_not_offered_it_and_a_forced_post_does_nothing(
    client: Client,
) -> None:
    letter = DeadLetterFactory()
    staff_with(
        client, "view_deadletter", "add_deadletter", "change_deadletter", "delete_deadletter"
    )
    page = client.get(f"{BASE}/deadletter/")
    assert page.status_code == 200
    assert b'value="replay"' not in page.content
    assert b'value="replay_keeping_checkpoint"' not in page.content
    post_action(client, "deadletter", "replay", [letter.pk])
    post_action(client, "deadletter", "replay_keeping_checkpoint", [letter.pk])
    letter.refresh_from_db()
    assert letter.replayed_at is None
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 0


def test_staff_with_replay_permission_may_replay(client: Client) -> None:
    letter = DeadLetterFactory()
    staff_with(client, "view_deadletter", "replay_deadletter")
    assert b'value="replay"' in client.get(f"{BASE}/deadletter/").content
    assert b'value="discard"' not in client.get(f"{BASE}/deadletter/").content
    post_action(client, "deadletter", "replay", [letter.pk])
    assert DeadLetter.objects.get(pk=letter.pk).replayed_at is not None


def test_suppress_alert_for_30_minutes(superuser_client: Client) -> None:
    alert = AlertFactory()
    post_action(superuser_client, "alert", "suppress_30m", [alert.pk])
    alert.refresh_from_db()
    assert alert.suppressed_until is not None and alert.suppressed_until > timezone.now()
    post_action(superuser_client, "alert", "resolve", [alert.pk])
    alert.refresh_from_db()
    assert alert.resolved_at is not None and alert.resolved_by_id == superuser_client.user.pk  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("model", "action", "codename"),
    [
        ("job", "retry_now", "retry_job"),
        ("job", "cancel", "cancel_job"),
        ("job", "priority_high", "change_job_priority"),
        ("deadletter", "discard", "discard_deadletter"),
        ("alert", "resolve", "resolve_alert"),
        ("alert", "suppress_1d", "suppress_alert"),
        ("worker", "request_stop", "stop_worker"),
        ("schedule", "run_now", "run_schedule"),
        ("circuitbreaker", "force_open", "reset_breaker"),
    ],
)
def test_each_action_needs_its_codename(
    client: Client, model: str, action: str, codename: str
) -> None:
    for make in (JobFactory, DeadLetterFactory, AlertFactory, WorkerFactory, ScheduleFactory):
        make()
    BreakerFactory()
    staff_with(client, f"view_{model}", f"change_{model}")
    assert f'value="{action}"'.encode() not in client.get(f"{BASE}/{model}/").content
    get_user_model().objects.get(username="staff").user_permissions.add(
        Permission.objects.get(codename=codename)
    )
    assert f'value="{action}"'.encode() in client.get(f"{BASE}/{model}/").content


def test_job_actions_from_the_admin(superuser_client: Client) -> None:
    queued, failed = JobFactory(), JobFactory(status=JobStatus.FAILED)
    post_action(superuser_client, "job", "priority_critical", [queued.pk, failed.pk])
    assert Job.objects.get(pk=queued.pk).priority == 100
    response = post_action(superuser_client, "job", "retry_now", [queued.pk, failed.pk])
    assert b"Queued again 1 job; 1 was not eligible." in response.content
    post_action(superuser_client, "job", "cancel", [queued.pk, failed.pk])
    assert Job.objects.get(pk=queued.pk).status == JobStatus.CANCELLED


def test_schedule_form_refuses_a_bad_cron_and_time_zone(superuser_client: Client) -> None:
    response = superuser_client.post(
        f"{BASE}/schedule/add/",
        {
            "name": "nightly",
            "task": "tests.jobs.add",
            "cron": "61 * * * *",
            "timezone": "Mars/Olympus",
            "args": "[]",
            "kwargs": "{}",
            "queue": "default",
            "priority": "0",
            "enabled": "on",
            "catch_up": "latest",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "is not a valid cron expression" in errors["cron"][0]
    assert "Mars/Olympus" in errors["timezone"][0]
    assert not Alert.objects.exists()


def test_schedule_form_uses_the_same_rules_as_settings(superuser_client: Client) -> None:
    from django_resilient_queue.models import Schedule

    form = {
        "name": "nightly",
        "task": "tests.jobs.no_such_job",
        "cron": "0 3 * * * * *",
        "timezone": "UTC",
        "args": "[]",
        "kwargs": "{}",
        "queue": "default",
        "priority": "500",
        "enabled": "on",
        "catch_up": "latest",
    }
    response = superuser_client.post(f"{BASE}/schedule/add/", form)
    errors = response.context["adminform"].form.errors
    assert "is not a registered @job" in errors["task"][0]
    assert "has 7 fields" in errors["cron"][0]
    assert "-100 to 100" in errors["priority"][0]
    assert not Schedule.objects.exists()
    # Six fields are the same plus seconds, last: as in SCHEDULES, and saved.
    good = {**form, "task": "tests.jobs.add", "cron": " 0 3 * * * 30 ", "priority": "10"}
    response = superuser_client.post(f"{BASE}/schedule/add/", good, follow=True)
    assert response.status_code == 200
    assert Schedule.objects.get(name="nightly").cron == "0 3 * * * 30"
