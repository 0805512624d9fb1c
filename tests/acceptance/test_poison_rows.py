"""Rows written outside enqueue() with arguments no call can take: dead-lettered, never a stall."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from django_resilient_queue.models import DeadLetter, Job, JobStatus
from django_resilient_queue.worker.executor import OutcomeKind
from django_resilient_queue.worker.reaper import reap_expired_leases, take_back
from tests import jobs
from tests.conftest import Workers, vendor, wait_until, worker_env
from tests.testapp.models import Execution

pytestmark = pytest.mark.acceptance

DEEP = 5000
# Python's decoder gives up near 1,000 levels; SQLite's JSON_VALID check refuses 5,000
# but takes 1,999, which Python still cannot decode.
SQLITE_DEEP = 1999
HUGE_INT = "[" + "1" * 5000 + "]"  # valid JSON; int() refuses more than 4,300 digits


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def write_raw(job_id: int, column: str, text: str) -> None:
    """Store ``text`` in a JSON column with SQL, as another service would."""
    table = connection.ops.quote_name(Job._meta.db_table)
    cast = "CAST(%s AS jsonb)" if vendor() == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = {cast} WHERE id = %s", [text, job_id])


def poison(column: str, text: str) -> Job:
    job = jobs.record.using(priority=10).enqueue("poison")
    write_raw(job.pk, column, text)
    return job


def deep_text() -> str | None:
    """The deepest nesting this database stores (None on MariaDB: it refuses depth >= 32)."""
    try:
        with transaction.atomic():
            probe = jobs.record.enqueue("probe")
            write_raw(probe.pk, "args", nested(DEEP))
        probe.delete()
        return nested(DEEP)
    except DatabaseError:
        pass  # the database's own JSON check refuses it
    if vendor() == "sqlite":
        return nested(SQLITE_DEEP)
    return None


def poison_rows() -> dict[int, str]:
    """Poison rows of every kind this database holds: job id -> expected reason start."""
    expected = {
        poison("args", HUGE_INT).pk: "poison row: args cannot be decoded",
        poison("args", "null").pk: "poison row: args is not a list (it is null)",
        poison("args", '{"a": 1}').pk: "poison row: args is not a list (it is an object)",
        poison("args", '"hello"').pk: "poison row: args is not a list (it is a string)",
        poison("kwargs", "[1, 2]").pk: "poison row: kwargs is not a dict (it is an array)",
        poison("kwargs", HUGE_INT).pk: "poison row: kwargs cannot be decoded",
    }
    deep = deep_text()
    if vendor() == "mysql":
        assert deep is None  # MariaDB's JSON_VALID refuses deep nesting at the door
    else:
        assert deep is not None
        expected[poison("args", deep).pk] = "poison row: args cannot be decoded (nested too deeply"
    return expected


def assert_dead_lettered(expected: dict[int, str]) -> None:
    for job_id, reason in expected.items():
        row = Job.objects.get(pk=job_id)
        assert row.status == JobStatus.FAILED, (job_id, reason)
        letter = DeadLetter.objects.get(job_id=job_id)
        assert letter.failure_category == "VALIDATION"
        assert letter.reason.startswith(reason), (letter.reason, reason)
    assert not Execution.objects.filter(label="poison").exists()  # none of them ran


def test_poison_rows_are_dead_lettered_and_the_jobs_claimed_with_them_run(
    workers: Workers,
) -> None:
    good = [jobs.record.enqueue(f"ok{i}") for i in range(30)]
    expected = poison_rows()
    code, output = workers.run_burst("--processes", "2", env=worker_env())
    assert code == 0, output
    assert "Traceback" not in output, output
    assert_dead_lettered(expected)
    assert Job.objects.filter(pk__in=[j.pk for j in good], status=JobStatus.SUCCEEDED).count() == 30
    assert not Job.objects.filter(status=JobStatus.RUNNING).exists()


def test_expired_poison_rows_are_taken_back_by_a_running_worker(workers: Workers) -> None:
    """The rows of a dead worker: the reaper loads them with the poison rows among them."""
    good = [jobs.record.enqueue(f"ok{i}") for i in range(10)]
    expected = poison_rows()
    long_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.update(
        status=JobStatus.RUNNING, attempts=1, run=1, started_at=long_ago, lease_expires_at=long_ago
    )
    process = workers.start(
        env=worker_env(RESILIENT_QUEUE_LEASE_SECONDS="2", RESILIENT_QUEUE_HEARTBEAT_SECONDS="0.5")
    )
    ids = [j.pk for j in good]
    wait_until(
        lambda: Job.objects.filter(pk__in=ids, status=JobStatus.SUCCEEDED).count() == 10,
        timeout=60,
    )
    wait_until(lambda: DeadLetter.objects.count() == len(expected), timeout=30)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    assert_dead_lettered(expected)


@pytest.mark.django_db(transaction=True)
def test_a_reaper_pass_and_a_take_back_never_stop_at_a_poison_row() -> None:
    expected = poison_rows()
    good = jobs.record.enqueue("ok")
    long_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.update(
        status=JobStatus.RUNNING, attempts=1, run=1, started_at=long_ago, lease_expires_at=long_ago
    )
    first = next(iter(expected))
    assert take_back(first, 1, OutcomeKind.ABANDONED, "its worker died")
    assert reap_expired_leases() == len(expected)  # every other row, the good one included
    assert Job.objects.get(pk=good.pk).status == JobStatus.QUEUED
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == len(expected) + 1


def test_replaying_a_poison_dead_letter_never_runs_it_nor_breaks_the_replay(
    workers: Workers,
) -> None:
    from django_resilient_queue.services.deadletters import replay_dead_letters

    expected = poison_rows()
    code, output = workers.run_burst("--processes", "1", env=worker_env())
    assert code == 0, output
    assert_dead_lettered(expected)
    letters = DeadLetter.objects.filter(job_id__in=list(expected))
    result = replay_dead_letters(letters)  # never a crash
    replays = list(
        Job.objects.filter(pk__in=list(letters.values_list("replayed_job_id", flat=True)))
    )
    assert result.changed == len(replays) == len(expected)
    code, output = workers.run_burst("--processes", "1", env=worker_env())
    assert code == 0, output
    assert "Traceback" not in output, output
    for replay in replays:
        row = Job.objects.get(pk=replay.pk)
        # Dead-lettered again as VALIDATION: as a poison row again, or (args JSON null,
        # stored as []) refused by the job's own signature.
        assert row.status == JobStatus.FAILED, row.status
        assert DeadLetter.objects.get(job=row).failure_category == "VALIDATION"
    # A replay of a row whose arguments could not be called never runs the job with them.
    assert not Execution.objects.filter(label="poison").exists()
