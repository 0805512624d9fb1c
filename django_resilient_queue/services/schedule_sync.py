"""Sync the schedules of settings and ``@job(cron=...)`` into Schedule rows (at runworkers start).

Rows made in the admin (``source="admin"``) are never touched: a declared schedule
whose name an admin row already holds is left out, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, router, transaction
from django.utils import timezone

from .. import conf, registry
from ..cron import validate_schedule_fields
from ..models import Schedule
from .schedules import next_run

logger = logging.getLogger("django_resilient_queue.scheduler")

SOURCE_SETTINGS = "settings"
SOURCE_DECORATOR = "decorator"
SOURCE_ADMIN = "admin"
SYNCED_SOURCES = (SOURCE_SETTINGS, SOURCE_DECORATOR)
# The fields a declaration sets; a change of cron or timezone also moves the next run.
FIELDS = ("task", "cron", "timezone", "args", "kwargs", "queue", "priority", "catch_up")


@dataclass
class SyncResult:
    """Names of the schedules the sync added, changed, removed, and left to admin rows."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    shadowed: list[str] = field(default_factory=list)


def _settings_schedules() -> dict[str, dict[str, Any]]:
    declared: dict[str, dict[str, Any]] = {}
    schedules = conf.get("SCHEDULES")
    for name, spec in (schedules if isinstance(schedules, Mapping) else {}).items():
        if not isinstance(spec, Mapping):
            continue
        fields = {
            "task": spec.get("task"),
            "cron": spec.get("cron"),
            "timezone": spec.get("timezone", "UTC"),
            "args": spec.get("args", []),
            "kwargs": spec.get("kwargs", {}),
            "queue": spec.get("queue", conf.default_queue()),
            "priority": spec.get("priority", 0),
            "catch_up": spec.get("catch_up", "latest"),
        }
        errors = validate_schedule_fields(
            **fields, enabled=spec.get("enabled", True), known_task=registry.is_registered
        )
        if errors:
            # `manage.py check` reports it (E060-E069); a bad entry is not synced.
            logger.error("SCHEDULES[%r] is not synced: %s", name, "; ".join(errors.values()))
            continue
        fields["args"] = list(fields["args"])  # a tuple in settings is stored as a list
        fields["source"] = SOURCE_SETTINGS
        if "enabled" in spec:
            fields["enabled"] = spec["enabled"]
        declared[str(name)] = fields
    return declared


def _decorator_schedules() -> dict[str, dict[str, Any]]:
    declared: dict[str, dict[str, Any]] = {}
    for name in registry.registered_names():
        definition = registry.lookup(name)
        if definition.cron is None:
            continue
        declared[name] = {
            "task": name,
            "cron": definition.cron,
            "timezone": "UTC",
            "args": [],
            "kwargs": {},
            "queue": definition.queue or conf.default_queue(),
            "priority": int(definition.priority),
            "catch_up": "latest",
            "source": SOURCE_DECORATOR,
        }
    return declared


def declared_schedules() -> dict[str, dict[str, Any]]:
    """Return name -> fields of every valid declared schedule (settings win over decorators)."""
    return {**_decorator_schedules(), **_settings_schedules()}


def sync_schedules() -> SyncResult:
    """Add, change and remove the declared schedules' rows; never touch admin rows."""
    alias = router.db_for_write(Schedule)
    declared = declared_schedules()
    result = SyncResult()
    now = timezone.now()
    rows = {s.name: s for s in Schedule.objects.using(alias).all()}
    for name, fields in declared.items():
        row = rows.get(name)
        if row is None:
            row = Schedule(name=name, **fields)
            row.next_run_at = next_run(row, now) if row.enabled else None
            try:
                with transaction.atomic(using=alias):
                    row.save(using=alias, force_insert=True)
            except IntegrityError:
                continue  # another runworkers starting at the same time added it
            result.added.append(name)
        elif row.source not in SYNCED_SOURCES:
            logger.warning("schedule %s is declared but an admin-made row holds the name", name)
            result.shadowed.append(name)
        else:
            moved = row.cron != fields["cron"] or row.timezone != fields["timezone"]
            moved |= fields.get("enabled", row.enabled) and not row.enabled
            changes = {k: v for k, v in fields.items() if getattr(row, k) != v}
            if not changes:
                continue
            for key, value in changes.items():
                setattr(row, key, value)
            if moved or not row.enabled:
                row.next_run_at = next_run(row, now) if row.enabled else None
            row.save(using=alias)
            result.changed.append(name)
    gone = [
        name for name, row in rows.items() if row.source in SYNCED_SOURCES and name not in declared
    ]
    if gone:
        Schedule.objects.using(alias).filter(name__in=gone, source__in=SYNCED_SOURCES).delete()
        result.removed.extend(gone)
    if result.added or result.changed or result.removed:
        logger.info(
            "schedules synced: added=%s changed=%s removed=%s",
            result.added,
            result.changed,
            result.removed,
        )
    return result
