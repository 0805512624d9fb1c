"""Cron expressions: parse, next tick, ticks between two instants, catch-up, validation.

Pure: no models, no database. Expressions use croniter's syntax: five fields
(minute hour day month weekday), or six with a seconds field *last*
(``"* * * * * */10"`` is every ten seconds), or a macro (``@hourly``, ``@daily``...).
Times are computed on the wall clock of the schedule's time zone and returned as
aware UTC datetimes.

Daylight saving time (the rule croniter applies, plus one of ours):
- a wall time that does not exist (spring forward, 02:30 on the night from 02:00 to
  03:00) runs once, at the first instant after the gap (03:00 new time);
- a wall time that happens twice (fall back, 02:30 on the night from 03:00 to 02:00)
  runs once, at its first occurrence, unless the hour field matches every hour
  (``*``, ``*/1``, ``0-23``): such a schedule runs in both passes of the repeated hour,
  so an every-minute or every-second schedule never pauses for an hour.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from .priority import MAX_PRIORITY, MIN_PRIORITY

CATCH_UP_MODES = ("latest", "all", "none")
# catch_up="all" enqueues at most this many missed ticks after one downtime (the latest
# ones); older ones are skipped and logged, so a long outage cannot flood a queue.
MAX_CATCH_UP = 100
# A tick this much older than now counts as missed (catch_up="none" skips it); a tick
# late by less (a busy host, a slow transaction) is still on time.
MISSED_AFTER = timedelta(seconds=10)
# The one-microsecond step that makes "at or before" out of croniter's "strictly before".
_EPSILON = timedelta(microseconds=1)


class CronError(ValueError):
    """A cron expression or time zone that cannot be used."""


@functools.cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CronError(f"{name!r} is not a known time zone") from exc


def validate_timezone(name: Any) -> ZoneInfo:
    """Return the ZoneInfo for ``name`` or raise CronError."""
    if not isinstance(name, str) or not name:
        raise CronError("the time zone must be a non-empty string such as 'Europe/Paris'")
    return _zone(name)


def validate_expression(expression: Any) -> str:
    """Return ``expression`` (stripped) if croniter accepts it as 5 or 6 fields or a macro."""
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("a cron expression must be a non-empty string such as '0 3 * * *'")
    text = " ".join(expression.split())
    fields = text.split(" ")
    if not text.startswith("@") and len(fields) not in (5, 6):
        raise CronError(
            f"{expression!r} has {len(fields)} fields; use 5 (minute hour day month weekday) "
            "or 6 (the same plus seconds, last)"
        )
    if not croniter.is_valid(text):
        raise CronError(f"{expression!r} is not a valid cron expression")
    return text


@dataclass(frozen=True)
class Cron:
    """A validated cron expression on the wall clock of one time zone."""

    expression: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "expression", validate_expression(self.expression))
        validate_timezone(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return _zone(self.timezone)

    @functools.cached_property
    def _every_hour(self) -> bool:
        hours = croniter(self.expression).expanded[1]
        return hours == ["*"] or len(set(hours)) == 24

    def _skip(self, tick: datetime) -> bool:
        """True for the second pass of a repeated wall time, unless the hour field is '*'."""
        if self._every_hour or tick.fold == 0:
            return False
        return tick.replace(fold=0).utcoffset() != tick.utcoffset()

    def next_after(self, moment: datetime) -> datetime:
        """Return the first tick strictly after ``moment`` (an aware datetime), in UTC."""
        iterator = croniter(self.expression, moment.astimezone(self.zone))
        while True:
            tick: datetime = iterator.get_next(datetime)
            if not self._skip(tick):
                return tick.astimezone(UTC)

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """Return the last tick at or before ``moment``, in UTC."""
        iterator = croniter(self.expression, (moment + _EPSILON).astimezone(self.zone))
        while True:
            tick: datetime = iterator.get_prev(datetime)
            if not self._skip(tick):
                return tick.astimezone(UTC)

    def ticks_between(
        self, start: datetime, end: datetime, *, limit: int = MAX_CATCH_UP
    ) -> list[datetime]:
        """Return the ticks ``t`` with ``start <= t <= end``, oldest first: the latest ``limit``."""
        ticks: list[datetime] = []
        if end < start or limit < 1:
            return ticks
        iterator = croniter(self.expression, (end + _EPSILON).astimezone(self.zone))
        while len(ticks) < limit:
            tick: datetime = iterator.get_prev(datetime)
            if tick < start:
                break
            if not self._skip(tick):
                ticks.append(tick.astimezone(UTC))
        ticks.reverse()
        return ticks


def due_ticks(cron: Cron, pending_since: datetime, now: datetime, catch_up: str) -> list[datetime]:
    """Return the ticks to enqueue now, of those due in [pending_since, now], oldest first.

    ``pending_since`` is the first tick not yet handled (the schedule's next run).
    ``latest`` keeps the most recent due tick, ``all`` every due tick (at most
    MAX_CATCH_UP, the latest ones), ``none`` only a due tick that is not missed (no
    older than MISSED_AFTER). Ticks before the first one returned are skipped for good.
    """
    if catch_up not in CATCH_UP_MODES:
        raise CronError(f"catch_up must be one of {', '.join(CATCH_UP_MODES)}, not {catch_up!r}")
    due = cron.ticks_between(pending_since, now, limit=MAX_CATCH_UP if catch_up == "all" else 1)
    if catch_up == "none":
        return [t for t in due if now - t <= MISSED_AFTER]
    return due


def validate_schedule_fields(
    *,
    task: Any = None,
    cron: Any = None,
    timezone: Any = "UTC",
    args: Any = (),
    kwargs: Any = None,
    queue: Any = "default",
    priority: Any = 0,
    catch_up: Any = "latest",
    enabled: Any = True,
    known_task: Any = None,
) -> dict[str, str]:
    """Return {field: error message} for a schedule's fields; empty when all are valid.

    ``known_task`` is an optional callable(name) -> bool that says whether a task is a
    registered job (the admin form and the system checks pass the registry's).
    """
    errors: dict[str, str] = {}
    if not isinstance(task, str) or not task:
        errors["task"] = "the task must be the dotted path of a @job function"
    elif known_task is not None and not known_task(task):
        errors["task"] = f"{task!r} is not a registered @job function"
    try:
        validate_expression(cron)
    except CronError as exc:
        errors["cron"] = str(exc)
    try:
        validate_timezone(timezone)
    except CronError as exc:
        errors["timezone"] = str(exc)
    if catch_up not in CATCH_UP_MODES:
        errors["catch_up"] = f"catch_up must be one of {', '.join(CATCH_UP_MODES)}"
    if not isinstance(args, list | tuple):
        errors["args"] = "args must be a list"
    if kwargs is not None and not (
        isinstance(kwargs, Mapping) and all(isinstance(k, str) for k in kwargs)
    ):
        errors["kwargs"] = "kwargs must be a dict with string keys"
    if not isinstance(queue, str) or not queue:
        errors["queue"] = "the queue must be a non-empty string"
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not MIN_PRIORITY <= priority <= MAX_PRIORITY
    ):
        errors["priority"] = f"the priority must be an int from {MIN_PRIORITY} to {MAX_PRIORITY}"
    if not isinstance(enabled, bool):
        errors["enabled"] = "enabled must be True or False"
    return errors
