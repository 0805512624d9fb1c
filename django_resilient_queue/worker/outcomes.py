"""Apply an Outcome in ONE transaction, only if this run still owns the job (fencing token)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F

from .. import conf, registry
from ..alerts.store import raise_alert, resolve_alert
from ..counters import count_outcomes
from ..db import dialect_for
from ..db.base import SuccessfulRun
from ..definition import JobDefinition
from ..failures import FailureCategory, policy_for
from ..models import AlertKind, AlertSeverity, Attempt, AttemptOutcome, Job, JobStatus
from ..protection import breaker, limits
from ..services.deadletters import create_dead_letter
from ..signals import send_finished
from . import expiry
from .callbacks import enqueue_callback
from .executor import SAYS_NOTHING_OF_THE_DEPENDENCY, Outcome, OutcomeKind

logger = logging.getLogger("django_resilient_queue.worker")


@dataclass(frozen=True)
class RetryDecision:
    """Whether a failed run is retried, after how long, or why not."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


def decide_retry(job: Job, outcome: Outcome, definition: JobDefinition | None) -> RetryDecision:
    """Apply the category's policy, RetryLater, Discard and give_up_after to a failed run."""
    if outcome.no_retry:
        return RetryDecision(False, reason=outcome.reason or "not retryable")
    job_retry = (definition.retry if definition else None) or conf.default_retry()
    category = outcome.category or FailureCategory.UNKNOWN
    if outcome.retry_requested:
        policy = job_retry
    else:
        policy = policy_for(category, job_retry, conf.failure_policies())
    failed_runs = job.attempts - job.stalls
    if failed_runs >= policy.max_attempts:
        if policy.max_attempts <= 1 and not outcome.retry_requested:
            return RetryDecision(False, reason=f"{category.value} failures are not retried")
        return RetryDecision(False, reason=f"retries exhausted after {failed_runs} failed runs")
    if outcome.retry_delay is not None:
        delay = float(outcome.retry_delay)
    else:
        delay = policy.backoff.delay(failed_runs)
    if policy.give_up_after is not None and job.first_started_at is not None:
        next_start = outcome.finished_at + timedelta(seconds=delay)
        if next_start - job.first_started_at > policy.give_up_after:
            return RetryDecision(False, reason=f"gave up after {policy.give_up_after}")
    return RetryDecision(True, delay=delay)


def _attempt(job: Job, outcome: Outcome, kind: str) -> Attempt:
    return Attempt(
        job_id=job.pk,
        number=job.attempts,
        worker_id=job.worker_id,
        # When the run really began (a prefetched job starts a little after its claim).
        started_at=outcome.started_at or job.started_at,
        finished_at=outcome.finished_at,
        outcome=kind,
        failure_category=outcome.category.value if outcome.category else "",
        error_type=outcome.error_type[:255],
        error_message=outcome.error_message,
        traceback=outcome.traceback,
    )


def _callback_payload(job: Job, outcome: Outcome, status: str) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "task": job.task,
        "status": status,
        "result": outcome.result,
        "failure_category": outcome.category.value if outcome.category else None,
        "error_type": outcome.error_type or None,
        "error_message": outcome.error_message or None,
    }


def release_gates(
    job: Job, definition: JobDefinition | None, outcome: Outcome, freed: dict[str, int]
) -> None:
    """The run ended: count the concurrency place it held in ``freed``; tell its breaker."""
    if job.concurrency_key and job.holds_place:
        freed[job.concurrency_key] = freed.get(job.concurrency_key, 0) + 1
    config = definition.breaker_config if definition else None
    if not job.breaker_key or config is None:
        return
    if outcome.kind in SAYS_NOTHING_OF_THE_DEPENDENCY:
        # Says nothing about the dependency; if it was a trial (perhaps admitted by a
        # process that is gone), its place is given back.
        breaker.unadmit(job)
        return
    change = breaker.record(
        job,
        config,
        succeeded=outcome.kind == OutcomeKind.SUCCEEDED,
        category=outcome.category,
        now=outcome.finished_at,
    )
    fingerprint = f"BREAKER_OPEN:{job.breaker_key}"
    if change == "opened":
        raise_alert(
            AlertKind.BREAKER_OPEN,
            AlertSeverity.HIGH,
            f"Circuit breaker {job.breaker_key!r} opened: its jobs wait in the queue.",
            fingerprint=fingerprint,
            context={"key": job.breaker_key, "task": job.task},
        )
    elif change == "closed":
        resolve_alert(fingerprint)


