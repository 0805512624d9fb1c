"""Cron schedules with real ``runworkers``: each tick enqueued once, however many run."""

from __future__ import annotations

import json
import signal
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from django_resilient_queue.models import Job, JobStatus, Schedule, ScheduleTick
from tests.conftest import Workers, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)

EVERY_SECOND = {
    "tick": {
        "task": "tests.jobs.record",
        "cron": "* * * * * *",
        "args": ["tick"],
        # A supervisor late by more than a second on a loaded host still enqueues
        # every tick: the test can ask for one job per second, no gap.
        "catch_up": "all",
    }
}


def stop(workers: Workers) -> None:
    """SIGTERM every runworkers and wait for it to exit 0."""
    for process in workers.processes:
        Workers.kill_group(process, signal.SIGTERM)
    for process in workers.processes:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output


def tick_span(task: str, seconds: float) -> list[Job]:
    """Wait until the jobs of ``task`` cover ``seconds`` of tick times; return them."""

    def covered() -> list[Job] | None:
        jobs = list(Job.objects.filter(task=task).order_by("run_after"))
        if len(jobs) >= 2 and jobs[-1].run_after - jobs[0].run_after >= timedelta(seconds=seconds):
            return jobs
        return None

    return wait_until(covered, timeout=60, interval=0.2)  # type: ignore[no-any-return]


def test_three_runworkers_on_every_second_make_one_job_per_second(workers: Workers) -> None:
    env = worker_env(RESILIENT_QUEUE_TEST_SCHEDULES=json.dumps(EVERY_SECOND))
    for _ in range(3):
        workers.start("--processes", "1", env=env)
    tick_span("tests.jobs.record", 10)
    stop(workers)

    jobs = list(Job.objects.filter(task="tests.jobs.record").order_by("run_after"))
    ticks = [job.run_after for job in jobs]
    assert len(ticks) == len(set(ticks)), "a tick was enqueued twice"
    assert all(t.microsecond == 0 for t in ticks)
    # One job per second of the span: no second twice, no second missing.
    seconds = int((ticks[-1] - ticks[0]).total_seconds())
    assert len(ticks) == seconds + 1
    assert ScheduleTick.objects.filter(job__in=jobs).count() == len(jobs)
    # Every job that ran, ran once.
    done = [j.pk for j in jobs if j.status == JobStatus.SUCCEEDED]
    runs = Counter(Execution.objects.filter(job_id__in=done).values_list("job_id", flat=True))
    assert len(done) >= len(jobs) // 2 and set(runs.values()) == {1}


def test_decorator_cron_under_two_runworkers(workers: Workers) -> None:
    env = worker_env(RESILIENT_QUEUE_TEST_CRON_JOBS="1")
    for _ in range(2):
        workers.start("--processes", "1", env=env)
    tick_span("tests.jobs_cron.every_second", 5)
    stop(workers)

    schedule = Schedule.objects.get(name="tests.jobs_cron.every_second")
    assert schedule.source == "decorator" and schedule.cron == "* * * * * *"
    ticks = list(
        Job.objects.filter(task="tests.jobs_cron.every_second").values_list("run_after", flat=True)
    )
    assert len(ticks) == len(set(ticks)), "a tick was enqueued twice"
    span = (max(ticks) - min(ticks)).total_seconds()
    assert 3 <= len(ticks) <= span + 1
    # The job read its tick time through context.scheduled_at.
    labels = set(Execution.objects.values_list("label", flat=True))
    assert labels and labels <= {f"tick:{t.isoformat()}" for t in ticks}


@pytest.mark.parametrize(("catch_up", "expected"), [("latest", 1), ("all", 3), ("none", 0)])
def test_catch_up_after_downtime(workers: Workers, catch_up: str, expected: int) -> None:
    now = timezone.now()
    # An hourly schedule whose latest tick was 5-6 minutes ago, last handled 2 hours before
    # that: three ticks were missed while no worker ran.
    latest = (now - timedelta(minutes=5)).replace(second=0, microsecond=0)
    schedule = Schedule.objects.create(
        name=f"downtime-{catch_up}",
        task="tests.jobs.record",
        cron=f"{latest.minute} * * * *",
        args=["catch-up"],
        catch_up=catch_up,
        next_run_at=latest - timedelta(hours=2),
        last_run_at=latest - timedelta(hours=3),
    )
    workers.start("--processes", "1")
    wait_until(
        lambda: Schedule.objects.get(pk=schedule.pk).next_run_at > timezone.now(), timeout=30
    )
    stop(workers)

    ticks = sorted(ScheduleTick.objects.filter(schedule=schedule).values_list("tick_at", flat=True))
    runs = sorted(Job.objects.filter(task="tests.jobs.record").values_list("run_after", flat=True))
    assert runs == ticks
    assert len(ticks) == expected
    if expected:
        assert ticks[-1] == latest
        assert Schedule.objects.get(pk=schedule.pk).last_run_at == latest
    assert Schedule.objects.get(pk=schedule.pk).next_run_at == latest + timedelta(hours=1)
