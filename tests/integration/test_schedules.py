"""Schedules on the real database: sync, exactly-once ticks, verbs, retention, queuestatus."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from django_resilient_queue.context import JobContext
from django_resilient_queue.models import Job, JobStatus, Schedule, ScheduleTick
from django_resilient_queue.services import schedules
from django_resilient_queue.services.retention import prune_finished_jobs
from django_resilient_queue.services.schedule_sync import sync_schedules
from django_resilient_queue.worker.dbretry import OutageTracker
from django_resilient_queue.worker.scheduler import Scheduler
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

NIGHTLY = {"task": "tests.jobs.add", "cron": "0 3 * * *", "timezone": "Europe/Paris"}


def sync(schedules_setting: dict[str, object]):
    with override_settings(RESILIENT_QUEUE={"SCHEDULES": schedules_setting}):
        return sync_schedules()


def test_sync_adds_changes_and_removes_settings_schedules() -> None:
    result = sync(
        {"nightly": {**NIGHTLY, "args": [1, 2]}, "hourly": {**NIGHTLY, "cron": "0 * * * *"}}
    )
    assert sorted(result.added) == ["hourly", "nightly"]
    nightly = Schedule.objects.get(name="nightly")
    assert (nightly.source, nightly.args, nightly.timezone) == ("settings", [1, 2], "Europe/Paris")
    assert nightly.next_run_at is not None and nightly.next_run_at > timezone.now()
    # 03:00 in Paris is 01:00 or 02:00 UTC.
    assert nightly.next_run_at.astimezone(UTC).hour in (1, 2)

    assert (
        sync(
            {"nightly": {**NIGHTLY, "args": [1, 2]}, "hourly": {**NIGHTLY, "cron": "0 * * * *"}}
        ).changed
        == []
    )
    result = sync({"nightly": {**NIGHTLY, "cron": "30 4 * * *", "args": [1, 2]}})
    assert (result.changed, result.removed) == (["nightly"], ["hourly"])
    nightly.refresh_from_db()
    assert nightly.cron == "30 4 * * *"
    assert nightly.next_run_at.astimezone(ZoneInfo("Europe/Paris")).hour == 4  # type: ignore[union-attr]
    assert not Schedule.objects.filter(name="hourly").exists()


def ZoneParis():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


def test_sync_never_touches_admin_rows() -> None:
    admin_row = ScheduleFactory(name="nightly", cron="*/5 * * * *", source="admin")
    other_admin_row = ScheduleFactory(name="mine", source="admin")
    result = sync({"nightly": NIGHTLY})
    assert result.shadowed == ["nightly"] and not result.added
    admin_row.refresh_from_db()
    assert admin_row.cron == "*/5 * * * *" and admin_row.source == "admin"
    sync({})
    assert Schedule.objects.filter(pk__in=[admin_row.pk, other_admin_row.pk]).count() == 2


def test_sync_keeps_an_admin_disable_of_a_settings_schedule() -> None:
    sync({"nightly": NIGHTLY})
    schedules.disable_schedules(Schedule.objects.filter(name="nightly"))
    sync({"nightly": NIGHTLY})
    assert not Schedule.objects.get(name="nightly").enabled
    sync({"nightly": {**NIGHTLY, "enabled": True}})  # an explicit setting wins
    assert Schedule.objects.get(name="nightly").enabled


def test_sync_skips_invalid_entries() -> None:
    result = sync(
        {"bad": {**NIGHTLY, "timezone": "Mars/Olympus"}, "unknown": {**NIGHTLY, "task": "no.such"}}
    )
    assert result.added == [] and not Schedule.objects.exists()


def test_decorator_schedules_are_synced() -> None:
    import tests.jobs_cron  # noqa: F401  (registers @job(cron="* * * * * *"))

    result = sync({})
    assert "tests.jobs_cron.every_second" in result.added
    row = Schedule.objects.get(name="tests.jobs_cron.every_second")
    assert (row.source, row.cron, row.queue, row.timezone) == (
        "decorator",
        "* * * * * *",
        "default",
        "UTC",
    )


def test_a_tick_is_recorded_once_and_makes_one_job() -> None:
    schedule = ScheduleFactory()
    tick_at = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
    assert schedules.record_tick(schedule, tick_at) is True
    assert schedules.record_tick(schedule, tick_at) is False
    job = Job.objects.get()
    assert job.run_after == tick_at and (job.args, job.task) == ([1, 1], "tests.jobs.add")
    tick = ScheduleTick.objects.get()
    assert tick.job_id == job.pk
    schedule.refresh_from_db()
    assert schedule.last_run_at == tick_at
    assert JobContext(job=job, attempt=1).scheduled_at == tick_at


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_are_enqueued_exactly_once() -> None:
    schedule = ScheduleFactory()
    tick_at = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
    barrier = threading.Barrier(4)
    won: list[bool] = []

    def tick() -> None:
        try:
            barrier.wait()
            won.append(schedules.record_tick(schedule, tick_at))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(won) == [False, False, False, True]
    assert ScheduleTick.objects.count() == 1 and Job.objects.count() == 1


def test_scheduler_enqueues_due_ticks_and_moves_next_run() -> None:
    now = timezone.now()
    schedule = ScheduleFactory(
        cron="* * * * *", next_run_at=now - timedelta(minutes=3), catch_up="all"
    )
    earliest = Scheduler(OutageTracker("test")).run_due(now)
    assert Job.objects.count() == 3
    schedule.refresh_from_db()
    assert schedule.next_run_at == earliest and now < earliest <= now + timedelta(minutes=1)
    Scheduler(OutageTracker("test")).run_due(now)  # a late peer: nothing more
    assert Job.objects.count() == 3


def test_scheduler_starts_new_admin_rows_at_their_next_tick() -> None:
    schedule = ScheduleFactory(cron="* * * * *", next_run_at=None)
    now = timezone.now()
    Scheduler(OutageTracker("test")).run_due(now)
    schedule.refresh_from_db()
    assert not Job.objects.exists() and schedule.next_run_at > now  # type: ignore[operator]


def test_scheduler_ignores_disabled_schedules() -> None:
    ScheduleFactory(
        cron="* * * * *", enabled=False, next_run_at=timezone.now() - timedelta(hours=1)
    )
    Scheduler(OutageTracker("test")).run_due(timezone.now())
    assert not Job.objects.exists()


def test_enable_starts_at_the_next_tick_and_disable_clears_it() -> None:
    schedule = ScheduleFactory(cron="* * * * *", next_run_at=timezone.now() - timedelta(days=3))
    assert schedules.disable_schedules([schedule.pk]).changed == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at is None
    assert schedules.enable_schedules([schedule.pk]).changed == 1
    schedule.refresh_from_db()
    # No catch-up of the days it was disabled.
    assert schedule.next_run_at > timezone.now()  # type: ignore[operator]


def test_run_now_enqueues_one_job_recorded_as_a_tick() -> None:
    schedule = ScheduleFactory(next_run_at=timezone.now() + timedelta(hours=1))
    before = schedule.next_run_at
    assert schedules.run_schedules_now([schedule.pk]).changed == 1
    tick = ScheduleTick.objects.get()
    job = Job.objects.get()
    assert tick.job_id == job.pk and job.run_after == tick.tick_at
    schedule.refresh_from_db()
    assert schedule.last_run_at == tick.tick_at and schedule.next_run_at == before


def test_a_tick_outlives_the_pruning_of_its_job() -> None:
    schedule = ScheduleFactory()
    tick_at = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
    schedules.record_tick(schedule, tick_at)
    Job.objects.update(status=JobStatus.SUCCEEDED, finished_at=timezone.now() - timedelta(days=30))
    assert prune_finished_jobs({"succeeded": 7})["succeeded"] == 1
    tick = ScheduleTick.objects.get()
    assert tick.job_id is None
    # The tick is still known: it is not enqueued again.
    assert schedules.record_tick(schedule, tick_at) is False
    assert not Job.objects.exists()


def test_queuestatus_lists_schedules_with_their_next_run() -> None:
    next_run = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)
    ScheduleFactory(name="nightly", cron="0 3 * * *", next_run_at=next_run)
    out = StringIO()
    call_command("queuestatus", stdout=out)
    assert (
        "nightly: 0 3 * * * UTC -> tests.jobs.add; next run 2030-01-01T03:00:00+00:00"
        in out.getvalue()
    )
    out = StringIO()
    call_command("queuestatus", "--json", stdout=out)
    listed = json.loads(out.getvalue())["schedules"]
    assert [(s["name"], s["next_run_at"]) for s in listed] == [("nightly", "2030-01-01T03:00:00Z")]


def test_prunejobs_deletes_old_ticks_but_never_one_that_could_come_again() -> None:
    now = timezone.now()
    schedule = ScheduleFactory(cron="0 * * * *", next_run_at=now + timedelta(hours=1))
    ancient = now - timedelta(days=40)
    assert schedules.record_tick(schedule, ancient)
    assert schedules.record_tick(schedule, now - timedelta(days=1))  # its job may still exist
    # A schedule whose next run is still behind that old tick (never advanced past it).
    stuck = ScheduleFactory(cron="0 * * * *", next_run_at=ancient - timedelta(hours=1))
    assert schedules.record_tick(stuck, ancient)
    out = StringIO()
    call_command("prunejobs", "--dry-run", stdout=out)
    assert "would delete 1 schedule ticks" in out.getvalue()
    assert ScheduleTick.objects.count() == 3
    out = StringIO()
    call_command("prunejobs", stdout=out)
    assert "deleted 1 schedule ticks" in out.getvalue()
    left = set(ScheduleTick.objects.values_list("schedule_id", "tick_at"))
    assert left == {(schedule.pk, now - timedelta(days=1)), (stuck.pk, ancient)}