def apply_outcome(job: Job, outcome: Outcome) -> bool:
    """Write ``outcome``; return False (writing nothing) when this run lost the job."""
    return apply_outcomes([(job, outcome)])[0]


def apply_outcomes(pairs: list[tuple[Job, Outcome]]) -> list[bool]:
    """Write many outcomes in ONE transaction (one commit); each is still fenced on its own."""
    alias = router.db_for_write(Job)
    freed: dict[str, int] = {}
    written: dict[int, bool] = {}
    with transaction.atomic(using=alias):
        successes = [
            i for i, (_, outcome) in enumerate(pairs) if outcome.kind == OutcomeKind.SUCCEEDED
        ]
        if len(successes) > 1:
            written.update(_apply_successes(pairs, successes, alias, freed))
        for i, (job, outcome) in enumerate(pairs):
            if i not in written:
                written[i] = _apply(job, outcome, alias, freed)
        limits.release_concurrency(freed)
        count_outcomes(pairs, [written[i] for i in range(len(pairs))], alias)
        # On commit: a receiver sees the outcome written, never one rolled back.
        send_finished(
            ((job, outcome.kind) for i, (job, outcome) in enumerate(pairs) if written[i]), alias
        )
    return [written[i] for i in range(len(pairs))]


def _apply_successes(
    pairs: list[tuple[Job, Outcome]], indexes: list[int], alias: str, freed: dict[str, int]
) -> dict[int, bool]:
    """Write many successes with one fenced UPDATE and one INSERT of their Attempt rows."""
    runs = [
        SuccessfulRun(
            job.pk,
            job.run,
            outcome.result,
            outcome.started_at or job.started_at,
            outcome.finished_at,
        )
        for job, outcome in (pairs[i] for i in indexes)
    ]
    dialect = dialect_for(connections[alias])
    done = dialect.mark_succeeded(runs)
    if done is None:
        return {}  # unsupported here: the caller writes them one by one
    attempts = []
    for i in indexes:
        job, outcome = pairs[i]
        if job.pk not in done:
            continue
        if not dialect.records_success_attempts:
            attempts.append(_attempt(job, outcome, AttemptOutcome.SUCCEEDED))
        definition = registry.find(job.task)
        release_gates(job, definition, outcome, freed)
        if definition and definition.on_success:
            enqueue_callback(definition.on_success, _callback_payload(job, outcome, "succeeded"))
    if attempts:
        Attempt.objects.using(alias).bulk_create(attempts)
    return {i: pairs[i][0].pk in done for i in indexes}


def _apply(job: Job, outcome: Outcome, alias: str, freed: dict[str, int]) -> bool:
    """Write one outcome inside the caller's transaction."""
    definition = registry.find(job.task)
    fence = Job.objects.using(alias).run_of(job.pk, job.run)
    return HANDLERS[outcome.kind](job, outcome, definition, fence, alias, freed)


