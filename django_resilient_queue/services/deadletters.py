"""Dead letters: write one with the whole history of a job, and replay it."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.utils import timezone

from .. import conf, registry
from ..exceptions import UnknownTask
from ..models import Attempt, DeadLetter, Job
from ..poison import storable
from ..promises import expires_at_for, stall_seconds
from ..serialization import decode_arguments
from .results import ActionResult, id_batches


def _history(job: Job, using: str) -> list[dict[str, Any]]:
    return [
        {
            "number": a.number,
            "outcome": a.outcome,
            "started_at": a.started_at.isoformat() if a.started_at else None,
            "finished_at": a.finished_at.isoformat() if a.finished_at else None,
            "failure_category": a.failure_category,
            "error_type": a.error_type,
            "error_message": a.error_message,
            "traceback": a.traceback,
        }
        for a in Attempt.objects.using(using).filter(job_id=job.pk).order_by("id")
    ]


def create_dead_letter(job: Job, last: Attempt, *, reason: str, using: str) -> DeadLetter:
    """Keep everything needed to understand and replay ``job`` (call inside its transaction)."""
    return DeadLetter.objects.using(using).create(
        job_id=job.pk,
        task=job.task,
        queue=job.queue,
        priority=job.priority,
        # NOT NULL columns: a row from outside enqueue() may hold JSON null there.
        args=storable(job.args, []),
        kwargs=storable(job.kwargs, {}),
        reason=reason[:255],
        failure_category=last.failure_category,
        error_type=last.error_type,
        error_message=last.error_message,
        traceback=last.traceback,
        attempts=job.attempts,
        history=_history(job, using),
    )


class AlreadyReplayed(Exception):
    """The dead letter was replayed before; replay the newer dead letter instead."""


def replay_dead_letter(
    dead_letter: DeadLetter, by: Any = None, *, keep_checkpoint: bool = False
) -> Job:
    """Enqueue a fresh attempt cycle of ``dead_letter`` and return the new, queued Job.

    The replay starts clean (``context.last_checkpoint`` is None) unless ``keep_checkpoint``
    carries over the original job's last checkpoint (while retention keeps that job).
    """
    from ..enqueue import enqueue_row

    if not registry.is_registered(dead_letter.task):
        raise UnknownTask(f"{dead_letter.task} is not a registered @job; it cannot be replayed")
    definition = registry.lookup(dead_letter.task)
    alias = router.db_for_write(DeadLetter)
    with transaction.atomic(using=alias):
        locked = DeadLetter.objects.using(alias).select_for_update().get(pk=dead_letter.pk)
        # replayed_at, not replayed_job: retention may have deleted the replay's job
        # (replayed_job is then NULL), and the dead letter must stay replayed.
        if locked.replayed_at is not None:
            raise AlreadyReplayed(
                f"dead letter #{locked.pk} was replayed at {locked.replayed_at.isoformat()}"
            )
        original_timeout, checkpoint = (
            Job.objects.using(alias)
            .filter(pk=locked.job_id or 0)
            .values_list("timeout", "checkpoint")
            .first()
        ) or (None, None)
        retry = definition.retry or conf.default_retry()
        keys = None
        if definition.is_gated:
            # The replay is held by the same breaker and limits as the original.
            args, kwargs = decode_arguments(locked.args, locked.kwargs)
            keys = definition.gate_keys(args, kwargs)
        new_job = enqueue_row(
            gate_keys=keys,
            task=locked.task,
            args=locked.args,
            kwargs=locked.kwargs,
            queue=locked.queue,
            priority=locked.priority,
            max_attempts=retry.max_attempts,
            timeout=original_timeout or conf.default_timeout(),
            alias=alias,
            checkpoint=checkpoint if keep_checkpoint else None,
            stall_timeout=stall_seconds(definition),
            expires_at=expires_at_for(definition, timezone.now()),
        )
        locked.replayed_at = timezone.now()
        locked.replayed_by = by if getattr(by, "pk", None) is not None else None
        locked.replayed_job = new_job
        locked.save(update_fields=["replayed_at", "replayed_by", "replayed_job"])
    for field in ("replayed_at", "replayed_by_id", "replayed_job_id"):
        setattr(dead_letter, field, getattr(locked, field))
    return new_job


def replay_many(
    *,
    task: str | None = None,
    category: str | None = None,
    since: Any = None,
    limit: int | None = None,
    dry_run: bool = False,
    by: Any = None,
) -> tuple[list[tuple[int, int | None]], list[tuple[int, str]]]:
    """Replay the matching dead letters not yet replayed, oldest first.

    Return ([(dead letter id, new job id)], [(dead letter id, why skipped)]).
    """
    letters = DeadLetter.objects.filter(replayed_at__isnull=True).order_by("created_at", "id")
    if task:
        letters = letters.filter(task=task)
    if category:
        letters = letters.filter(failure_category=str(category))
    if since is not None:
        letters = letters.filter(created_at__gte=since)
    if limit:
        letters = letters[:limit]
    replayed: list[tuple[int, int | None]] = []
    skipped: list[tuple[int, str]] = []
    for letter in letters:
        if dry_run:
            replayed.append((letter.pk, None))
            continue
        try:
            replayed.append((letter.pk, replay_dead_letter(letter, by=by).pk))
        except (UnknownTask, AlreadyReplayed) as exc:
            skipped.append((letter.pk, str(exc)))
    return replayed, skipped


def replay_dead_letters(
    letters: Any, *, by: Any = None, keep_checkpoint: bool = False
) -> ActionResult:
    """Replay each selected dead letter once; replayed ones and unknown tasks are not eligible.

    ``keep_checkpoint`` lets each replay resume from its original job's last checkpoint.
    """
    total = ActionResult()
    for batch in id_batches(DeadLetter, letters):
        pending = DeadLetter.objects.filter(pk__in=batch, replayed_at__isnull=True)
        replayed: list[int] = []
        for letter in pending.order_by("pk"):
            try:
                replay_dead_letter(letter, by=by, keep_checkpoint=keep_checkpoint)
            except (UnknownTask, AlreadyReplayed):
                continue
            replayed.append(letter.pk)
        total += ActionResult(len(replayed), len(batch) - len(replayed), tuple(replayed))
    return total


def discard_dead_letters(letters: Any, *, by: Any = None) -> ActionResult:
    """Delete the selected dead letters (their failed jobs stay as they are)."""
    alias = router.db_for_write(DeadLetter)
    total = ActionResult()
    for batch in id_batches(DeadLetter, letters):
        with transaction.atomic(using=alias):
            deleted, _ = DeadLetter.objects.using(alias).filter(pk__in=batch).delete()
            total += ActionResult(deleted, len(batch) - deleted, tuple(batch) if deleted else ())
    return total
