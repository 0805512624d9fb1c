"""Build Job rows and insert them in the caller's transaction; wake workers on commit."""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import signals
from django.utils import timezone

from . import conf
from . import signals as queue_signals
from .db import dialect_for
from .models import Job, JobStatus
from .promises import expires_at_for, stall_seconds
from .protection import backpressure
from .serialization import encode_arguments

if TYPE_CHECKING:
    from .definition import JobDefinition

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
BULK_BATCH_SIZE = 1000


def _resolve_run_after(value: datetime | timedelta | None, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, timedelta):
        return now + value
    if timezone.is_naive(value):
        raise ValueError("run_after must be an aware datetime (USE_TZ) or a timedelta")
    return value


def _resolve_timeout(
    definition: JobDefinition, args: Sequence[Any], kwargs: dict[str, Any]
) -> float:
    value = definition.timeout
    if callable(value) and not isinstance(value, timedelta):
        value = value(**definition.named_arguments(args, kwargs))
    if value is None:
        return conf.default_timeout()
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise ValueError(f"{definition.name}: timeout must be positive, not {seconds}")
    return seconds


def _unique_key(definition: JobDefinition, args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    if definition.unique_key is not None:
        return str(definition.unique_key(**definition.named_arguments(args, kwargs)))
    encoded = encode_arguments(definition.name, args, kwargs)
    return json.dumps(encoded, sort_keys=True, separators=(",", ":"))


def unique_lock_for(task: str, key: str) -> str:
    """Return the value of the UNIQUE column that an active job of (task, key) holds."""
    return hashlib.sha256(f"{task}\x00{key}".encode()).hexdigest()


@functools.cache
def _job_layout() -> tuple[list[Any], dict[str, int]]:
    """Job's field defaults in concrete-field order, and each field's position.

    Positional values are Model.__init__'s fast path, without a default lookup per field
    left out (a third of a bulk enqueue's Python time). The mutable and time-dependent
    defaults here are always replaced by the builder.
    """
    fields = Job._meta.concrete_fields
    return [f.get_default() for f in fields], {f.attname: i for i, f in enumerate(fields)}


class JobBuilder:
    """Build unsaved Jobs of one definition; what every call shares is resolved once."""

    def __init__(self, definition: JobDefinition, now: datetime) -> None:
        self.definition = definition
        self.now = now
        self.constant_timeout = not (
            callable(definition.timeout) and not isinstance(definition.timeout, timedelta)
        )
        defaults, self._at = _job_layout()
        self._values = defaults.copy()
        for name, value in {
            "task": definition.name,
            "queue": definition.queue or conf.default_queue(),
            "priority": int(definition.priority),
            "status": JobStatus.QUEUED,
            "run_after": _resolve_run_after(definition.run_after, now),
            "max_attempts": (definition.retry or conf.default_retry()).max_attempts,
            "timeout": _resolve_timeout(definition, (), {}) if self.constant_timeout else None,
            "created_at": now,
            "expires_at": expires_at_for(definition, now),
            "stall_timeout": stall_seconds(definition),
        }.items():
            self._values[self._at[name]] = value

    def build(self, args: Sequence[Any], kwargs: dict[str, Any]) -> Job:
        """Return an unsaved Job for this call, or raise TypeError/ValueError for bad input."""
        definition = self.definition
        encoded_args, encoded_kwargs = encode_arguments(definition.name, args, kwargs)
        if definition.is_batch and (len(args) != 1 or kwargs):
            raise TypeError(
                f"{definition.name}: a batch job takes exactly one positional argument per enqueue"
            )
        values = self._values.copy()
        at = self._at
        values[at["args"]] = encoded_args
        values[at["kwargs"]] = encoded_kwargs
        values[at["progress"]] = {}
        if not self.constant_timeout:
            values[at["timeout"]] = _resolve_timeout(definition, args, kwargs)
        job = Job(*values)  # type: ignore[misc]  # positional: every concrete field, in order
        if definition.is_gated:
            for column, value in definition.gate_keys(args, kwargs).items():
                setattr(job, column, value)
        if definition.is_unique:
            key = _unique_key(definition, args, kwargs)
            job.unique_key = key[:255]
            job.unique_lock = unique_lock_for(definition.name, key)
            if definition.unique_for is not None:
                job.unique_until = self.now + definition.unique_for
        return job


def build_job(
    definition: JobDefinition, args: Sequence[Any], kwargs: dict[str, Any], now: datetime
) -> Job:
    """Return an unsaved Job for this call, or raise TypeError/ValueError for bad input."""
    return JobBuilder(definition, now).build(args, kwargs)


def _insert_unique(job: Job, alias: str, now: datetime) -> Job:
    """Insert ``job`` or return the job that already holds its key (the database decides)."""
    for _ in range(5):
        try:
            with transaction.atomic(using=alias):
                job.save(force_insert=True, using=alias)
            return job
        except IntegrityError:
            # A locking read sees the latest committed row even under REPEATABLE READ.
            holder = (
                Job.objects.using(alias)
                .select_for_update()
                .filter(unique_lock=job.unique_lock)
                .first()
            )
            if holder is None:
                continue
            still_held = holder.status in ACTIVE_STATUSES or (
                holder.unique_until is not None and holder.unique_until > now
            )
            if still_held:
                return holder
            Job.objects.using(alias).filter(pk=holder.pk, unique_lock=job.unique_lock).update(
                unique_lock=None
            )
    raise RuntimeError(f"{job.task}: could not settle the unique key {job.unique_key!r}")


def _apply_backpressure(jobs: list[Job], now: datetime) -> None:
    """Defer (or refuse with QueueFull) enqueues into queues above their fill thresholds."""
    ahead: dict[str, int] = {}
    limits_of: dict[str, backpressure.QueueLimits | None] = {}
    for job in jobs:
        if job.queue not in limits_of:
            limits_of[job.queue] = backpressure.QueueLimits.from_options(
                conf.queue_options(job.queue)
            )
        limits = limits_of[job.queue]
        if limits is None:
            continue
        deferral = backpressure.check(job.queue, job.priority, limits, ahead.get(job.queue, 0))
        ahead[job.queue] = ahead.get(job.queue, 0) + 1
        if deferral is not None:
            job.run_after = max(job.run_after, now + deferral)


def _save_signals_connected() -> bool:
    """True when a receiver listens to Job's pre_save/post_save: only save() sends them."""
    return signals.pre_save.has_listeners(Job) or signals.post_save.has_listeners(Job)


def enqueue_one(
    definition: JobDefinition,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    apply_backpressure: bool = True,
) -> Job:
    """Insert one job (or return the holder of its unique key) and wake workers on commit."""
    definition.check_arguments(args, kwargs)
    now = timezone.now()
    job = build_job(definition, args, kwargs, now)
    if apply_backpressure:
        _apply_backpressure([job], now)
    alias = router.db_for_write(Job)
    # No wake-up to send: on PostgreSQL the table's insert trigger sends it (delivered
    # on commit); elsewhere idle workers poll.
    if job.unique_lock is not None:
        with transaction.atomic(using=alias):
            saved = _insert_unique(job, alias, now)
        if saved is not job:
            return saved
    elif _save_signals_connected() or dialect_for(connections[alias]).bulk_insert([job]) is None:
        job.save(force_insert=True, using=alias)
    backpressure.note_enqueued(job.queue, 1)
    queue_signals.send_enqueued([job], alias)
    return job


def enqueue_many(
    definition: JobDefinition, calls: Sequence[tuple[Sequence[Any], dict[str, Any]]]
) -> list[Job]:
    """Insert many jobs with one INSERT per batch; unique jobs go one by one."""
    for args, kwargs in calls:
        definition.check_arguments(args, kwargs)
    now = timezone.now()
    builder = JobBuilder(definition, now)
    jobs = [builder.build(args, kwargs) for args, kwargs in calls]
    _apply_backpressure(jobs, now)
    alias = router.db_for_write(Job)
    results: list[Job] = []
    with transaction.atomic(using=alias):
        plain = [j for j in jobs if j.unique_lock is None]
        dialect = dialect_for(connections[alias])
        created = dialect.bulk_insert(plain)
        if created is None:
            created = Job.objects.using(alias).bulk_create(plain, batch_size=BULK_BATCH_SIZE)
        by_identity = {id(j): j for j in created}
        for job in jobs:
            if job.unique_lock is None:
                results.append(by_identity.get(id(job), job))
            else:
                results.append(_insert_unique(job, alias, now))
    for queue, count in Counter(job.queue for job in jobs).items():
        backpressure.note_enqueued(queue, count)
    # Only the new rows: a unique job whose key was held returned its holder instead.
    fresh = {id(job) for job in jobs}
    queue_signals.send_enqueued([job for job in results if id(job) in fresh], alias)
    return results


def enqueue_row(
    *,
    task: str,
    args: list[Any],
    kwargs: dict[str, Any],
    queue: str,
    priority: int,
    max_attempts: int,
    timeout: float | None,
    run_after: datetime | None = None,
    alias: str | None = None,
    gate_keys: dict[str, str | None] | None = None,
    **extra: Any,
) -> Job:
    """Insert a job from already-encoded arguments (replays, schedules)."""
    alias = alias or router.db_for_write(Job)
    now = timezone.now()
    job = Job(
        task=task,
        queue=queue,
        priority=priority,
        args=args,
        kwargs=kwargs,
        run_after=run_after or now,
        max_attempts=max_attempts,
        timeout=timeout,
        created_at=now,
        **(gate_keys or {}),
        **extra,  # other Job fields (expires_at, stall_timeout, checkpoint)
    )
    job.save(force_insert=True, using=alias)
    queue_signals.send_enqueued([job], alias)
    return job
