"""Schedule verbs a person triggers: enable, disable, run now."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction

from .. import registry
from ..models import Schedule
from .results import ActionResult, id_batches


def _set_enabled(schedules: Any, enabled: bool) -> ActionResult:
    alias = router.db_for_write(Schedule)
    total = ActionResult()
    for batch in id_batches(Schedule, schedules):
        with transaction.atomic(using=alias):
            rows = Schedule.objects.using(alias).filter(pk__in=batch).exclude(enabled=enabled)
            ids = list(rows.select_for_update().values_list("pk", flat=True))
            Schedule.objects.using(alias).filter(pk__in=ids).update(enabled=enabled)
            total += ActionResult(len(ids), len(batch) - len(ids), tuple(ids))
    return total


def enable_schedules(schedules: Any, *, by: Any = None) -> ActionResult:
    """Enable the selected schedules; enabled ones are not eligible."""
    return _set_enabled(schedules, True)


def disable_schedules(schedules: Any, *, by: Any = None) -> ActionResult:
    """Disable the selected schedules; disabled ones are not eligible."""
    return _set_enabled(schedules, False)


def run_schedules_now(schedules: Any, *, by: Any = None) -> ActionResult:
    """Enqueue one job per selected schedule now, with its arguments, queue and priority.

    This is not a tick: it leaves no tick record and does not move the next run. A
    schedule whose task is not a registered ``@job`` is not eligible.
    """
    alias = router.db_for_write(Schedule)
    total = ActionResult()
    for batch in id_batches(Schedule, schedules):
        with transaction.atomic(using=alias):
            made: list[int] = []
            for schedule in Schedule.objects.using(alias).filter(pk__in=batch).order_by("pk"):
                definition = (
                    registry.lookup(schedule.task)
                    if registry.is_registered(schedule.task)
                    else None
                )
                if definition is None:
                    continue
                options: dict[str, Any] = {"priority": schedule.priority}
                if schedule.queue:
                    options["queue"] = schedule.queue
                definition.using(**options).enqueue(*schedule.args, **schedule.kwargs)
                made.append(schedule.pk)
            total += ActionResult(len(made), len(batch) - len(made), tuple(made))
    return total
