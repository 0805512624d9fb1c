"""Paused queues as a claim sees them: a set refreshed about once a second, free when empty.

A paused queue's jobs stay queued: every claim of every ``runworkers`` skips them (a
``queue NOT IN (...)`` added only while some queue is paused), so nothing is claimed
from it within about REFRESH seconds of the pause. Jobs already running finish.
"""

from __future__ import annotations

import time

from django.db.models import Q

from ..db.base import ClaimFilter
from ..models import QueueState

# Seconds a child trusts its view of the paused set: one indexed read of a tiny table
# per second per child, whatever the claim rate.
REFRESH = 1.0


class PausedQueues:
    """This process's view of the paused queues."""

    def __init__(self, refresh: float = REFRESH) -> None:
        self.refresh = refresh
        self.names: tuple[str, ...] = ()
        self.due = 0.0

    def current(self) -> tuple[str, ...]:
        """Return the paused queue names, read again when the view is older than ``refresh``."""
        now = time.monotonic()
        if now >= self.due:
            self.due = now + self.refresh
            paused = QueueState.objects.filter(paused_at__isnull=False)
            self.names = tuple(sorted(paused.values_list("name", flat=True)))
        return self.names


def exclude_paused(where: ClaimFilter | None, paused: tuple[str, ...]) -> ClaimFilter | None:
    """Return ``where`` that also skips the ``paused`` queues (``where`` itself when none is)."""
    if not paused:
        return where
    sql = f" AND queue NOT IN ({', '.join(['%s'] * len(paused))})"
    skip = ~Q(queue__in=paused)
    if where is None:
        return ClaimFilter(q=skip, sql=sql, params=paused)
    return ClaimFilter(
        q=where.q & skip,
        sql=where.sql + sql,
        params=(*where.params, *paused),
        only_task=where.only_task,
    )
