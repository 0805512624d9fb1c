"""``runworkers --reload``: a code change restarts the workers, which then run the new code."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from django_resilient_queue.models import Job, JobStatus, Worker, WorkerState
from tests.conftest import wait_until, worker_env
from tests.factories import JobFactory

pytestmark = pytest.mark.acceptance

MODULE = """from django_resilient_queue import job


@job
def version():
    return "{version}"
"""


def _result(job: Job) -> Any:
    row = Job.objects.get(pk=job.pk)
    return row.result if row.status == JobStatus.SUCCEEDED else None


def test_reload_restarts_on_a_code_change_and_stops_cleanly(workers: Any, tmp_path: Path) -> None:
    module = tmp_path / "reloadable_jobs.py"
    module.write_text(MODULE.format(version="v1"))
    env = worker_env(RESILIENT_QUEUE_EXTRA_JOB_MODULE="reloadable_jobs")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    process = workers.start("--reload", env=env)

    first = JobFactory(task="reloadable_jobs.version", args=[])
    assert wait_until(lambda: _result(first), timeout=60) == "v1"
    before = set(Worker.objects.values_list("pk", flat=True))

    module.write_text(MODULE.format(version="v2"))

    def reloaded() -> bool:
        # The reloader takes its first look at the files a little after start-up: keep the
        # file newer than anything it may have seen until it notices.
        # The old children stop gracefully before Django restarts the command.
        if (
            Worker.objects.exclude(pk__in=before).filter(state=WorkerState.RUNNING).exists()
            and not Worker.objects.filter(pk__in=before, state=WorkerState.RUNNING).exists()
        ):
            return True
        later = time.time() + 5
        os.utime(module, (later, later))
        return False

    try:
        wait_until(reloaded, timeout=60, interval=0.5)
    except AssertionError:
        workers.kill_group(process)
        raise AssertionError(process.communicate()[0]) from None
    second = JobFactory(task="reloadable_jobs.version", args=[])
    assert wait_until(lambda: _result(second), timeout=60) == "v2"

    os.killpg(process.pid, signal.SIGTERM)  # as a terminal's Ctrl-C reaches the whole group
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    wait_until(lambda: not Worker.objects.filter(state=WorkerState.RUNNING).exists(), timeout=30)
