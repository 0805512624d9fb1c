"""Operator verbs against real ``runworkers``: cancel a running job, pause a queue, stop."""

from __future__ import annotations

import subprocess

import pytest

from django_resilient_queue.models import Attempt, Job, JobStatus, Worker, WorkerState
from django_resilient_queue.services import jobs as job_verbs
from django_resilient_queue.services import queues as queue_verbs
from django_resilient_queue.services import workers as worker_verbs
from tests import jobs
from tests.conftest import Workers, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance


def fast_env() -> dict[str, str]:
    return worker_env(RESILIENT_QUEUE_HEARTBEAT_SECONDS="0.5")


def status(job: Job) -> str:
    return Job.objects.get(pk=job.pk).status


def stop(process: subprocess.Popen[str]) -> int:
    process.terminate()
    process.communicate(timeout=60)
    return process.returncode


@pytest.mark.parametrize("threads", ["1", "2"])
def test_cancel_a_running_job_stops_it_and_the_worker_keeps_serving(
    workers: Workers, threads: str
) -> None:
    long = jobs.sleep_then_record.enqueue("long", 30)
    process = workers.start("--threads", threads, env=fast_env())
    wait_until(lambda: Execution.objects.filter(label="long").exists())
    assert job_verbs.cancel_jobs([long.pk]).changed == 1
    # Well under the job's 30 s: the cancel stopped it, it did not run to its end.
    wait_until(lambda: status(long) == JobStatus.CANCELLED, timeout=15)
    attempt = Attempt.objects.get(job=long)
    assert attempt.outcome == "cancelled"
    assert Job.objects.get(pk=long.pk).reason == "cancelled"
    assert Execution.objects.get(label="long").finished_at is None
    after = jobs.record.enqueue("after")
    wait_until(lambda: status(after) == JobStatus.SUCCEEDED, timeout=30)
    assert process.poll() is None
    assert stop(process) == 0
    assert status(long) == JobStatus.CANCELLED
    assert Attempt.objects.filter(job=long).count() == 1


def test_a_paused_queue_keeps_its_jobs_until_resumed(workers: Workers) -> None:
    assert queue_verbs.pause_queues(["reports"]).changed == 1
    held = jobs.record.using(queue="reports").enqueue("held")
    other = jobs.record.enqueue("other")
    process = workers.start(env=fast_env())
    wait_until(lambda: status(other) == JobStatus.SUCCEEDED, timeout=30)
    # One worker serves both queues in claim order: the paused queue's job was skipped.
    later = jobs.record.enqueue("later")
    wait_until(lambda: status(later) == JobStatus.SUCCEEDED, timeout=30)
    assert status(held) == JobStatus.QUEUED
    assert queue_verbs.resume_queues(["reports"]).changed == 1
    wait_until(lambda: status(held) == JobStatus.SUCCEEDED, timeout=30)
    assert stop(process) == 0


def test_a_burst_worker_exits_when_only_paused_jobs_are_left(workers: Workers) -> None:
    queue_verbs.pause_queues(["reports"])
    held = jobs.record.using(queue="reports").enqueue("held")
    other = jobs.record.enqueue("other")
    code, output = workers.run_burst(env=fast_env())
    assert code == 0, output
    assert (status(held), status(other)) == (JobStatus.QUEUED, JobStatus.SUCCEEDED)


def test_request_stop_finishes_the_running_job_and_exits_zero(workers: Workers) -> None:
    running = jobs.sleep_then_record.enqueue("finishing", 2)
    process = workers.start("--processes", "2", "--graceful-timeout", "30", env=fast_env())
    wait_until(lambda: Execution.objects.filter(label="finishing").exists())
    worker = Job.objects.get(pk=running.pk).worker
    assert worker is not None
    assert worker_verbs.request_stop(Worker.objects.filter(pk=worker.pk)).changed == 1
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert status(running) == JobStatus.SUCCEEDED
    assert Execution.objects.get(label="finishing").finished_at is not None
    # The whole runworkers stopped: none of its children is left running.
    assert not Worker.objects.filter(state=WorkerState.RUNNING).exists()
