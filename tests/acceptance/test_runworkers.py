"""Real ``manage.py runworkers`` processes over the real test database."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.db.models import Count

from django_resilient_queue import Priority
from django_resilient_queue.models import Attempt, DeadLetter, Job, JobStatus, Worker
from tests import jobs
from tests.conftest import REPO, Workers, vendor, worker_env
from tests.factories import JobFactory
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance


def test_burst_runs_everything_and_exits_zero(workers: Workers) -> None:
    ok = jobs.add.enqueue(2, 3)
    bad = jobs.fail_validation.enqueue("x")
    coro = jobs.async_add.enqueue(4, 5)
    code, output = workers.run_burst()
    assert code == 0, output
    assert Job.objects.get(pk=ok.pk).result == 5
    assert Job.objects.get(pk=coro.pk).result == 9
    assert Job.objects.get(pk=bad.pk).status == JobStatus.FAILED
    assert DeadLetter.objects.get(job_id=bad.pk).failure_category == "VALIDATION"
    assert set(Attempt.objects.values_list("outcome", flat=True)) == {"succeeded", "failed"}
    assert Worker.objects.filter(state="stopped").count() == 1


def test_one_worker_runs_critical_before_low(workers: Workers) -> None:
    jobs.record.using(priority=Priority.LOW).enqueue("low")
    jobs.record.enqueue("normal")
    jobs.record.using(priority=Priority.CRITICAL).enqueue("critical")
    code, output = workers.run_burst("--processes", "1", "--threads", "1")
    assert code == 0, output
    order = list(Execution.objects.order_by("started_at", "id").values_list("label", flat=True))
    assert order == ["critical", "normal", "low"]


def test_unknown_task_row_is_dead_lettered_and_nothing_runs(workers: Workers, tmp_path) -> None:
    marker = tmp_path / "pwned"
    evil = JobFactory(task="os.system", args=[f"touch {marker}"])
    after = jobs.add.enqueue(1, 1)
    code, output = workers.run_burst()
    assert code == 0, output
    assert not marker.exists()
    letter = DeadLetter.objects.get(job_id=evil.pk)
    assert (letter.reason, letter.task) == ("unknown task", "os.system")
    assert Job.objects.get(pk=evil.pk).status == JobStatus.FAILED
    assert Job.objects.get(pk=after.pk).status == JobStatus.SUCCEEDED  # the worker went on


def test_parallel_workers_execute_every_job_exactly_once(workers: Workers) -> None:
    total = 5000
    processes = 2 if vendor() == "sqlite" else 4
    jobs.record.enqueue_many([(f"job-{i}",) for i in range(total)])
    started = [workers.start("--burst", "--processes", "1") for _ in range(processes)]
    for process in started:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output
    assert Execution.objects.count() == total
    duplicates = Execution.objects.values("job_id").annotate(n=Count("id")).filter(n__gt=1)
    assert list(duplicates) == []
    assert Execution.objects.values("label").distinct().count() == total
    assert Job.objects.filter(status=JobStatus.SUCCEEDED).count() == total
    assert Attempt.objects.filter(outcome="succeeded").count() == total
    # Every process took part: the claim really was shared.
    assert Execution.objects.values("pid").distinct().count() == processes


def test_bad_flags_are_refused_with_a_clear_error(workers: Workers) -> None:
    for flags, message in [
        (["--processes", "0"], "must be at least 1"),
        (["--threads", "x"], "is not a whole number"),
        (["--graceful-timeout", "-1"], "must be >= 0"),
        (["--queues", ","], "at least one queue"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "django", "runworkers", *flags],
            cwd=REPO,
            env=worker_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert message in result.stderr, result.stderr


def test_queuestatus_json_and_table(workers: Workers) -> None:
    jobs.add.enqueue(1, 2)
    jobs.high_on_other.enqueue()
    env = worker_env()
    result = subprocess.run(
        [sys.executable, "-m", "django", "queuestatus", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status = json.loads(result.stdout)
    depth = {q["queue"]: q["runnable"] for q in status["queues"]}
    assert depth == {"default": 1, "other": 1}
    table = subprocess.run(
        [sys.executable, "-m", "django", "queuestatus"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "default" in table and "runnable" in table and "workers:" in table


def test_makemigrations_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run"],
        cwd=REPO,
        env={k: v for k, v in worker_env().items() if k != "RESILIENT_QUEUE_TEST_DB_NAME"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
