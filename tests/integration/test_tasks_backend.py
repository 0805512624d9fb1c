"""Django's Tasks framework on our backend, run in-process through the real claim and outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip("django.tasks", reason="Django's Tasks framework needs Django 6.0 or later")

from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.tasks import TaskResultStatus, task_backends
from django.tasks.exceptions import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultMismatch,
)
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.test import override_settings
from django.utils import timezone

from django_resilient_queue.backend import ResilientQueueBackend
from django_resilient_queue.models import DeadLetter, Job, JobStatus
from django_resilient_queue.services.deadletters import replay_dead_letter
from tests import tasks
from tests.factories import JobFactory
from tests.integration.runner import run_next, run_until_final

pytestmark = pytest.mark.django_db


class Recorder:
    """Collects Django's task signals sent in this process."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, Any]] = []

    def __enter__(self) -> Recorder:
        for signal in (task_enqueued, task_started, task_finished):
            signal.connect(self._receiver(signal), weak=False, dispatch_uid=f"rec-{id(signal)}")
        return self

    def __exit__(self, *exc: object) -> None:
        for signal in (task_enqueued, task_started, task_finished):
            signal.disconnect(dispatch_uid=f"rec-{id(signal)}")

    def _receiver(self, signal: Any) -> Any:
        kind = {task_enqueued: "enqueued", task_started: "started", task_finished: "finished"}

        def receive(sender: type, task_result: Any, **kwargs: Any) -> None:
            self.sent.append((kind[signal], sender, (task_result.id, task_result.status)))

        return receive

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.sent]


def test_enqueue_writes_a_queued_job_named_by_the_tasks_path() -> None:
    result = tasks.add.enqueue(2, 3)
    job = Job.objects.get(pk=int(result.id))
    assert (job.task, job.args, job.queue, job.priority) == (
        "task:tests.tasks.add",
        [2, 3],
        "default",
        0,
    )
    assert job.task == f"task:{tasks.add.module_path}"
    assert (job.status, job.max_attempts, job.timeout) == (JobStatus.QUEUED, 2, 60.0)
    assert result.status == TaskResultStatus.READY
    assert result.enqueued_at == job.created_at
    assert (result.backend, result.worker_ids, result.errors) == ("default", [], [])


def test_a_run_makes_the_result_successful_with_its_return_value() -> None:
    result = tasks.add.enqueue(2, 3)
    assert run_next() is not None
    done = tasks.add.get_result(result.id)
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == 5
    assert (done.worker_ids, done.attempts, done.errors) == (["in-process"], 1, [])
    assert done.started_at is not None and done.finished_at is not None
    assert done.enqueued_at <= done.started_at <= done.finished_at
    assert done.last_attempted_at == done.started_at
    result.refresh()
    assert result.return_value == 5


def test_a_failing_task_shows_every_attempt_and_error() -> None:
    result = tasks.explode.enqueue("boom")
    row, _ = run_until_final(Job.objects.get(pk=int(result.id)))
    assert row.status == JobStatus.FAILED
    failed = tasks.explode.get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert failed.attempts == 2  # OPTIONS retry: max_attempts 2
    assert failed.worker_ids == ["in-process", "in-process"]
    assert [e.exception_class for e in failed.errors] == [RuntimeError, RuntimeError]
    assert all("boom" in e.traceback and "Traceback" in e.traceback for e in failed.errors)
    with pytest.raises(ValueError, match="failed"):
        _ = failed.return_value
    assert DeadLetter.objects.filter(job_id=row.pk).exists()


def test_an_async_task_runs() -> None:
    result = tasks.async_add.enqueue(3, 4)
    run_next()
    assert tasks.async_add.get_result(result.id).return_value == 7


