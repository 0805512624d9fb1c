"""Django Tasks on real ``runworkers`` processes: the must-show, signals, db_worker's flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django.tasks", reason="Django's Tasks framework needs Django 6.0 or later")

from django.tasks import TaskResultStatus

from django_resilient_queue.models import Job, JobStatus
from tests import tasks
from tests.conftest import worker_env

# Also run by the Django 6.0 tox environment, which leaves the other acceptance tests out.
pytestmark = [pytest.mark.acceptance, pytest.mark.tasks_backend]


def test_add_runs_on_runworkers_burst_and_get_result_is_successful(workers: Any) -> None:
    result = tasks.add.enqueue(2, 3)
    code, output = workers.run_burst()
    assert code == 0, output
    done = tasks.add.get_result(result.id)
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == 5
    assert done.attempts == 1 and done.worker_ids[0]


def test_failures_async_tasks_and_signals_on_real_workers(workers: Any, tmp_path: Path) -> None:
    log = tmp_path / "signals.log"
    env = worker_env(RESILIENT_QUEUE_TEST_SIGNAL_LOG=str(log))
    ok = tasks.add.enqueue(1, 1)
    failing = tasks.explode.enqueue("kaboom")
    coroutine = tasks.async_add.enqueue(20, 22)
    code, output = workers.run_burst(env=env)
    assert code == 0, output

    failed = tasks.explode.get_result(failing.id)
    assert failed.status == TaskResultStatus.FAILED
    assert failed.attempts == 2 and len(failed.errors) == 2
    assert failed.errors[-1].exception_class is RuntimeError
    assert "kaboom" in failed.errors[-1].traceback
    assert tasks.async_add.get_result(coroutine.id).return_value == 42

    lines = [line.split() for line in log.read_text().splitlines()]
    per_run = sorted((kind, rid, status) for kind, rid, status, _ in lines)
    assert per_run == sorted(
        [
            ("started", ok.id, "RUNNING"),
            ("finished", ok.id, "SUCCESSFUL"),
            ("started", coroutine.id, "RUNNING"),
            ("finished", coroutine.id, "SUCCESSFUL"),
            # one started and one finished per run: the failing Task ran twice
            ("started", failing.id, "RUNNING"),
            ("finished", failing.id, "FAILED"),
            ("started", failing.id, "RUNNING"),
            ("finished", failing.id, "FAILED"),
        ]
    )
    assert str(os.getpid()) not in {pid for *_, pid in lines}  # sent by the worker


def test_db_worker_flags_select_queue_name_the_worker_and_poll(workers: Any) -> None:
    bounded = tasks.urgent.enqueue("hi")  # queue "bounded"
    other = tasks.add.enqueue(1, 2)  # queue "default"
    code, output = workers.run_burst(
        "--queue-name", "bounded", "--batch", "--worker-id", "ci-worker", "--interval", "0.1"
    )
    assert code == 0, output
    done = tasks.urgent.get_result(bounded.id)
    assert (done.return_value, done.worker_ids) == ("HI", ["ci-worker"])
    assert tasks.add.get_result(other.id).status == TaskResultStatus.READY
    # The same id again, once the first worker is gone: it takes its row back.
    code, output = workers.run_burst("--queue-name", "*", "--worker-id", "ci-worker")
    assert code == 0, output
    assert tasks.add.get_result(other.id).worker_ids == ["ci-worker"]


def test_max_tasks_exits_after_that_many_jobs(workers: Any) -> None:
    results = [tasks.add.enqueue(i, i) for i in range(5)]
    process = workers.start("--max-tasks", "2")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    statuses = [Job.objects.get(pk=int(r.id)).status for r in results]
    assert statuses.count(JobStatus.SUCCEEDED) == 2
    assert statuses.count(JobStatus.QUEUED) == 3
