"""Backpressure keeps its documented bound under eight processes enqueuing at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from django_resilient_queue.models import Job, JobStatus
from tests.conftest import REPO, worker_env

pytestmark = [pytest.mark.acceptance, pytest.mark.django_db(transaction=True)]

ENQUEUERS = 8
EACH = 60
# Each process waits for the same start time, then enqueues one job per transaction.
SCRIPT = """
import sys, time
import django
django.setup()
from django_resilient_queue import Priority, QueueFull
from tests import jobs
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.001)
bounded = jobs.add.using(queue="bounded", priority=Priority.LOW)
refused = 0
for i in range({each}):
    try:
        bounded.enqueue(i, i)
    except QueueFull:
        refused += 1
print(refused)
"""


def test_eight_concurrent_enqueuers_overshoot_by_at_most_their_number() -> None:
    start = time.time() + 3  # every interpreter is up by then
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT.format(each=EACH), str(start)],
            cwd=REPO,
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(ENQUEUERS)
    ]
    outputs = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=120)
            outputs.append(output)
            assert process.returncode == 0, output
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    refused = sum(int(output.strip().splitlines()[-1]) for output in outputs)
    queued = Job.objects.filter(queue="bounded", status=JobStatus.QUEUED).count()
    assert queued + refused == ENQUEUERS * EACH  # every enqueue was written or refused
    # max_depth 100, emergency threshold 95 %: at most one more per concurrent enqueuer.
    print(f"queued={queued} refused={refused}")
    assert queued <= 95 + ENQUEUERS, (queued, refused)
    assert refused > 0
