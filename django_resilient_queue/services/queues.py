"""Queue verbs a person triggers: pause and resume (a paused queue's jobs stay queued)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import router, transaction
from django.utils import timezone

from ..models import QueueState
from .results import ActionResult, user_or_none


def paused_queues() -> list[str]:
    """Return the names of the paused queues (a tiny table: one row per acted-on queue)."""
    return sorted(QueueState.objects.filter(paused_at__isnull=False).values_list("name", flat=True))


def pause_queues(names: Iterable[str], *, by: object = None) -> ActionResult:
    """Pause each queue: no worker claims its jobs until it is resumed. Paused ones are not
    eligible."""
    alias = router.db_for_write(QueueState)
    wanted = sorted({str(n).strip() for n in names if str(n).strip()})
    changed: list[int] = []
    with transaction.atomic(using=alias):
        for name in wanted:
            state, _ = QueueState.objects.using(alias).select_for_update().get_or_create(name=name)
            if state.paused_at is None:
                state.paused_at = timezone.now()
                state.paused_by = user_or_none(by)
                state.save(using=alias, update_fields=["paused_at", "paused_by"])
                changed.append(state.pk)
    return ActionResult(len(changed), len(wanted) - len(changed), tuple(changed))


def resume_queues(names: Iterable[str], *, by: object = None) -> ActionResult:
    """Resume each paused queue; queues not paused are not eligible."""
    alias = router.db_for_write(QueueState)
    wanted = sorted({str(n).strip() for n in names if str(n).strip()})
    with transaction.atomic(using=alias):
        paused = QueueState.objects.using(alias).filter(name__in=wanted, paused_at__isnull=False)
        ids = list(paused.select_for_update().values_list("pk", flat=True))
        QueueState.objects.using(alias).filter(pk__in=ids).update(paused_at=None, paused_by=None)
    return ActionResult(len(ids), len(wanted) - len(ids), tuple(ids))
