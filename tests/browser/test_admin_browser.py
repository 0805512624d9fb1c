"""The admin in a real Chromium: log in, replay, suppress, permissions, the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from django_resilient_queue.models import Alert, DeadLetter, Job, JobStatus
from tests.factories import (
    AlertFactory,
    AttemptFactory,
    BreakerFactory,
    DeadLetterFactory,
    JobFactory,
    QueueSampleFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.browser
BASE = "/admin/django_resilient_queue"


def log_in(browser: Any, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{browser.base}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools").text.upper().startswith("WELCOME")


def superuser(browser: Any) -> None:
    get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    log_in(browser, "admin", "pw")


def run_action(browser: Any, model: str, pk: int, action: str) -> str:
    """Tick row ``pk`` on the change list, choose ``action``, press Go; return the message."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{browser.base}{BASE}/{model}/")
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value(action)
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    return str(browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text)


def action_values(browser: Any, model: str) -> list[str]:
    from selenium.webdriver.common.by import By

    browser.get(f"{browser.base}{BASE}/{model}/")
    options = browser.find_elements(By.CSS_SELECTOR, "select[name=action] option")
    return [str(o.get_attribute("value")) for o in options]


def test_superuser_replays_a_dead_letter_and_sees_its_job_queued(
    browser: Any, screenshot: Any
) -> None:
    from selenium.webdriver.common.by import By

    letter = DeadLetterFactory(
        traceback="Traceback (most recent call last):\n  File ...\nRuntimeError: boom\n"
    )
    DeadLetterFactory(task="tests.jobs.fail_unknown", error_type="builtins.ValueError")
    superuser(browser)
    message = run_action(browser, "deadletter", letter.pk, "replay")
    assert "Replayed 1 dead letter." in message
    screenshot("dead-letter-replayed")
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    browser.get(f"{browser.base}{BASE}/deadletter/{letter.pk}/change/")
    browser.find_element(By.PARTIAL_LINK_TEXT, "replayed as job").click()
    assert "queued" in browser.find_element(By.ID, "content-main").text
    assert Job.objects.get(pk=letter.replayed_job_id).status == JobStatus.QUEUED


def test_suppress_an_alert_for_30_minutes(browser: Any, screenshot: Any) -> None:
    alert = AlertFactory(message="circuit breaker 'payments' open")
    AlertFactory(kind="QUEUE_DEPTH_HIGH", severity="medium", message="queue mail above 5000")
    superuser(browser)
    message = run_action(browser, "alert", alert.pk, "suppress_30m")
    assert "Suppressed for 30m 1 alert." in message
    screenshot("alert-suppressed")
    alert.refresh_from_db()
    assert alert.suppressed_until is not None
    assert timezone.now() + timedelta(minutes=25) < alert.suppressed_until
    assert Alert.objects.get(pk=alert.pk).resolved_at is None


def test_staff_without_replay_deadletter_is_not_offered_replay(browser: Any) -> None:
    letter = DeadLetterFactory()
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                "view_deadletter",
                "add_deadletter",
                "change_deadletter",
                "delete_deadletter",
            ]
        )
    )
    log_in(browser, "staff", "pw")
    offered = action_values(browser, "deadletter")
    assert "replay" not in offered and "discard" not in offered
    assert DeadLetter.objects.get(pk=letter.pk).replayed_at is None


def test_the_dashboard_shows_its_svg_charts_with_data(browser: Any, screenshot: Any) -> None:
    from selenium.webdriver.common.by import By

    now = timezone.now()
    totals = {"default": [0, 0], "mail": [0, 0]}
    for step in range(120, 0, -1):
        for queue, base in (("default", 40), ("mail", 15)):
            # Running totals that only grow, at a rate that varies: what the sampler writes.
            totals[queue][0] += base + (step * 11) % 17
            totals[queue][1] += (step // 10) % 3
            QueueSampleFactory(
                queue=queue,
                taken_at=now - timedelta(seconds=30 * step),
                queued=base + (step * 7) % 23,
                succeeded_total=totals[queue][0],
                failed_total=totals[queue][1],
            )
    for task, failed in (("tests.jobs.add", 1), ("tests.jobs.fail_unknown", 4)):
        for i in range(5):
            status = JobStatus.FAILED if i < failed else JobStatus.SUCCEEDED
            JobFactory(task=task, status=status, finished_at=now)
    JobFactory.create_batch(3, queue="mail", run_after=now - timedelta(minutes=3))
    WorkerFactory(name="web-1:4242:0:4243", rss_bytes=84_000_000, current_jobs=[1])
    BreakerFactory(key="payments", state="open", failures=5, opened_at=now)
    AlertFactory(severity="high", message="circuit breaker 'payments' open")
    superuser(browser)
    browser.get(f"{browser.base}/admin/")
    browser.find_element(By.LINK_TEXT, "Dashboard").click()
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.drq-chart")
    assert len(charts) == 4
    lines = browser.find_elements(By.CSS_SELECTOR, "svg.drq-chart polyline.drq-series")
    names = {line.get_attribute("data-series") for line in lines}
    assert {"default", "mail", "succeeded", "failed"} <= names
    assert browser.find_elements(By.CSS_SELECTOR, "svg.drq-chart rect.drq-bar")
    assert "payments" in browser.find_element(By.ID, "content-main").text
    assert browser.find_element(By.NAME, "pause-mail").is_displayed()
    # Nothing spills out of its card: every table's right edge is inside its card's.
    spills = browser.execute_script(
        "return [...document.querySelectorAll('.drq-card table')].filter(t => {"
        " const card = t.closest('.drq-card').getBoundingClientRect();"
        " return t.getBoundingClientRect().right > card.right + 1; }).length"
    )
    assert spills == 0
    screenshot("dashboard")
    browser.find_element(By.NAME, "pause-mail").click()
    assert "Paused queue 'mail'" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text


def test_a_job_page_shows_attempts_and_its_traceback(browser: Any, screenshot: Any) -> None:
    from selenium.webdriver.common.by import By

    attempt = AttemptFactory()
    job = attempt.job
    job.kwargs = {"order_id": 1234, "notify": True}
    job.progress = {"done": 40, "total": 100}
    job.save()
    superuser(browser)
    browser.get(f"{browser.base}{BASE}/job/{job.pk}/change/")
    browser.find_element(By.CSS_SELECTOR, "details.drq-traceback summary").click()
    assert "ConnectionError" in browser.find_element(By.CSS_SELECTOR, "details.drq-traceback").text
    screenshot("job-page")
