"""kill -9, SIGSTOP, hard timeouts, signals and poison jobs, with real processes and signals."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from django_resilient_queue.models import (
    Alert,
    Attempt,
    DeadLetter,
    Job,
    JobStatus,
    Worker,
    WorkerState,
)
from tests import jobs
from tests.conftest import Workers, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance


def short_lease_env(**extra: str) -> dict[str, str]:
    return worker_env(
        RESILIENT_QUEUE_LEASE_SECONDS="3",
        RESILIENT_QUEUE_HEARTBEAT_SECONDS="0.5",
        RESILIENT_QUEUE_FAST_RETRIES="1",
        **extra,
    )


def job_status(job: Job) -> str:
    return Job.objects.get(pk=job.pk).status


def attempt_outcomes(job: Job) -> list[tuple[int, str]]:
    return list(Attempt.objects.filter(job=job).order_by("id").values_list("number", "outcome"))


def child_pids(process) -> list[int]:
    return [c.pid for c in psutil.Process(process.pid).children()]


def stop(workers: Workers, process) -> int:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    return process.returncode


def test_kill_9_of_the_whole_group_then_a_new_worker_finishes_the_job(workers: Workers) -> None:
    job = jobs.first_attempt_sleeps.enqueue("long", 20)
    first = workers.start(env=short_lease_env())
    wait_until(lambda: Execution.objects.filter(label="long#1").exists())
    workers.kill_group(first)
    first.communicate(timeout=10)
    assert job_status(job) == JobStatus.RUNNING  # nobody told the database

    second = workers.start(env=short_lease_env())
    wait_until(lambda: job_status(job) == JobStatus.SUCCEEDED, timeout=30)
    assert attempt_outcomes(job) == [(1, "abandoned"), (2, "succeeded")]
    assert Job.objects.get(pk=job.pk).result == 2
    assert stop(workers, second) == 0


def test_kill_9_of_one_child_is_restarted_and_its_job_recovered(workers: Workers) -> None:
    job = jobs.first_attempt_sleeps.enqueue("long", 20)
    process = workers.start("--processes", "2", env=short_lease_env())
    wait_until(lambda: Execution.objects.filter(label="long#1").exists())
    victim = Execution.objects.get(label="long#1").pid
    assert victim in child_pids(process)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: job_status(job) == JobStatus.SUCCEEDED, timeout=30)
    assert attempt_outcomes(job) == [(1, "abandoned"), (2, "succeeded")]
    wait_until(lambda: len(child_pids(process)) == 2)
    assert victim not in child_pids(process)
    assert Alert.objects.get(kind="WORKER_CRASHED").occurrences == 1
    assert process.poll() is None
    assert stop(workers, process) == 0


def test_a_frozen_worker_cannot_overwrite_the_newer_run(workers: Workers) -> None:
    job = jobs.first_attempt_sleeps.enqueue("frozen", 4)
    frozen = workers.start(env=short_lease_env())
    wait_until(lambda: Execution.objects.filter(label="frozen#1").exists())
    workers.kill_group(frozen, signal.SIGSTOP)
    rescuer = workers.start(env=short_lease_env())
    wait_until(lambda: job_status(job) == JobStatus.SUCCEEDED, timeout=30)
    assert Job.objects.get(pk=job.pk).result == 2
    assert stop(workers, rescuer) == 0

    workers.kill_group(frozen, signal.SIGCONT)
    # The frozen run wakes up, finishes its sleep and tries to write its outcome.
    wait_until(lambda: Execution.objects.get(label="frozen#1").finished_at is not None, timeout=30)
    time.sleep(1)  # give the late write its chance to land (it must not)
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.result, row.attempts) == (JobStatus.SUCCEEDED, 2, 2)
    assert attempt_outcomes(job) == [(1, "abandoned"), (2, "succeeded")]
    assert stop(workers, frozen) == 0


@pytest.mark.parametrize("task", [jobs.busy_loop, jobs.stubborn_loop])
def test_a_job_past_its_timeout_is_stopped_and_the_worker_goes_on(workers: Workers, task) -> None:
    runaway = task.enqueue()
    process = workers.start(env=short_lease_env())
    wait_until(lambda: Attempt.objects.filter(job=runaway, outcome="timeout").exists(), timeout=20)
    others = [jobs.add.enqueue(i, i) for i in range(5)]
    wait_until(lambda: all(job_status(j) == JobStatus.SUCCEEDED for j in others), timeout=30)
    wait_until(lambda: job_status(runaway) == JobStatus.FAILED, timeout=40)
    assert attempt_outcomes(runaway) == [(1, "timeout"), (2, "timeout"), (3, "timeout")]
    letter = DeadLetter.objects.get(job=runaway)
    assert letter.failure_category == "TIMEOUT"
    assert process.poll() is None
    assert not Alert.objects.filter(
        kind="WORKER_CRASHED"
    ).exists()  # a kill for a timeout is no crash
    assert stop(workers, process) == 0


def test_sigterm_lets_a_short_job_finish_and_exits_zero(workers: Workers) -> None:
    job = jobs.sleep_then_record.enqueue("short", 2)
    process = workers.start(env=short_lease_env())
    wait_until(lambda: Execution.objects.filter(label="short").exists())
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert job_status(job) == JobStatus.SUCCEEDED
    assert attempt_outcomes(job) == [(1, "succeeded")]


def test_sigterm_past_the_graceful_timeout_gives_the_job_back(workers: Workers) -> None:
    job = jobs.sleep_then_record.enqueue("long", 60)
    process = workers.start("--graceful-timeout", "1", env=short_lease_env())
    wait_until(lambda: Execution.objects.filter(label="long").exists())
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert time.monotonic() - signalled < 6
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.attempts, row.worker_id) == (JobStatus.QUEUED, 0, None)
    assert attempt_outcomes(job) == [(1, "released")]
    # The child killed at the deadline could not mark its Worker row: its supervisor did.
    states = set(Worker.objects.filter(supervisor_pid=process.pid).values_list("state", flat=True))
    assert states == {WorkerState.LOST}


def test_a_second_signal_stops_at_once(workers: Workers) -> None:
    job = jobs.sleep_then_record.enqueue("long", 60)
    process = workers.start(env=short_lease_env())
    wait_until(lambda: Execution.objects.filter(label="long").exists())
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert process.returncode == 1
    assert job_status(job) == JobStatus.RUNNING  # the lease covers it: the reaper takes it back


def test_a_poison_job_is_dead_lettered_after_max_stalls_while_others_flow(workers: Workers) -> None:
    poison = jobs.kill_own_process.enqueue()
    healthy = [jobs.add.enqueue(i, 1) for i in range(20)]
    process = workers.start("--processes", "2", env=short_lease_env())
    wait_until(lambda: job_status(poison) == JobStatus.FAILED, timeout=60)
    wait_until(lambda: all(job_status(j) == JobStatus.SUCCEEDED for j in healthy), timeout=60)
    assert attempt_outcomes(poison) == [(1, "abandoned"), (2, "abandoned"), (3, "abandoned")]
    assert DeadLetter.objects.get(job=poison).reason == "worker lost"
    assert Alert.objects.get(kind="WORKER_CRASHED").occurrences == 3
    assert process.poll() is None
    assert stop(workers, process) == 0


def test_children_are_recycled_after_max_jobs(workers: Workers) -> None:
    for i in range(12):
        jobs.add.enqueue(i, i)
    code, output = workers.run_burst("--max-jobs-per-child", "5", env=short_lease_env())
    assert code == 0, output
    assert Job.objects.filter(status=JobStatus.SUCCEEDED).count() == 12
    assert Worker.objects.count() >= 3
    assert max(Worker.objects.values_list("processed", flat=True)) <= 5


def test_children_are_recycled_over_max_memory(workers: Workers) -> None:
    for i in range(4):
        jobs.sleep_then_record.enqueue(f"m{i}", 0.6)
    code, output = workers.run_burst("--max-memory-mb", "1", env=short_lease_env())
    assert code == 0, output
    assert Job.objects.filter(status=JobStatus.SUCCEEDED).count() == 4
    assert Worker.objects.count() >= 2  # 1 MB is always exceeded: recycled after a job


def test_the_worker_row_reports_health(workers: Workers) -> None:
    job = jobs.sleep_then_record.enqueue("watched", 3)
    process = workers.start("--queues", "default,other", env=short_lease_env())
    wait_until(lambda: Worker.objects.filter(current_jobs=[job.pk]).exists(), timeout=15)
    worker = Worker.objects.get()
    assert worker.rss_bytes > 10 * 1024 * 1024 and worker.queues == ["default", "other"]
    assert worker.pid in child_pids(process) and worker.supervisor_pid == process.pid
    wait_until(lambda: Worker.objects.filter(processed=1, current_jobs=[]).exists(), timeout=15)
    assert stop(workers, process) == 0
    assert Worker.objects.get().state == "stopped"


def test_heartbeats_keep_a_long_job_leased(workers: Workers) -> None:
    job = jobs.sleep_then_record.enqueue("longer-than-lease", 7)
    process = workers.start(env=short_lease_env())  # lease 3 s, heartbeat 0.5 s
    wait_until(lambda: job_status(job) == JobStatus.SUCCEEDED, timeout=30)
    assert attempt_outcomes(job) == [(1, "succeeded")]
    assert Execution.objects.filter(label="longer-than-lease").count() == 1
    assert stop(workers, process) == 0


def test_with_threads_an_overrun_is_recorded_and_the_child_recycled(workers: Workers) -> None:
    stuck = jobs.sleep_then_record.using(timeout=1).enqueue("stuck", 30)
    others = [jobs.sleep_then_record.enqueue(f"other{i}", 0.2) for i in range(6)]
    process = workers.start("--threads", "2", env=short_lease_env())
    wait_until(lambda: Attempt.objects.filter(job=stuck, outcome="timeout").exists(), timeout=20)
    wait_until(lambda: all(job_status(j) == JobStatus.SUCCEEDED for j in others), timeout=30)
    wait_until(lambda: job_status(stuck) == JobStatus.FAILED, timeout=60)
    assert attempt_outcomes(stuck) == [(1, "timeout"), (2, "timeout"), (3, "timeout")]
    # Each overrun retired its child: a thread cannot be killed, a process can.
    assert Worker.objects.count() >= 3
    assert process.poll() is None
    assert stop(workers, process) == 0