def test_takes_context_gives_the_attempt_and_the_result() -> None:
    result = tasks.attempts_seen.enqueue(fail_until=2)
    run_until_final(Job.objects.get(pk=int(result.id)))
    done = tasks.attempts_seen.get_result(result.id)
    assert done.return_value == {"attempt": 2, "id": result.id, "status": "RUNNING", "workers": 2}
    assert len(done.errors) == 1 and "attempt 1" in done.errors[0].traceback


def test_signals_fire_once_each_per_run(django_capture_on_commit_callbacks: Any) -> None:
    with Recorder() as recorder:
        with django_capture_on_commit_callbacks(execute=True):
            result = tasks.add.enqueue(1, 1)
        assert recorder.kinds() == ["enqueued"]
        run_next()
    assert recorder.kinds() == ["enqueued", "started", "finished"]
    assert {sender for _, sender, _ in recorder.sent} == {ResilientQueueBackend}
    assert [status for _, _, (_, status) in recorder.sent] == [
        TaskResultStatus.READY,
        TaskResultStatus.RUNNING,
        TaskResultStatus.SUCCESSFUL,
    ]
    assert {rid for _, _, (rid, _) in recorder.sent} == {result.id}


def test_a_failed_run_sends_finished_with_failed() -> None:
    tasks.explode.enqueue("x")
    with Recorder() as recorder:
        run_next()
    assert [(k, s) for k, _, (_, s) in recorder.sent] == [
        ("started", TaskResultStatus.RUNNING),
        ("finished", TaskResultStatus.FAILED),
    ]


@pytest.mark.django_db(transaction=True)
def test_enqueue_inside_a_rolled_back_transaction_leaves_nothing() -> None:
    with Recorder() as recorder:
        with pytest.raises(RuntimeError), transaction.atomic():
            tasks.add.enqueue(1, 2)
            assert Job.objects.count() == 1
            raise RuntimeError("roll back")
        assert Job.objects.count() == 0
        assert recorder.sent == []  # task_enqueued waits for the commit
        with transaction.atomic():
            kept = tasks.add.enqueue(1, 2)
            assert recorder.sent == []
        assert recorder.kinds() == ["enqueued"]
    assert list(Job.objects.values_list("pk", flat=True)) == [int(kept.id)]


def test_priority_and_run_after_map_onto_the_job() -> None:
    later = timezone.now() + timedelta(hours=1)
    result = tasks.add.using(priority=-100, run_after=later).enqueue(1, 1)
    job = Job.objects.get(pk=int(result.id))
    assert (job.priority, job.run_after) == (-100, later)
    assert run_next() is None  # deferred: not runnable yet
    assert tasks.add.get_result(result.id).status == TaskResultStatus.READY
    urgent = tasks.urgent.enqueue("a")
    assert Job.objects.get(pk=int(urgent.id)).priority == 50


def test_validate_task_refuses_an_unknown_queue() -> None:
    with pytest.raises(InvalidTask, match="nope"):
        tasks.add.using(queue_name="nope")
    assert Job.objects.get(pk=int(tasks.urgent.enqueue("x").id)).queue == "bounded"


def test_djangos_default_queue_is_our_default_queue() -> None:
    with override_settings(RESILIENT_QUEUE={"DEFAULT_QUEUE": "main"}):
        result = tasks.add.enqueue(1, 1)
        with pytest.raises(InvalidTask):
            tasks.add.using(queue_name="bounded")  # QUEUES is not set here
    assert Job.objects.get(pk=int(result.id)).queue == "main"


def test_unknown_ids_are_result_does_not_exist() -> None:
    job = JobFactory()  # a @job, not a Task
    backend = task_backends["default"]
    for bad in ("nope", "999999999", str(job.pk)):
        with pytest.raises(TaskResultDoesNotExist):
            backend.get_result(bad)
    other = tasks.add.enqueue(1, 1)
    with pytest.raises(TaskResultMismatch):
        tasks.explode.get_result(other.id)


