"""Never twice at once, with real ``runworkers``: a frozen worker's claimed-ahead jobs, a
thread pool that is all busy, and workers whose clocks disagree."""

from __future__ import annotations

import itertools
import shutil
import signal
import time
from collections import defaultdict

import psutil
import pytest
from django.db import transaction

from django_resilient_queue.models import Attempt, Job, JobStatus, Worker
from tests import jobs
from tests.conftest import LoggedProcess, Workers, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance


def env(**extra: str) -> dict[str, str]:
    return worker_env(**{"RESILIENT_QUEUE_HEARTBEAT_SECONDS": "0.5", **extra})


def outcomes(job: Job) -> list[str]:
    return list(Attempt.objects.filter(job=job).order_by("id").values_list("outcome", flat=True))


def stop(process: LoggedProcess) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def assert_never_overlapped(labels: list[str]) -> None:
    """No two executions of one job overlap in time (a run still open counts to now)."""
    runs: dict[int | None, list[tuple[float, float]]] = defaultdict(list)
    for job_id, started, finished in Execution.objects.filter(label__in=labels).values_list(
        "job_id", "started_at", "finished_at"
    ):
        runs[job_id].append((started, finished or time.time()))
    for job_id, intervals in runs.items():
        intervals.sort()
        for (_, end_a), (start_b, _) in itertools.pairwise(intervals):
            assert start_b >= end_a, f"job {job_id} ran twice at once: {intervals}"


# -- 1. a frozen worker's claimed-ahead jobs -------------------------------------------------
def test_a_frozen_worker_never_starts_the_jobs_it_claimed_ahead_once_thawed(
    workers: Workers,
) -> None:
    lease = env(RESILIENT_QUEUE_LEASE_SECONDS="3", RESILIENT_QUEUE_FAST_RETRIES="1")
    frozen = workers.start("--processes", "1", env=lease)
    # Quick jobs first: the child learns they are short and starts claiming ahead.
    warm = jobs.sleep_then_record.enqueue_many([(f"warm{i}", 0.001) for i in range(20)])
    wait_until(lambda: all(Job.objects.get(pk=j.pk).status == JobStatus.SUCCEEDED for j in warm))
    with transaction.atomic():  # one claim takes them all: the long one first
        long = jobs.sleep_then_record.using(priority=100).enqueue("long", 3.0)
        ahead = jobs.sleep_then_record.enqueue_many([(f"ahead{i}", 0.001) for i in range(5)])
    wait_until(lambda: Execution.objects.filter(label="long").exists())
    worker = Worker.objects.get(pk=Job.objects.get(pk=long.pk).worker_id)
    ahead_ids = {j.pk for j in ahead}
    # Its heartbeat has told the others which of its jobs have not started.
    wait_until(lambda: ahead_ids <= set(Worker.objects.get(pk=worker.pk).claimed_ahead))
    workers.kill_group(frozen, signal.SIGSTOP)  # a VM pause, mid-job

    rescuer = workers.start("--processes", "1", env=lease)
    for job in [long, *ahead]:
        wait_until(lambda job=job: Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED)
    # Taken back unstarted: no stall charged, no attempt used.
    for job in ahead:
        assert outcomes(job) == ["succeeded"]
        assert Job.objects.get(pk=job.pk).stalls == 0
    assert outcomes(long) == ["abandoned", "succeeded"]
    assert stop(rescuer) == 0

    workers.kill_group(frozen, signal.SIGCONT)
    # The job it had started resumes (and its late outcome is refused)...
    wait_until(
        lambda: Execution.objects.filter(label="long", finished_at__isnull=False).count() == 2
    )
    # ...but it starts none of those it had only claimed: its heartbeat soon reports none.
    wait_until(lambda: not Worker.objects.get(pk=worker.pk).claimed_ahead)
    assert stop(frozen) == 0
    for job in ahead:
        assert Execution.objects.filter(job_id=job.pk).count() == 1
        assert outcomes(job) == ["succeeded"]
    assert outcomes(long) == ["abandoned", "succeeded"]


