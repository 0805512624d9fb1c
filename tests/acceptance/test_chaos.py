"""Chaos: kill -9 a random child every half second; every job succeeds, none overlaps itself."""

from __future__ import annotations

import itertools
import os
import random
import signal
import time
from collections import defaultdict

import psutil
import pytest
from django.db.models import Count

from django_resilient_queue.models import Attempt, Job, JobStatus
from tests import jobs
from tests.conftest import Workers, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance

JOBS = 2000
CHAOS_SECONDS = 30


def test_random_kill_9_never_loses_a_job_nor_runs_one_twice_at_once(workers: Workers) -> None:
    jobs.sleep_then_record.enqueue_many([(f"c{i}", 0.03) for i in range(JOBS)])
    env = worker_env(
        RESILIENT_QUEUE_LEASE_SECONDS="3",
        RESILIENT_QUEUE_HEARTBEAT_SECONDS="0.5",
        RESILIENT_QUEUE_MAX_STALLS="1000",  # a job may be hit many times; it must still finish
    )
    process = workers.start("--processes", "2", env=env)
    rng = random.Random(1234)
    kills = 0
    chaos_ends = time.monotonic() + CHAOS_SECONDS
    while time.monotonic() < chaos_ends:
        time.sleep(0.5)
        children = psutil.Process(process.pid).children()
        if children:
            try:
                os.kill(rng.choice(children).pid, signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
        if not Job.objects.exclude(status=JobStatus.SUCCEEDED).exists():
            break
    assert process.poll() is None, "the supervisor must survive its children's deaths"
    try:
        wait_until(
            lambda: (
                Job.objects.filter(status=JobStatus.SUCCEEDED).count() == JOBS
                or process.poll() is not None
            ),
            timeout=90,
            interval=0.5,
        )
    except AssertionError:
        counts = dict(Job.objects.values_list("status").annotate(n=Count("id")))
        state = process.diagnose()
        raise AssertionError(
            f"not every job succeeded: {counts}\n{state}\nrunworkers output ends with:\n"
            f"{process.output()[-20000:]}"
        ) from None
    assert process.poll() is None, f"runworkers died:\n{process.output()[-3000:]}"
    assert Job.objects.filter(status=JobStatus.SUCCEEDED).count() == JOBS
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 0
    assert kills >= 10

    runs: dict[int, list[tuple[float, float | None]]] = defaultdict(list)
    for job_id, started, finished in Execution.objects.values_list(
        "job_id", "started_at", "finished_at"
    ):
        runs[job_id].append((started, finished))
    assert len(runs) == JOBS
    for job_id, intervals in runs.items():
        intervals.sort()
        completed = [i for i in intervals if i[1] is not None]
        assert len(completed) >= 1, job_id
        for (_, end_a), (start_b, _) in itertools.pairwise(intervals):
            if end_a is not None:
                assert start_b >= end_a, f"job {job_id} ran twice at once"
    # Killed runs were recorded as such, not silently lost.
    assert Attempt.objects.filter(outcome="abandoned").exists()
