"""Enqueue an ``on_success`` / ``on_failure`` callback with the outcome of a job."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .. import registry

if TYPE_CHECKING:
    from ..definition import JobDefinition

logger = logging.getLogger("django_resilient_queue.worker")


def enqueue_callback(target: str | JobDefinition, outcome: dict[str, Any]) -> None:
    """Enqueue ``target(outcome)`` in the current transaction; unknown targets are logged."""
    name = target if isinstance(target, str) else target.name
    if not registry.is_registered(name):
        logger.error("callback %s is not a registered @job; not enqueued", name)
        return
    from ..enqueue import enqueue_one

    # No backpressure here: refusing the callback would roll back the outcome that caused it.
    enqueue_one(registry.lookup(name), (outcome,), {}, apply_backpressure=False)