# -- 2. a thread pool that is all busy ------------------------------------------------------
def test_a_timeout_is_enforced_while_every_thread_is_busy(workers: Workers) -> None:
    blocked = jobs.block_in_one_call.enqueue("blocked", 12.0)  # timeout=2, one 12 s call
    healthy = [jobs.sleep_then_record.enqueue(f"healthy{i}", 6.0) for i in range(2)]
    process = workers.start("--processes", "1", "--threads", "3", env=env())
    wait_until(lambda: Execution.objects.count() == 3, timeout=30)
    [child] = psutil.Process(process.pid).children()
    # Every thread busy: the child waits instead of spinning on its wake-up flag.
    assert child.cpu_percent(interval=1.0) < 30
    # The timeout is recorded about kill_grace after the deadline, while the blocked call
    # still runs (it would return only at 12 s).
    first = wait_until(lambda: Attempt.objects.filter(job=blocked).first(), timeout=10)
    assert first.outcome == "timeout", first.error_message
    assert Execution.objects.get(label="blocked").finished_at is None
    # The healthy jobs beside it finish normally, never abandoned.
    for job in healthy:
        wait_until(lambda job=job: Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED)
        assert outcomes(job) == ["succeeded"]
    # Then the child is recycled (a thread cannot be killed; a process can).
    wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE)
    assert "recycling this child" in process.output()
    assert stop(process) == 0


# -- 4. clocks that disagree ------------------------------------------------------------------
FAKETIME_LIBRARY = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def skewed_env(seconds: float, **extra: str) -> dict[str, str]:
    """A worker whose wall clock (its children's too) runs ``seconds`` ahead of the host's.

    Its monotonic clock is left alone, as NTP leaves it: faking it too would only stretch
    every timed wait (Python waits on real monotonic deadlines computed from the fake one).
    """
    return env(
        LD_PRELOAD=FAKETIME_LIBRARY,
        FAKETIME=f"{seconds:+g}s",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
        **extra,
    )


@pytest.mark.skipif(
    shutil.which("faketime") is None, reason="needs Debian's faketime (installed by .ci/run)"
)
# SQLite runs in each worker's process: there is no server clock to share.
@pytest.mark.databases("postgresql", "mysql")
def test_a_worker_whose_clock_runs_ahead_never_takes_back_a_live_run(workers: Workers) -> None:
    lease = {"RESILIENT_QUEUE_LEASE_SECONDS": "6", "RESILIENT_QUEUE_HEARTBEAT_SECONDS": "2"}
    live = jobs.sleep_then_record.enqueue("live", 9.0)
    honest = workers.start("--processes", "1", env=env(**lease))
    wait_until(lambda: Execution.objects.filter(label="live").exists(), timeout=30)
    # 5 s ahead, less than the 6 s lease: on its own clock, the live run's lease (renewed
    # every 2 s) looks expired most of the time.
    ahead = workers.start("--processes", "1", env=skewed_env(5, **lease))
    wait_until(lambda: Job.objects.get(pk=live.pk).status == JobStatus.SUCCEEDED, timeout=40)
    assert outcomes(live) == ["succeeded"]
    assert Execution.objects.filter(label="live").count() == 1
    assert "took back" not in ahead.output()
    # The skewed worker still serves: its claims and leases use the server's clock too.
    # (A job that does not sleep: libfaketime breaks a sleep whose monotonic clock is real.)
    assert stop(honest) == 0
    other = jobs.add.enqueue(1, 2)
    wait_until(lambda: Job.objects.get(pk=other.pk).status == JobStatus.SUCCEEDED, timeout=30)
    assert Job.objects.get(pk=other.pk).result == 3
    # It stops when told. Its exit status is not asserted: under libfaketime with a real
    # monotonic clock an interrupted timed wait can fail with EINVAL (once in CI, exit 1).
    ahead.send_signal(signal.SIGTERM)
    ahead.wait(timeout=60)
