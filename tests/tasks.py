"""Django Tasks (Django 6.0+) for the backend's tests; workers find them by their dotted path.

When ``RESILIENT_QUEUE_TEST_SIGNAL_LOG`` names a file, every process that imports this module
appends one line per Django task signal to it, so a test can count what a worker sent.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.dispatch import receiver
from django.tasks import TaskContext, task
from django.tasks.signals import task_enqueued, task_finished, task_started


@task
def add(a: int, b: int) -> int:
    return a + b


@task(priority=50, queue_name="bounded")
def urgent(value: str) -> str:
    return value.upper()


@task
def explode(message: str) -> None:
    raise RuntimeError(message)


@task
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task(takes_context=True)
def attempts_seen(context: TaskContext[Any, Any], fail_until: int) -> dict[str, Any]:
    """Fail until attempt ``fail_until``; then return what the context said."""
    if context.attempt < fail_until:
        raise RuntimeError(f"attempt {context.attempt}")
    return {
        "attempt": context.attempt,
        "id": context.task_result.id,
        "status": str(context.task_result.status),
        "workers": len(context.task_result.worker_ids),
    }


@task(backend="second")
def on_second(value: int) -> int:
    return value * 2


def not_a_task(value: int) -> int:
    return value


def _log(kind: str, task_result: Any) -> None:
    path = os.environ.get("RESILIENT_QUEUE_TEST_SIGNAL_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{kind} {task_result.id} {task_result.status} {os.getpid()}\n")


@receiver(task_enqueued)
def _enqueued(sender: type, task_result: Any, **kwargs: Any) -> None:
    _log("enqueued", task_result)


@receiver(task_started)
def _started(sender: type, task_result: Any, **kwargs: Any) -> None:
    _log("started", task_result)


@receiver(task_finished)
def _finished(sender: type, task_result: Any, **kwargs: Any) -> None:
    _log("finished", task_result)
