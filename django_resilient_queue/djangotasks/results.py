"""Django's view of our bookkeeping: a ``TaskResult`` built from a Job and its Attempts."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
from typing import Any

from django.tasks import Task, TaskResult, TaskResultStatus
from django.tasks.base import TaskError
from django.tasks.exceptions import InvalidTask

from ..models import Attempt, AttemptOutcome, Job, JobStatus, Worker
from ..serialization import decode_arguments

logger = logging.getLogger("django_resilient_queue.tasks")

STATUSES = {
    JobStatus.QUEUED: TaskResultStatus.READY,  # waiting for its first run, or for a retry
    JobStatus.RUNNING: TaskResultStatus.RUNNING,
    JobStatus.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    JobStatus.FAILED: TaskResultStatus.FAILED,
    # Django has no "cancelled": the Task was unable to run, which is what FAILED covers.
    JobStatus.CANCELLED: TaskResultStatus.FAILED,
}
# Runs that raised, or ran out of time: the Task's ``errors``. A released run (a graceful
# stop) used no attempt and appears nowhere; an abandoned one (its worker lost) is an
# attempt without an exception.
ERROR_OUTCOMES = (AttemptOutcome.FAILED, AttemptOutcome.TIMEOUT)
UNKNOWN_WORKER = "unknown"


def find_task(path: str) -> Task[..., Any] | None:
    """Return the Django ``Task`` at ``path``, or None when nothing there is a Task."""
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception:
        logger.warning("cannot import %s to find the Task %s", module_name, path, exc_info=True)
        return None
    found = getattr(module, attribute, None)
    return found if isinstance(found, Task) else None


def with_alias(task: Task[..., Any], alias: str) -> Task[..., Any]:
    """Return ``task`` as enqueued through ``alias`` (``.using(backend=alias)``)."""
    if task.backend != alias:
        # A backend that refuses the Task now: the result still names the alias it came by.
        with contextlib.suppress(InvalidTask):
            return dataclasses.replace(task, backend=alias)
    return task


def _class_path(error_type: str) -> str:
    # A run stopped from outside records the bare builtin name.
    return error_type if "." in error_type else f"builtins.{error_type or 'Exception'}"


def history(job: Job) -> tuple[list[str], list[TaskError]]:
    """Return the worker of each attempt (the running one last) and each failed run's error."""
    attempts = list(
        Attempt.objects.filter(job_id=job.pk)
        .exclude(outcome=AttemptOutcome.RELEASED)
        .order_by("number", "id")
        .values_list("worker_id", "outcome", "error_type", "error_message", "traceback")
    )
    running = job.status == JobStatus.RUNNING
    worker_pks = {a[0] for a in attempts} | ({job.worker_id} if running else set())
    names = dict(
        Worker.objects.filter(pk__in=[pk for pk in worker_pks if pk is not None]).values_list(
            "pk", "name"
        )
    )
    worker_ids = [names.get(a[0], UNKNOWN_WORKER) for a in attempts]
    if running:
        worker_ids.append(names.get(job.worker_id or 0, UNKNOWN_WORKER))
    errors = [
        TaskError(exception_class_path=_class_path(error_type), traceback=traceback or message)
        for _, outcome, error_type, message, traceback in attempts
        if outcome in ERROR_OUTCOMES
    ]
    return worker_ids, errors


def result_of(
    task: Task[..., Any], alias: str, job: Job, *, with_history: bool = True
) -> TaskResult[..., Any]:
    """Return the ``TaskResult`` that ``job`` stands for."""
    args, kwargs = decode_arguments(job.args, job.kwargs)
    worker_ids, errors = history(job) if with_history else ([], [])
    finished = job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    result = TaskResult(
        task=task,
        id=str(job.pk),
        status=STATUSES[JobStatus(job.status)],
        enqueued_at=job.created_at,
        started_at=job.first_started_at,
        finished_at=job.finished_at if finished else None,
        last_attempted_at=job.started_at,
        args=args,
        kwargs=kwargs,
        backend=alias,
        errors=errors,
        worker_ids=worker_ids,
    )
    if job.status == JobStatus.SUCCEEDED:
        set_return_value(result, decode_arguments([job.result], {})[0][0])
    return result


def set_return_value(result: TaskResult[..., Any], value: Any) -> None:
    """Store the return value on a (frozen) ``TaskResult``, as Django's own backends do."""
    object.__setattr__(result, "_return_value", value)


def update(result: TaskResult[..., Any], **changes: Any) -> None:
    """Change fields of a (frozen) ``TaskResult`` in place: its holders see the change."""
    for name, value in changes.items():
        object.__setattr__(result, name, value)
