"""Retries per category, RetryLater, Discard, give_up_after, dead letters, replay, callbacks."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_resilient_queue import Backoff, Retry
from django_resilient_queue.models import Attempt, DeadLetter, Job, JobStatus
from django_resilient_queue.services.deadletters import AlreadyReplayed
from tests import jobs
from tests.factories import JobFactory
from tests.integration.runner import run_next, run_until_final
from tests.testapp.models import Execution, Widget

pytestmark = pytest.mark.django_db


def outcomes(job: Job) -> list[tuple[int, str, str]]:
    return list(
        Attempt.objects.filter(job=job)
        .order_by("id")
        .values_list("number", "outcome", "failure_category")
    )


def test_validation_goes_straight_to_dead_letters() -> None:
    row, delays = run_until_final(jobs.fail_validation.enqueue("x"))
    assert row.status == JobStatus.FAILED and delays == []
    assert outcomes(row) == [(1, "failed", "VALIDATION")]
    letter = DeadLetter.objects.get(job=row)
    assert (letter.failure_category, letter.attempts, letter.args) == ("VALIDATION", 1, ["x"])
    assert "bad value" in letter.error_message and "ValueError" in letter.traceback
    assert letter.history[0]["error_type"] == "builtins.ValueError"


def test_network_errors_retry_five_times_with_linear_backoff() -> None:
    row, delays = run_until_final(jobs.network_flaky.enqueue(10))
    assert row.status == JobStatus.FAILED
    assert [o[1:] for o in outcomes(row)] == [("failed", "NETWORK")] * 5
    assert [round(d) for d in delays] == [5, 10, 15, 20]
    assert len(DeadLetter.objects.get(job=row).history) == 5


def test_network_error_then_success() -> None:
    row, _ = run_until_final(jobs.network_flaky.enqueue(2))
    assert (row.status, row.result, row.attempts) == (JobStatus.SUCCEEDED, 3, 3)
    assert not DeadLetter.objects.exists()


def test_business_error_and_discard_are_never_retried() -> None:
    business, _ = run_until_final(jobs.fail_business.enqueue())
    discarded, _ = run_until_final(jobs.discard_me.enqueue())
    assert outcomes(business) == [(1, "failed", "BUSINESS")]
    assert DeadLetter.objects.get(job=discarded).reason == "discarded: not needed any more"
    assert len(outcomes(discarded)) == 1


def test_unknown_uses_the_jobs_retry() -> None:
    row, delays = run_until_final(jobs.fail_unknown.enqueue())
    assert [o[1:] for o in outcomes(row)] == [("failed", "UNKNOWN")] * 2
    assert delays == []  # Backoff.fixed(0): runnable again at once


def test_settings_override_a_category_policy(settings) -> None:
    settings.RESILIENT_QUEUE = {
        **settings.RESILIENT_QUEUE,
        "FAILURE_POLICIES": {"VALIDATION": Retry(max_attempts=3, backoff=Backoff.fixed(7))},
    }
    row, delays = run_until_final(jobs.fail_validation.enqueue("x"))
    assert len(outcomes(row)) == 3
    assert [round(d) for d in delays] == [7, 7]


def test_retry_later_counts_as_an_attempt() -> None:
    row, _ = run_until_final(jobs.retry_later_once.enqueue(5))
    assert (row.status, row.attempts) == (JobStatus.SUCCEEDED, 2)
    assert [o[1] for o in outcomes(row)] == ["failed", "succeeded"]


def test_give_up_after_stops_retrying() -> None:
    job = jobs.gives_up.enqueue()
    runs = 0
    while not Job.objects.get(pk=job.pk).is_finished:
        Job.objects.filter(pk=job.pk, status="queued").update(run_after=timezone.now())
        run_next()
        runs += 1
        time.sleep(0.3)  # let real time pass: give_up_after is measured from the first start
        assert runs < 20
    letter = DeadLetter.objects.get(job_id=job.pk)
    assert letter.reason.startswith("gave up after")
    assert 2 <= runs < 10  # stopped long before max_attempts=50


def test_replay_after_fixing_the_cause() -> None:
    widget = Widget.objects.create(name="broken")
    failed, _ = run_until_final(jobs.fixable.enqueue(widget))
    letter = DeadLetter.objects.get(job=failed)
    widget.name = "fixed"
    widget.save()
    new_job = letter.replay(by=None)
    assert new_job.status == JobStatus.QUEUED and new_job.pk != failed.pk
    letter.refresh_from_db()
    assert letter.replayed_job_id == new_job.pk and letter.replayed_at is not None
    done, _ = run_until_final(new_job)
    assert (done.status, done.result) == (JobStatus.SUCCEEDED, "fixed")
    with pytest.raises(AlreadyReplayed):
        letter.replay()


def test_replay_records_who(django_user_model) -> None:
    user = django_user_model.objects.create_user("ops", password="x")
    failed, _ = run_until_final(jobs.fail_business.enqueue())
    letter = DeadLetter.objects.get(job=failed)
    letter.replay(by=user)
    letter.refresh_from_db()
    assert letter.replayed_by == user


def test_replayjobs_filters(capsys) -> None:
    for _ in range(3):
        run_until_final(jobs.fail_validation.enqueue("x"))
    run_until_final(jobs.fail_business.enqueue())
    old = DeadLetter.objects.filter(task="tests.jobs.fail_business").get()
    DeadLetter.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=3)
    )

    call_command("replayjobs", "--task", "tests.jobs.fail_validation", "--limit", "2")
    assert (
        DeadLetter.objects.filter(
            task="tests.jobs.fail_validation", replayed_at__isnull=False
        ).count()
        == 2
    )
    call_command("replayjobs", "--category", "business", "--since", "1d")
    assert DeadLetter.objects.get(pk=old.pk).replayed_at is None  # older than --since
    call_command("replayjobs", "--category", "BUSINESS", "--dry-run")
    assert DeadLetter.objects.get(pk=old.pk).replayed_at is None
    call_command("replayjobs", "--category", "BUSINESS")
    assert DeadLetter.objects.get(pk=old.pk).replayed_at is not None
    assert "replayed" in capsys.readouterr().out


def test_replayjobs_refuses_bad_flags() -> None:
    from django.core.management.base import CommandError

    for flags in (["--category", "SLOW"], ["--since", "yesterday-ish"], ["--limit", "0"]):
        with pytest.raises(CommandError):
            call_command("replayjobs", *flags)


def test_replay_of_an_unknown_task_is_refused() -> None:
    failed, _ = run_until_final(JobFactory(task="os.system", args=["true"]))
    letter = DeadLetter.objects.get(job=failed)
    from django_resilient_queue.exceptions import UnknownTask

    with pytest.raises(UnknownTask):
        letter.replay()


def test_callbacks_are_enqueued_with_the_outcome() -> None:
    ok, _ = run_until_final(jobs.with_callbacks.enqueue(False))
    bad, _ = run_until_final(jobs.with_callbacks.enqueue(True))
    callbacks = Job.objects.filter(task="tests.jobs.note_outcome").order_by("id")
    assert [c.args[0]["status"] for c in callbacks] == ["succeeded", "failed"]
    assert callbacks[0].args[0]["result"] == "fine" and callbacks[0].args[0]["job_id"] == ok.pk
    assert callbacks[1].args[0]["error_type"] == "builtins.ValueError"
    for callback in callbacks:
        run_until_final(callback)
    assert set(Execution.objects.values_list("label", "job_id")) == {
        ("callback-succeeded", ok.pk),
        ("callback-failed", bad.pk),
    }


def test_async_job_timeout_is_a_timeout_attempt(settings) -> None:
    row = run_next_for(jobs.async_sleep.enqueue(5))
    assert outcomes(row) == [(1, "timeout", "TIMEOUT")]
    ok = run_next_for(jobs.async_sleep.enqueue(0.01))
    assert (ok.status, ok.result) == (JobStatus.SUCCEEDED, "woke")


def run_next_for(job: Job) -> Job:
    result = run_next()
    assert result is not None and result.pk == job.pk
    return result


def test_soft_timeout_interrupts_a_busy_loop_in_the_main_thread() -> None:
    row = run_next_for(jobs.busy_loop.enqueue())
    assert outcomes(row) == [(1, "timeout", "TIMEOUT")]
    assert row.status == JobStatus.QUEUED  # TIMEOUT is retried


def test_retry_later_without_delay_uses_the_jobs_backoff() -> None:
    row, delays = run_until_final(jobs.retry_later_without_delay.enqueue())
    assert [round(d) for d in delays] == [42, 42]
    assert len(outcomes(row)) == 3


def test_settings_map_exceptions_to_categories(settings) -> None:
    settings.RESILIENT_QUEUE = {
        **settings.RESILIENT_QUEUE,
        "EXCEPTION_CATEGORIES": {"tests.jobs.PaymentGatewayDown": "NETWORK"},
    }
    row = run_next_for(jobs.gateway_down.enqueue())
    assert outcomes(row) == [(1, "failed", "NETWORK")]


@pytest.mark.django_db(transaction=True)
def test_async_job_reports_progress() -> None:
    # Committed data: the progress write runs on another thread, with its own connection.
    row = run_next_for(jobs.async_progress.enqueue())
    assert (row.status, row.result) == (JobStatus.SUCCEEDED, "done")
    assert row.progress == {"percent": 80.0, "message": "async call", "stage": "almost"}
