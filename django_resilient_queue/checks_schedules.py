"""System checks for the fields of each ``RESILIENT_QUEUE["SCHEDULES"]`` entry (E060-E067).

The shape of the setting, unknown keys and ``catch_up`` stay E009, the cron
expression E010 (checks.py). Jobs are imported by the time checks run, so an
unknown task can be reported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from . import conf, registry
from .cron import validate_schedule_fields

# Field of validate_schedule_fields -> check number.
FIELD_IDS = {
    "timezone": 60,
    "task": 61,
    "args": 62,
    "kwargs": 62,
    "queue": 63,
    "priority": 64,
    "enabled": 65,
}


def _error(msg: str, number: int) -> Error:
    return Error(msg, id=f"resilient_queue.E{number:03d}")


def _check_entry(name: str, spec: Mapping[str, Any]) -> Iterable[CheckMessage]:
    where = f"SCHEDULES[{name!r}]"
    errors = validate_schedule_fields(
        task=spec["task"],
        cron=spec["cron"],
        timezone=spec.get("timezone", "UTC"),
        args=spec.get("args", []),
        kwargs=spec.get("kwargs", {}),
        queue=spec.get("queue", conf.get("DEFAULT_QUEUE")),
        priority=spec.get("priority", 0),
        enabled=spec.get("enabled", True),
        known_task=registry.is_registered,
    )
    for field, number in FIELD_IDS.items():
        if field in errors:
            yield _error(f"{where}['{field}']: {errors[field]}.", number)
    if "args" in errors or "kwargs" in errors:
        return
    args, kwargs = list(spec.get("args", [])), dict(spec.get("kwargs", {}))
    try:
        json.dumps([args, kwargs])
    except (TypeError, ValueError):
        yield _error(f"{where}: args and kwargs must be plain JSON values.", 66)
        return
    if "task" not in errors:
        try:
            registry.lookup(spec["task"]).check_arguments(args, kwargs)
        except TypeError as exc:
            yield _error(f"{where}: the arguments do not fit the task: {exc}.", 67)


@register(Tags.compatibility)
def check_schedules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate each SCHEDULES entry's time zone, task, arguments, queue, priority, enabled."""
    schedules = conf.raw_settings().get("SCHEDULES", {})
    if not isinstance(schedules, Mapping):
        return []  # E009
    errors: list[CheckMessage] = []
    for name, spec in schedules.items():
        if isinstance(spec, Mapping) and "task" in spec and "cron" in spec:
            errors.extend(_check_entry(str(name), spec))
    return errors
