"""Worker verbs a person triggers: request a graceful stop."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction

from ..models import Worker, WorkerState
from .results import ActionResult, id_batches


def request_stop(workers: Any, *, by: Any = None) -> ActionResult:
    """Ask the ``runworkers`` of each running worker to finish its jobs and exit 0.

    Stopped, lost and already stopping workers are not eligible.
    """
    alias = router.db_for_write(Worker)
    total = ActionResult()
    for batch in id_batches(Worker, workers):
        with transaction.atomic(using=alias):
            running = Worker.objects.using(alias).filter(
                pk__in=batch, state=WorkerState.RUNNING, stop_requested=False
            )
            ids = list(running.select_for_update().values_list("pk", flat=True))
            Worker.objects.using(alias).filter(pk__in=ids).update(stop_requested=True)
            total += ActionResult(len(ids), len(batch) - len(ids), tuple(ids))
    return total
