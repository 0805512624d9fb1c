"""Read-only figures for the admin's lists and dashboard: estimates, known names, samples."""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Model

from .. import conf, registry
from ..db.estimates import estimated_rows
from ..models import DeadLetter, QueueSample, QueueState


def estimated_count(model: type[Model]) -> int | None:
    """The database's own estimate of ``model``'s row count, or None where it has none."""
    alias = router.db_for_read(model)
    return estimated_rows(connections[alias], model._meta.db_table)


def known_queues() -> list[str]:
    """Every queue name the project knows of, without scanning the job table."""
    names = {conf.default_queue(), *(conf.get("QUEUES") or {})}
    for name in registry.registered_names():
        queue = registry.lookup(name).queue
        if queue:
            names.add(queue)
    names.update(QueueState.objects.values_list("name", flat=True))
    latest = QueueSample.objects.order_by("-taken_at").values_list("taken_at", flat=True).first()
    if latest is not None:
        names.update(QueueSample.objects.filter(taken_at=latest).values_list("queue", flat=True))
    return sorted(str(n) for n in names)


def recent_error_types(limit: int = 1000) -> list[str]:
    """The error types of the latest ``limit`` dead letters (a bounded read, not a DISTINCT)."""
    recent = DeadLetter.objects.order_by("-id").values_list("error_type", flat=True)[:limit]
    return sorted({t for t in recent if t})
