"""The admin: every model visible, every recovery verb an action behind its own permission.

One module per model; importing this package registers them all (Django's autodiscovery
imports ``django_resilient_queue.admin``).
"""

from __future__ import annotations

from . import (
    alert,
    attempt,
    breaker,
    dashboard,
    dead_letter,
    delivery,
    job,
    queue_state,
    schedule,
    worker,
)
from .helpers import action_permission, pretty_json, run_action
from .schedule import ScheduleForm

__all__ = [
    "ScheduleForm",
    "action_permission",
    "alert",
    "attempt",
    "breaker",
    "dashboard",
    "dead_letter",
    "delivery",
    "job",
    "pretty_json",
    "queue_state",
    "run_action",
    "schedule",
    "worker",
]
