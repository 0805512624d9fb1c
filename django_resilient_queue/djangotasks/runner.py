"""Run one Django Task from its Job row: its TaskContext and Django's started/finished signals.

The worker sees a Task as a ``JobDefinition`` whose function is the runner made here; it is
never registered as a ``@job``: the registry asks :func:`resolve` for names it does not hold.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.tasks import Task, TaskContext, TaskResultStatus, task_backends
from django.tasks.base import TaskError
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json

from ..context import JobContext
from ..definition import JobDefinition
from . import names, results
from .options import BackendOptions

logger = logging.getLogger("django_resilient_queue.tasks")


def _signature(task: Task[..., Any]) -> inspect.Signature | None:
    """The runner's signature: a context slot first, then the Task's own parameters."""
    try:
        signature = inspect.signature(task.func)
    except (TypeError, ValueError):
        return None
    if task.takes_context:
        return signature  # its first parameter, ``context``, is the slot
    slot = inspect.Parameter("__job_context", inspect.Parameter.POSITIONAL_ONLY)
    return signature.replace(parameters=[slot, *signature.parameters.values()])


def _error(exc: BaseException) -> TaskError:
    kind = type(exc)
    return TaskError(
        exception_class_path=f"{kind.__module__}.{kind.__qualname__}",
        traceback="".join(traceback.format_exception(exc)),
    )


def make_definition(
    task: Task[..., Any], alias: str, options: BackendOptions, sender: type
) -> JobDefinition:
    """Return the definition the worker runs ``task`` with (retry and timeout from OPTIONS)."""
    bound = task = results.with_alias(task, alias)

    def run(job_context: JobContext, *args: Any, **kwargs: Any) -> Any:
        return run_task(bound, alias, sender, job_context, args, kwargs)

    run.__signature__ = _signature(task)  # type: ignore[attr-defined]
    run.__qualname__ = run.__name__ = task.func.__name__
    run.__module__ = task.func.__module__
    return JobDefinition(
        func=run,
        name=names.row_name(alias, task.module_path),
        priority=task.priority,
        timeout=options.timeout,
        retry=options.retry,
        takes_context=True,
    )


def run_task(
    task: Task[..., Any],
    alias: str,
    sender: type,
    job_context: JobContext,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Call the Task with what Django promises it: a TaskContext, started/finished signals."""
    job = job_context.job
    if job is None:  # a plain call of the definition: no row, no result to speak of
        return task.call(*args, **kwargs)
    result = results.result_of(task, alias, job)
    task_started.send(sender=sender, task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
        # Django's own rule: a return value JSON cannot hold fails the Task.
        value = normalize_json(value)
    except BaseException as exc:
        result.errors.append(_error(exc))
        results.update(result, status=TaskResultStatus.FAILED, finished_at=timezone.now())
        # Sent inside the except block, so receivers (Django's logger) see the exception.
        task_finished.send(sender=sender, task_result=result)
        raise
    results.update(result, status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now())
    results.set_return_value(result, value)
    task_finished.send(sender=sender, task_result=result)
    return value


def resolve(name: str) -> JobDefinition | None:
    """Registry resolver: the definition of a row that names a Django Task, or None."""
    parsed = names.parse(name)
    if parsed is None:
        return None
    from ..backend import ResilientQueueBackend

    try:
        backend = task_backends[parsed.alias]
    except Exception:
        logger.warning(
            "row %s names the Tasks backend %r, which is not configured", name, parsed.alias
        )
        return None
    if not isinstance(backend, ResilientQueueBackend):
        logger.warning("row %s names the Tasks backend %r, which is not ours", name, parsed.alias)
        return None
    return backend.definition_at(parsed.path)


def install() -> Callable[[str], JobDefinition | None]:
    """Let the registry resolve Django Task rows (called once by the app at start-up)."""
    from .. import registry

    registry.add_resolver(resolve)
    return resolve
