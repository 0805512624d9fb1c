"""``ResilientQueueBackend``: Django's Tasks framework (Django 6.0+) on these workers.

``TASKS = {"default": {"BACKEND": "django_resilient_queue.backend.ResilientQueueBackend"}}``
makes ``@task`` functions Job rows, written in the caller's transaction through the same
enqueue path as ``@job`` (backpressure included), run by ``runworkers`` with retries, dead
letters and timeouts, and read back with ``get_result()``. On Django 5.2 this module does not
import (there is no ``django.tasks``); nothing else in the app imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

try:
    from django.tasks import DEFAULT_TASK_QUEUE_NAME, Task, TaskResult
except ImportError as exc:  # pragma: no cover - Django 5.2
    raise ImportError(
        "django_resilient_queue.backend needs Django's Tasks framework (Django 6.0 or later)"
    ) from exc
from django.core.checks import CheckMessage
from django.db import router, transaction
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils.json import normalize_json

from . import conf
from .definition import JobDefinition
from .djangotasks import names, options, results, runner
from .enqueue import enqueue_one
from .models import Job


class ResilientQueueBackend(BaseTaskBackend):
    """Store Tasks as Job rows; ``runworkers`` runs them; results come from Job + Attempts."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.params = params
        # Without QUEUES of its own the backend accepts our queues (checked at validate_task).
        self.explicit_queues = "QUEUES" in params
        self._options: options.BackendOptions | None = None
        self._definitions: dict[str, JobDefinition] = {}

    # -- options and queues --------------------------------------------------------------
    @property
    def job_options(self) -> options.BackendOptions:
        """The parsed OPTIONS; ``ImproperlyConfigured`` when they are bad (see ``check``)."""
        if self._options is None:
            self._options = options.parse_or_raise(self.alias, self.options)
        return self._options

    def accepted_queues(self) -> set[str] | None:
        """Queue names a Task may use here (None: any)."""
        if self.explicit_queues:
            return set(self.queues) or None
        configured = conf.get("QUEUES") or {}
        return {DEFAULT_TASK_QUEUE_NAME, conf.default_queue(), *configured}

    @staticmethod
    def queue_for(task: Task[..., Any]) -> str:
        """Our queue for the Task: Django's "default" is RESILIENT_QUEUE's DEFAULT_QUEUE."""
        if task.queue_name == DEFAULT_TASK_QUEUE_NAME:
            return conf.default_queue()
        return task.queue_name

    def validate_task(self, task: Task[..., Any]) -> None:
        """Refuse what Django refuses, and a queue that is not one of ours."""
        explicit, self.queues = self.queues, set()  # the queue check is ours, below
        try:
            super().validate_task(task)
        finally:
            self.queues = explicit
        accepted = self.accepted_queues()
        if accepted is not None and task.queue_name not in accepted:
            raise InvalidTask(
                f"Queue {task.queue_name!r} is not valid for backend {self.alias!r}: "
                f"declare it in RESILIENT_QUEUE['QUEUES'] (known: {sorted(accepted)})."
            )

    # -- the definitions workers run -------------------------------------------------------
    def definition_at(self, path: str) -> JobDefinition | None:
        """The definition for the Task at ``path``, or None when no Task is there."""
        definition = self._definitions.get(path)
        if definition is None:
            task = results.find_task(path)
            if task is None:
                return None
            definition = runner.make_definition(task, self.alias, self.job_options, type(self))
            self._definitions[path] = definition
        return definition

    def _definition_for(self, task: Task[..., Any]) -> JobDefinition:
        found = results.find_task(task.module_path)
        definition = self.definition_at(task.module_path)
        if found is None or found.func is not task.func or definition is None:
            raise InvalidTask(
                f"{task.module_path} does not name this Task: workers import Tasks by their "
                "dotted path, so declare it at module level under its function's name."
            )
        return definition

    # -- enqueue ---------------------------------------------------------------------------
    def enqueue(
        self, task: Task[Any, Any], args: Iterable[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[Any, Any]:
        """Write a queued Job in the caller's transaction; ``task_enqueued`` after commit."""
        self.validate_task(task)
        # Django's rule for Task arguments: plain JSON (no model instances, no datetimes).
        plain_args: list[Any] = normalize_json(list(args))  # type: ignore[assignment]
        plain_kwargs: dict[str, Any] = normalize_json(dict(kwargs))  # type: ignore[assignment]
        definition = dataclasses.replace(
            self._definition_for(task),
            queue=self.queue_for(task),
            priority=task.priority,  # the same scale as ours: -100..100, higher first
            run_after=task.run_after,
        )
        job = enqueue_one(definition, plain_args, plain_kwargs)
        result = results.result_of(task, self.alias, job, with_history=False)
        sender = type(self)
        transaction.on_commit(
            lambda: task_enqueued.send(sender=sender, task_result=result),
            using=router.db_for_write(Job),
        )
        return result

    # -- results ---------------------------------------------------------------------------
    def get_result(self, result_id: str) -> TaskResult[Any, Any]:
        """Return the result of the Task whose Job id is ``result_id``."""
        try:
            job = Job.objects.get(pk=int(result_id))
        except (Job.DoesNotExist, TypeError, ValueError, OverflowError):
            raise TaskResultDoesNotExist(result_id) from None
        parsed = names.parse(job.task)
        if parsed is None:
            raise TaskResultDoesNotExist(f"{result_id} is a job, not a Django Task")
        task = results.find_task(parsed.path)
        if task is None:
            raise TaskResultDoesNotExist(f"{result_id}: no Task can be found at {parsed.path}")
        return results.result_of(results.with_alias(task, parsed.alias), parsed.alias, job)

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        """The system-check errors of this backend's settings (resilient_queue.E070 to E074)."""
        return [*super().check(**kwargs), *options.check(self.alias, self.params)]
