"""A redacted argument never appears on the Job and DeadLetter admin pages; the others do."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests.factories import DeadLetterFactory, JobFactory

pytestmark = pytest.mark.django_db

SECRET = "hunter2-very-secret"


@pytest.fixture
def client() -> Client:
    user = User.objects.create_superuser("admin", "a@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@override_settings(RESILIENT_QUEUE={"REDACT": ["b", "password"]})
def test_job_and_dead_letter_pages_mask_redacted_values(client: Client) -> None:
    job = JobFactory(args=[4242, SECRET], kwargs={"opts": {"password": SECRET, "user": "ann-x"}})
    letter = DeadLetterFactory(args=[4343, SECRET], kwargs={"password": SECRET, "user": "bob-y"})
    pages = [
        (f"/admin/django_resilient_queue/job/{job.pk}/change/", ["4242", "ann-x"]),
        ("/admin/django_resilient_queue/job/", []),
        (f"/admin/django_resilient_queue/deadletter/{letter.pk}/change/", ["4343", "bob-y"]),
        ("/admin/django_resilient_queue/deadletter/", []),
    ]
    for url, shown in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert SECRET not in body, url
        for value in shown:
            assert value in body, (url, value)
    job.refresh_from_db()
    assert job.args == [4242, SECRET]
