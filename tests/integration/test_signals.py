"""django_resilient_queue.signals: each is sent once its write is committed, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from django_resilient_queue import signals
from django_resilient_queue.alerts.store import raise_alert
from django_resilient_queue.db import dialect_for
from django_resilient_queue.models import Alert, Job, Worker
from django_resilient_queue.worker.executor import execute
from django_resilient_queue.worker.outcomes import apply_outcome
from tests import jobs

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def received(signal: Signal) -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def listener(sender: type, **kwargs: Any) -> None:
        calls.append({"sender": sender, **kwargs})

    signal.connect(listener, weak=False)
    try:
        yield calls
    finally:
        signal.disconnect(listener)


def claim() -> Job:
    worker = Worker.objects.get_or_create(name="w", defaults={"hostname": "h", "pid": 1})[0]
    [job] = dialect_for(connection).claim(
        worker_id=worker.pk, queues=None, limit=1, lease_seconds=30, now=timezone.now()
    )
    return job


def test_job_enqueued_is_sent_on_commit_and_never_for_a_rollback() -> None:
    with received(signals.job_enqueued) as calls:
        with transaction.atomic():
            job = jobs.add.enqueue(1, 2)
            assert calls == []  # not before the caller's transaction commits
        assert [(c["sender"], c["job"].pk) for c in calls] == [(Job, job.pk)]
        with pytest.raises(RuntimeError), transaction.atomic():
            jobs.add.enqueue(3, 4)
            raise RuntimeError("roll back")
        many = jobs.add.enqueue_many([(i, i) for i in range(3)])
    assert [c["job"].pk for c in calls] == [job.pk, *(j.pk for j in many)]


def test_job_started_and_job_finished_carry_the_run_and_its_outcome() -> None:
    ok = jobs.add.enqueue(2, 3)
    with received(signals.job_started) as started, received(signals.job_finished) as finished:
        job = claim()
        outcome = execute(job, deadline=timezone.now().timestamp() + 30)
        assert [c["job"].pk for c in started] == [ok.pk]
        assert finished == []
        assert apply_outcome(job, outcome)
        # A stale write (the run lost its job) finishes nothing.
        assert apply_outcome(job, outcome) is False
    assert [(c["sender"], c["job"].pk, c["outcome"]) for c in finished] == [
        (Job, ok.pk, "succeeded")
    ]


def test_a_failing_receiver_never_breaks_the_enqueue() -> None:
    def broken(sender: type, **kwargs: Any) -> None:
        raise ValueError("a listener's bug")

    signals.job_enqueued.connect(broken, weak=False)
    try:
        job = jobs.add.enqueue(1, 1)
    finally:
        signals.job_enqueued.disconnect(broken)
    assert Job.objects.filter(pk=job.pk).exists()


def test_alert_raised_says_whether_the_alert_is_new() -> None:
    with received(signals.alert_raised) as calls:
        raise_alert("WORKER_CRASHED", "high", "first", fingerprint="f")
        raise_alert("WORKER_CRASHED", "high", "again", fingerprint="f")
    alert = Alert.objects.get(fingerprint="f")
    assert [(c["sender"], c["alert"].pk, c["created"]) for c in calls] == [
        (Alert, alert.pk, True),
        (Alert, alert.pk, False),
    ]
