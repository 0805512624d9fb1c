"""Every services verb on the real database: what it changes, what it counts as not eligible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_resilient_queue.models import (
    Alert,
    CircuitBreaker,
    DeadLetter,
    Job,
    JobStatus,
    Schedule,
    Worker,
)
from django_resilient_queue.services import (
    alerts,
    breakers,
    deadletters,
    jobs,
    queues,
    schedules,
    workers,
)
from django_resilient_queue.services.deadletters import AlreadyReplayed, replay_dead_letter
from tests.factories import (
    AlertFactory,
    BreakerFactory,
    DeadLetterFactory,
    JobFactory,
    ScheduleFactory,
    WorkerFactory,
)

pytestmark = pytest.mark.django_db


def test_retry_requeues_failed_and_cancelled_and_starts_waiting_jobs_now() -> None:
    failed = JobFactory(status=JobStatus.FAILED, attempts=3, max_attempts=3)
    letter = DeadLetterFactory(job=failed)
    cancelled = JobFactory(status=JobStatus.CANCELLED)
    later = JobFactory(run_after=timezone.now() + timedelta(hours=1))
    runnable = JobFactory()
    done = JobFactory(status=JobStatus.SUCCEEDED)
    unique = JobFactory(status=JobStatus.FAILED, unique_key="k")
    result = jobs.retry_jobs(Job.objects.all())
    assert (result.changed, result.ineligible) == (3, 3)
    failed.refresh_from_db()
    assert failed.status == JobStatus.QUEUED and failed.max_attempts == 6
    assert failed.run_after <= timezone.now()
    letter.refresh_from_db()
    assert letter.replayed_at is not None and letter.replayed_job_id == failed.pk
    assert Job.objects.get(pk=cancelled.pk).status == JobStatus.QUEUED
    assert Job.objects.get(pk=later.pk).run_after <= timezone.now()
    for untouched in (runnable, done, unique):
        assert Job.objects.get(pk=untouched.pk).status == untouched.status


def test_cancel_cancels_queued_jobs_and_asks_running_ones_to_stop() -> None:
    queued = JobFactory()
    running = JobFactory(status=JobStatus.RUNNING)
    done = JobFactory(status=JobStatus.SUCCEEDED)
    result = jobs.cancel_jobs([queued.pk, running.pk, done.pk])
    assert (result.changed, result.ineligible) == (2, 1)
    queued.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED and queued.finished_at is not None
    running.refresh_from_db()
    # The worker stops it: the row stays running until its supervisor records the cancel.
    assert running.status == JobStatus.RUNNING and running.cancel_requested_at is not None
    again = jobs.cancel_jobs([running.pk])
    assert (again.changed, again.ineligible) == (0, 1)


def test_change_priority_on_queued_jobs_and_refuses_out_of_range() -> None:
    queued = JobFactory(priority=0)
    done = JobFactory(status=JobStatus.SUCCEEDED, priority=0)
    result = jobs.change_priority(Job.objects.all(), 100)
    assert (result.changed, result.ineligible) == (1, 1)
    assert Job.objects.get(pk=queued.pk).priority == 100
    assert Job.objects.get(pk=done.pk).priority == 0
    with pytest.raises(ValueError):
        jobs.change_priority(Job.objects.all(), 101)
    assert Job.objects.get(pk=queued.pk).priority == 100


def test_replay_dead_letters_once_each_even_after_the_replay_job_is_deleted() -> None:
    first, second = DeadLetterFactory(), DeadLetterFactory()
    unknown = DeadLetterFactory(task="os.system")
    result = deadletters.replay_dead_letters(DeadLetter.objects.all())
    assert (result.changed, result.ineligible) == (2, 1)
    first.refresh_from_db()
    assert first.replayed_at is not None
    assert Job.objects.get(pk=first.replayed_job_id).status == JobStatus.QUEUED
    # Retention deletes the replay's job: the dead letter stays replayed.
    Job.objects.filter(pk=first.replayed_job_id).delete()
    first.refresh_from_db()
    assert first.replayed_job_id is None
    jobs_before = Job.objects.count()
    with pytest.raises(AlreadyReplayed):
        replay_dead_letter(first)
    again = deadletters.replay_dead_letters([first.pk, second.pk, unknown.pk])
    assert (again.changed, again.ineligible) == (0, 3)
    assert Job.objects.count() == jobs_before


def test_replay_many_picks_by_task_and_limit_oldest_first_and_a_dry_run_writes_nothing() -> None:
    older, newer = DeadLetterFactory.create_batch(2, task="tests.jobs.add")
    DeadLetterFactory(task="tests.jobs.record")
    planned, skipped = deadletters.replay_many(task="tests.jobs.add", dry_run=True)
    assert [letter for letter, _ in planned] == [older.pk, newer.pk] and not skipped
    assert not DeadLetter.objects.filter(replayed_at__isnull=False).exists()
    replayed, _ = deadletters.replay_many(task="tests.jobs.add", limit=1)
    assert [letter for letter, _ in replayed] == [older.pk]
    ((_, job_id),) = replayed
    assert Job.objects.get(pk=job_id).status == JobStatus.QUEUED
    assert list(DeadLetter.objects.filter(replayed_at__isnull=False)) == [older]


def test_pause_and_resume_queues_count_what_changed() -> None:
    first = queues.pause_queues(["mail", "default", " "])
    assert (first.changed, first.ineligible) == (2, 0)
    assert queues.paused_queues() == ["default", "mail"]
    again = queues.pause_queues(["mail"])
    assert (again.changed, again.ineligible) == (0, 1)
    resumed = queues.resume_queues(["mail", "never-paused"])
    assert resumed.changed == 1
    assert queues.paused_queues() == ["default"]


def test_discard_deletes_dead_letters() -> None:
    letters = DeadLetterFactory.create_batch(3)
    result = deadletters.discard_dead_letters(DeadLetter.objects.filter(pk=letters[0].pk))
    assert result.changed == 1
    assert DeadLetter.objects.count() == 2


def test_resolve_suppress_and_unsuppress_alerts() -> None:
    a, b = AlertFactory(), AlertFactory()
    other = AlertFactory(kind="QUEUE_DEPTH_HIGH", fingerprint="q")
    resolved = alerts.resolve_alerts(Alert.objects.filter(pk=a.pk))
    assert resolved.changed == 1
    assert alerts.resolve_alerts([a.pk]).ineligible == 1
    suppressed = alerts.suppress_alerts(Alert.objects.filter(pk=b.pk), timedelta(minutes=30))
    assert suppressed.changed == 2  # the whole kind: a and b
    until = alerts.kind_suppressed_until("BREAKER_OPEN")
    assert until is not None and until > timezone.now() + timedelta(minutes=29)
    assert Alert.objects.get(pk=other.pk).suppressed_until is None
    assert alerts.unsuppress_alerts([a.pk]).changed == 2
    assert alerts.kind_suppressed_until("BREAKER_OPEN") is None


def test_request_stop_marks_running_workers() -> None:
    running = WorkerFactory()
    stopped = WorkerFactory(state="stopped")
    result = workers.request_stop(Worker.objects.all())
    assert (result.changed, result.ineligible) == (1, 1)
    assert Worker.objects.get(pk=running.pk).stop_requested is True
    assert Worker.objects.get(pk=stopped.pk).stop_requested is False


def test_reset_and_force_open_breakers() -> None:
    closed = BreakerFactory()
    opened = BreakerFactory(state="open", failures=10, opened_at=timezone.now())
    forced = breakers.force_open_breakers(CircuitBreaker.objects.filter(pk=closed.pk))
    assert forced.changed == 1
    assert CircuitBreaker.objects.get(pk=closed.pk).state == "open"
    assert Alert.objects.filter(fingerprint=f"BREAKER_OPEN:{closed.key}").exists()
    reset = breakers.reset_breakers(CircuitBreaker.objects.all())
    assert reset.changed == 2
    assert set(CircuitBreaker.objects.values_list("state", flat=True)) == {"closed"}
    assert CircuitBreaker.objects.get(pk=opened.pk).failures == 0
    assert breakers.reset_breakers(CircuitBreaker.objects.all()).ineligible == 2


def test_enable_disable_and_run_schedules_now() -> None:
    good = ScheduleFactory(queue="reports", priority=50)
    unknown = ScheduleFactory(task="no.such.task")
    assert schedules.disable_schedules(Schedule.objects.all()).changed == 2
    assert schedules.disable_schedules(Schedule.objects.all()).ineligible == 2
    assert schedules.enable_schedules([good.pk]).changed == 1
    result = schedules.run_schedules_now(Schedule.objects.all())
    assert (result.changed, result.ineligible) == (1, 1)
    job = Job.objects.get()
    assert (job.task, job.args, job.queue, job.priority) == (
        "tests.jobs.add",
        [1, 1],
        "reports",
        50,
    )
    assert not unknown.ticks.exists()


def test_a_large_selection_is_handled_in_batches() -> None:
    Job.objects.bulk_create(
        [Job(task="tests.jobs.add", args=[1, 1], status=JobStatus.QUEUED) for _ in range(1205)]
    )
    result = jobs.cancel_jobs(Job.objects.all())
    assert result.changed == 1205
    assert not Job.objects.filter(status=JobStatus.QUEUED).exists()