def _apply_succeeded(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    if not fence.update(
        status=JobStatus.SUCCEEDED,
        result=outcome.result,
        finished_at=outcome.finished_at,
        lease_expires_at=None,
    ):
        return False
    _attempt(job, outcome, AttemptOutcome.SUCCEEDED).save(using=alias)
    release_gates(job, definition, outcome, freed)
    if definition and definition.on_success:
        enqueue_callback(definition.on_success, _callback_payload(job, outcome, "succeeded"))
    return True


def _apply_released(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    """A graceful stop: back to the queue, and it never uses an attempt."""
    changes: dict[str, Any] = {"solo": True} if outcome.split else {}
    if not fence.update(
        status=JobStatus.QUEUED,
        attempts=F("attempts") - 1,
        lease_expires_at=None,
        worker_id=None,
        run_after=outcome.finished_at,
        **changes,
    ):
        return False
    _attempt(job, outcome, AttemptOutcome.RELEASED).save(using=alias)
    release_gates(job, definition, outcome, freed)
    return True


def _apply_unstarted(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    """Claimed ahead and never run: back as if never claimed, with no Attempt."""
    if not fence.unclaim(status=JobStatus.QUEUED, lease_expires_at=None, worker_id=None):
        return False
    release_gates(job, definition, outcome, freed)
    return True


def _apply_expired(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    if not expiry.write_expired(fence, outcome.finished_at):
        return False
    release_gates(job, definition, outcome, freed)
    logger.info("job id=%s task=%s expired before it started", job.pk, job.task)
    return True


def _apply_cancelled(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    """An operator stopped it (worker/cancellation.py): it never comes back to the queue."""
    if not fence.update(
        status=JobStatus.CANCELLED,
        finished_at=outcome.finished_at,
        lease_expires_at=None,
        reason="cancelled",
    ):
        return False
    _attempt(job, outcome, AttemptOutcome.CANCELLED).save(using=alias)
    release_gates(job, definition, outcome, freed)
    return True


def _apply_failure(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    kind = AttemptOutcome.TIMEOUT if outcome.kind == OutcomeKind.TIMEOUT else AttemptOutcome.FAILED
    decision = decide_retry(job, outcome, definition)
    now = outcome.finished_at
    if decision.retry:
        updated = fence.update(
            status=JobStatus.QUEUED,
            run_after=now + timedelta(seconds=decision.delay),
            lease_expires_at=None,
            worker_id=None,
        )
    else:
        updated = fence.update(status=JobStatus.FAILED, finished_at=now, lease_expires_at=None)
    if not updated:
        return False
    attempt = _attempt(job, outcome, kind)
    attempt.save(using=alias)
    release_gates(job, definition, outcome, freed)
    if not decision.retry:
        create_dead_letter(job, attempt, reason=decision.reason or outcome.reason, using=alias)
        if definition and definition.on_failure:
            enqueue_callback(definition.on_failure, _callback_payload(job, outcome, "failed"))
    logger.info(
        "job id=%s task=%s outcome=%s category=%s retry=%s",
        job.pk,
        job.task,
        kind,
        outcome.category,
        decision.retry,
    )
    return True


def _apply_abandoned(
    job: Job,
    outcome: Outcome,
    definition: JobDefinition | None,
    fence: Any,
    alias: str,
    freed: dict[str, int],
) -> bool:
    """A run lost with its worker: counted as a stall; MAX_STALLS of them dead-letter the job."""
    stalls = job.stalls + 1
    if stalls >= conf.max_stalls():
        updated = fence.update(
            status=JobStatus.FAILED,
            stalls=stalls,
            finished_at=outcome.finished_at,
            lease_expires_at=None,
        )
    else:
        updated = fence.update(
            status=JobStatus.QUEUED,
            stalls=stalls,
            run_after=outcome.finished_at,
            lease_expires_at=None,
            worker_id=None,
        )
    if not updated:
        return False
    attempt = _attempt(job, outcome, AttemptOutcome.ABANDONED)
    attempt.save(using=alias)
    release_gates(job, definition, outcome, freed)
    if stalls >= conf.max_stalls():
        create_dead_letter(job, attempt, reason="worker lost", using=alias)
        if definition and definition.on_failure:
            enqueue_callback(definition.on_failure, _callback_payload(job, outcome, "failed"))
    logger.warning("job id=%s task=%s abandoned (stall %s)", job.pk, job.task, stalls)
    return True


Handler = Callable[[Job, Outcome, JobDefinition | None, Any, str, dict[str, int]], bool]
# One writer per kind: each updates the row through the fence (returning False, writing
# nothing, when this run lost the job), writes its Attempt if the kind has one, and gives
# back the places the run held.
HANDLERS: dict[OutcomeKind, Handler] = {
    OutcomeKind.SUCCEEDED: _apply_succeeded,
    OutcomeKind.FAILED: _apply_failure,
    OutcomeKind.TIMEOUT: _apply_failure,
    OutcomeKind.RELEASED: _apply_released,
    OutcomeKind.ABANDONED: _apply_abandoned,
    OutcomeKind.UNSTARTED: _apply_unstarted,
    OutcomeKind.CANCELLED: _apply_cancelled,
    OutcomeKind.EXPIRED: _apply_expired,
}
