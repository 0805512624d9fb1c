"""Enqueue writes rows in the caller's transaction; bad input writes nothing."""

from __future__ import annotations

import math
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_resilient_queue import Priority
from django_resilient_queue.models import Job, JobStatus
from tests import jobs
from tests.testapp.models import Widget

pytestmark = pytest.mark.django_db


def test_enqueue_writes_a_queued_job() -> None:
    job = jobs.add.enqueue(1, b=2)
    row = Job.objects.get(pk=job.pk)
    assert (row.task, row.queue, row.priority, row.status) == (
        "tests.jobs.add",
        "default",
        0,
        "queued",
    )
    assert (row.args, row.kwargs, row.attempts) == ([1], {"b": 2}, 0)
    assert row.timeout == 300


def test_using_sets_queue_priority_and_run_after() -> None:
    before = timezone.now()
    job = jobs.add.using(
        priority=Priority.CRITICAL, queue="urgent", run_after=timedelta(seconds=30)
    ).enqueue(1, 2)
    row = Job.objects.get(pk=job.pk)
    assert (row.queue, row.priority) == ("urgent", 100)
    assert row.run_after >= before + timedelta(seconds=30)


def test_decorator_options_reach_the_row() -> None:
    row = Job.objects.get(pk=jobs.high_on_other.enqueue().pk)
    assert (row.queue, row.priority) == ("other", 50)
    assert Job.objects.get(pk=jobs.busy_loop.enqueue().pk).timeout == 1


def test_non_json_argument_raises_and_writes_nothing() -> None:
    with pytest.raises(TypeError, match="argument 'b'"):
        jobs.add.enqueue(1, b=object())
    assert not Job.objects.exists()


def test_model_instances_are_stored_as_references() -> None:
    widget = Widget.objects.create(name="a")
    job = jobs.rename_widget.enqueue(widget, "b")
    assert job.args[0] == {"__resilient_queue_model__": "testapp.widget", "pk": widget.pk}
    with pytest.raises(TypeError, match="unsaved Widget"):
        jobs.rename_widget.enqueue(Widget(name="unsaved"), "c")


@pytest.mark.django_db(transaction=True)
def test_rollback_leaves_no_job() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        jobs.add.enqueue(1, 2)
        assert Job.objects.count() == 1
        raise RuntimeError("the view failed")
    assert Job.objects.count() == 0


def test_enqueue_many_uses_one_insert_per_batch() -> None:
    with CaptureQueriesContext(connection) as queries:
        created = jobs.add.enqueue_many([(i, i) for i in range(500)])
    inserts = [
        q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")
    ]
    # One INSERT per batch: the batch is 1000 rows or what the database's parameter limit allows.
    fields = [f for f in Job._meta.concrete_fields if not f.primary_key]
    per_batch = min(1000, connection.ops.bulk_batch_size(fields, created) or 1000)
    assert len(inserts) == math.ceil(500 / per_batch)
    assert len(created) == 500 and all(j.pk for j in created)
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 500


def test_enqueue_is_one_insert_and_save_signals_still_reach_receivers() -> None:
    with CaptureQueriesContext(connection) as queries:
        first = jobs.add.enqueue(1, 2)
    if connection.vendor == "postgresql":
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    seen: list[tuple[int | None, bool]] = []

    def receiver(sender: type[Job], instance: Job, created: bool, **kwargs: object) -> None:
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=Job)
    try:
        second = jobs.add.enqueue(3, 4)
    finally:
        post_save.disconnect(receiver, sender=Job)
    assert seen == [(second.pk, True)]
    assert [Job.objects.get(pk=j.pk).args for j in (first, second)] == [[1, 2], [3, 4]]


def test_enqueue_many_returns_each_job_with_its_own_row() -> None:
    from tests import jobs_protection

    # Arguments and gate keys vary from job to job; queue, kwargs and timeout are shared:
    # the bulk insert sends the two kinds of column differently, and must keep them apart.
    calls = [(f"account-{i % 3}", i, 0.0) for i in range(300)]
    created = jobs_protection.per_account.enqueue_many(calls)
    rows = {
        pk: (args, kwargs, key, status)
        for pk, args, kwargs, key, status in Job.objects.values_list(
            "pk", "args", "kwargs", "concurrency_key", "status"
        )
    }
    assert len(rows) == 300 and len({job.pk for job in created}) == 300
    for job, (account, n, seconds) in zip(created, calls, strict=True):
        key = f"{jobs_protection.per_account.name}:{account}"
        assert rows[job.pk] == ([account, n, seconds], {}, key, "queued")
        assert (job.args, job.concurrency_key) == ([account, n, seconds], key)


def test_enqueue_many_of_identical_jobs() -> None:
    created = jobs.high_on_other.enqueue_many([() for _ in range(40)])
    assert len({job.pk for job in created}) == 40
    assert Job.objects.filter(queue="other", priority=50, args=[], status="queued").count() == 40
    created[0].progress["touched"] = True  # each job has its own mutable values
    assert created[1].progress == {}


def test_unique_key_returns_the_existing_job_while_active() -> None:
    from tests.jobs_unique import unique_by_user

    first = unique_by_user.enqueue(user_id=7, note="a")
    again = unique_by_user.enqueue(user_id=7, note="b")
    other = unique_by_user.enqueue(user_id=8, note="c")
    assert again.pk == first.pk and other.pk != first.pk
    assert Job.objects.count() == 2


def test_unique_for_window_outlives_the_job_then_expires() -> None:
    from tests.jobs_unique import unique_by_user

    first = unique_by_user.enqueue(user_id=1)
    Job.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    assert unique_by_user.enqueue(user_id=1).pk == first.pk  # within unique_for
    Job.objects.filter(pk=first.pk).update(unique_until=timezone.now() - timedelta(seconds=1))
    fresh = unique_by_user.enqueue(user_id=1)
    assert fresh.pk != first.pk
    assert Job.objects.get(pk=first.pk).unique_lock is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_enqueuers_of_one_key_create_one_row() -> None:
    from tests.jobs_unique import unique_by_user

    barrier = threading.Barrier(8)
    ids: list[int] = []
    errors: list[BaseException] = []

    def enqueue() -> None:
        try:
            barrier.wait()
            ids.append(unique_by_user.enqueue(user_id=42).pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enqueue) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(ids) == 8 and len(set(ids)) == 1
    assert Job.objects.count() == 1


def test_key_callables_receive_arguments_by_name() -> None:
    from tests.jobs_unique import unique_by_user

    first = unique_by_user.enqueue(5)  # positional: the key callable still sees user_id=5
    assert unique_by_user.enqueue(user_id=5).pk == first.pk
    with pytest.raises(TypeError, match="unique_by_user"):
        unique_by_user.enqueue(1, 2, 3)  # does not fit the signature: refused, nothing written
    assert Job.objects.count() == 1