def test_rows_naming_something_else_never_run(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    for name in ("task:tests.tasks.not_a_task", "task:os.system", "task@nowhere:tests.tasks.add"):
        JobFactory(task=name, args=[f"touch {marker}"] if "os" in name else [1])
        row = run_next()
        assert row is not None and row.status == JobStatus.FAILED
        assert DeadLetter.objects.get(job_id=row.pk).reason == "unknown task"
    assert not marker.exists()


def test_arguments_must_be_json() -> None:
    with pytest.raises(TypeError):
        tasks.add.enqueue(timezone.now(), 1)
    with pytest.raises(TypeError):
        tasks.add.enqueue(1)  # bound to the function's signature
    assert Job.objects.count() == 0


def test_a_second_alias_names_itself_and_keeps_default_options() -> None:
    result = tasks.on_second.enqueue(4)
    job = Job.objects.get(pk=int(result.id))
    assert (job.task, job.max_attempts, job.timeout) == (
        "task@second:tests.tasks.on_second",
        3,
        300.0,
    )
    run_next()
    done = tasks.on_second.get_result(result.id)
    assert (done.backend, done.return_value) == ("second", 8)


def test_aenqueue_and_aget_result() -> None:
    result = async_to_sync(tasks.add.aenqueue)(5, 6)
    run_next()
    assert async_to_sync(tasks.add.aget_result)(result.id).return_value == 11


def test_a_dead_lettered_task_can_be_replayed() -> None:
    result = tasks.explode.enqueue("again")
    run_until_final(Job.objects.get(pk=int(result.id)))
    replayed = replay_dead_letter(DeadLetter.objects.get(job_id=int(result.id)))
    assert replayed.task == "task:tests.tasks.explode"
    assert tasks.explode.get_result(str(replayed.pk)).status == TaskResultStatus.READY


BAD_OPTIONS = [
    ({"OPTIONS": []}, "resilient_queue.E070"),
    ({"OPTIONS": {"retries": 3}}, "resilient_queue.E070"),
    ({"OPTIONS": {"retry": {"max_attempts": 0}}}, "resilient_queue.E071"),
    ({"OPTIONS": {"retry": {"backoff": {"kind": "fixed"}}}}, "resilient_queue.E071"),
    ({"OPTIONS": {"retry": {"backoff": {"kind": "weird"}}}}, "resilient_queue.E071"),
    ({"OPTIONS": {"timeout": -1}}, "resilient_queue.E072"),
    ({"QUEUES": "default"}, "resilient_queue.E073"),
]


@pytest.mark.parametrize(("extra", "check_id"), BAD_OPTIONS)
def test_bad_backend_settings_are_check_errors(extra: dict[str, Any], check_id: str) -> None:
    params = {"BACKEND": "django_resilient_queue.backend.ResilientQueueBackend", **extra}
    backend = ResilientQueueBackend("bad", params)
    assert [e.id for e in backend.check()] == [check_id]
    if "OPTIONS" in extra:
        with pytest.raises(ImproperlyConfigured, match=check_id):
            _ = backend.job_options


def test_good_backend_settings_pass_the_checks() -> None:
    from django_resilient_queue import Backoff, Retry

    for options in (
        {"retry": Retry(max_attempts=4, backoff=Backoff.linear(step=2))},
        {"retry": {"max_attempts": 5, "backoff": {"kind": "exponential", "base": 3}}},
        {"retry": {"backoff": {"kind": "custom", "delays": [1, 5]}, "give_up_after": 60}},
        {"timeout": timedelta(seconds=5)},
    ):
        params = {"BACKEND": "x", "OPTIONS": options}
        assert ResilientQueueBackend("ok", params).check() == []


def test_bad_options_refuse_enqueue_and_write_nothing() -> None:
    bad = {
        "default": {
            "BACKEND": "django_resilient_queue.backend.ResilientQueueBackend",
            "OPTIONS": {"timeout": "soon"},
        }
    }
    with override_settings(TASKS=bad), pytest.raises(ImproperlyConfigured, match="E072"):
        tasks.add.enqueue(1, 1)
    assert Job.objects.count() == 0
