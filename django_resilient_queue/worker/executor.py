"""Run ONE job and say how it went, as an Outcome; the executor writes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import traceback as tb
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.utils import timezone

from .. import conf, registry
from ..context import JobContext
from ..definition import JobDefinition
from ..exceptions import Discard, RetryLater, UnknownTask
from ..failures import FailureCategory, classify
from ..models import Job
from ..poison import row_problem
from ..redaction import redact_text
from ..serialization import decode_arguments, encode_result
from ..signals import send_started
from . import expiry, stalls
from .timeouts import ASYNC_INTERRUPT_DELAY, SoftTimeout, soft_timeout


class OutcomeKind(StrEnum):
    """How a run ended; where an Attempt is written, its ``AttemptOutcome`` has the same value."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    RELEASED = "released"  # a graceful stop: back to the queue, no attempt used
    ABANDONED = "abandoned"  # its worker was lost: a stall
    UNSTARTED = "unstarted"  # claimed ahead, never run: back as if never claimed, no Attempt
    CANCELLED = "cancelled"  # an operator stopped it
    EXPIRED = "expired"  # claimed after its expires_at: ends cancelled without a run, no Attempt


# The outcomes that say nothing about the job's dependency: its breaker ignores them.
SAYS_NOTHING_OF_THE_DEPENDENCY = frozenset(
    {
        OutcomeKind.RELEASED,
        OutcomeKind.ABANDONED,
        OutcomeKind.UNSTARTED,
        OutcomeKind.CANCELLED,
        OutcomeKind.EXPIRED,
    }
)
# The outcomes after which a unit's job needs nothing more: a success, or an expiry.
ENDED_WITHOUT_FAILURE = frozenset({OutcomeKind.SUCCEEDED, OutcomeKind.EXPIRED})
# The outcomes of a job that did not run to an end: not counted as processed.
NOT_PROCESSED = frozenset({OutcomeKind.RELEASED, OutcomeKind.UNSTARTED, OutcomeKind.EXPIRED})


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """The closed set of ways a run ends, with what the outcome writer needs."""

    kind: OutcomeKind
    started_at: datetime
    finished_at: datetime
    result: Any = None
    category: FailureCategory | None = None
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""
    retry_requested: bool = False  # RetryLater: retry under the job's own policy
    retry_delay: float | None = None
    no_retry: bool = False
    reason: str = ""
    split: bool = False  # a failed batch: each item goes back to run alone

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, started_at: datetime, category: FailureCategory, **extra: Any
    ) -> Outcome:
        """Describe a failed run from the exception it raised."""
        return cls(
            kind=OutcomeKind.FAILED,
            started_at=started_at,
            finished_at=timezone.now(),
            category=category,
            error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
            error_message=str(exc)[:10_000],
            traceback="".join(tb.format_exception(exc))[-50_000:],
            **extra,
        )

    @classmethod
    def lost(cls, kind: OutcomeKind, started_at: datetime | None, message: str) -> Outcome:
        """Describe a run that the supervisor or reaper ended from outside."""
        now = timezone.now()
        return cls(
            kind=kind,
            started_at=started_at or now,
            finished_at=now,
            category=FailureCategory.TIMEOUT if kind == OutcomeKind.TIMEOUT else None,
            error_type="TimeoutError" if kind == OutcomeKind.TIMEOUT else "",
            error_message=message,
        )


def _classify(exc: BaseException, definition: JobDefinition) -> FailureCategory:
    return classify(exc, definition.classify, conf.exception_categories())


def _call(
    definition: JobDefinition,
    args: list[Any],
    kwargs: dict[str, Any],
    deadline: float,
    watch: stalls.StallWatch | None = None,
) -> Any:
    if definition.is_async:
        coroutine = definition.func(*args, **kwargs)
        if watch is not None:
            return asyncio.run(stalls.run_watched(coroutine, watch))
        remaining = max(0.001, deadline - timezone.now().timestamp())
        return asyncio.run(asyncio.wait_for(coroutine, timeout=remaining))
    return definition.func(*args, **kwargs)


def execute_unit(
    unit: list[Job], deadline: float, on_deadline: Callable[[float], None] | None = None
) -> list[Outcome]:
    """Run one job, or one batch, and return an Outcome per job.

    ``on_deadline`` is told when the run's deadline moves (a stall timeout's does).
    """
    refused = [refuse_poison(job) for job in unit]
    if any(refused):  # poison rows never run; the rest of the unit does
        healthy = [job for job, outcome in zip(unit, refused, strict=True) if outcome is None]
        ran = iter(execute_unit(healthy, deadline) if healthy else [])
        return [outcome or next(ran) for outcome in refused]
    now = timezone.now()
    if any(expiry.is_expired(job, now) for job in unit):
        return _execute_unexpired(unit, deadline, now)
    first = unit[0]
    definition = registry.find(first.task)
    if definition is not None and definition.is_batch:
        return execute_batch(unit, deadline)
    return [execute(first, deadline, on_deadline)]


def _execute_unexpired(unit: list[Job], deadline: float, now: datetime) -> list[Outcome]:
    """A job claimed after its expiry never runs; the others of its unit do."""
    live = [job for job in unit if not expiry.is_expired(job, now)]
    ran = iter(execute_unit(live, deadline) if live else [])
    return [
        Outcome(kind=OutcomeKind.EXPIRED, started_at=now, finished_at=now, reason=expiry.REASON)
        if expiry.is_expired(job, now)
        else next(ran)
        for job in unit
    ]


def execute_batch(unit: list[Job], deadline: float) -> list[Outcome]:
    """Call a batch function once with every job's argument; split the batch if it fails."""
    definition = registry.lookup(unit[0].task)
    started_at = timezone.now()
    for job in unit:
        send_started(job)
    try:
        with soft_timeout(deadline):
            items = [decode_arguments(job.args, {})[0][0] for job in unit]
            result = _call(definition, [items], {}, deadline)
    except (TimeoutError, SoftTimeout):
        failed = Outcome.lost(
            OutcomeKind.TIMEOUT, started_at, f"the batch ran past its timeout of {unit[0].timeout}s"
        )
    except Exception as exc:
        failed = Outcome.from_exception(
            exc, started_at=started_at, category=_classify(exc, definition)
        )
    else:
        finished_at = timezone.now()
        per_item = (
            result
            if isinstance(result, list) and len(result) == len(unit)
            else [result] * len(unit)
        )
        return [
            Outcome(
                kind=OutcomeKind.SUCCEEDED,
                started_at=started_at,
                finished_at=finished_at,
                result=encode_result(r),
            )
            for r in per_item
        ]
    if len(unit) == 1:
        return [failed]
    reason = f"a batch of {len(unit)} failed ({failed.error_type}); each item is retried alone"
    return [
        dataclasses.replace(failed, kind=OutcomeKind.RELEASED, split=True, reason=reason)
        for _ in unit
    ]


def interrupt_delay(job: Job) -> float:
    """How long after its deadline a run may be interrupted from outside its own code.

    Zero for a sync job; an async job's event loop stops it on time by itself.
    """
    try:
        definition = registry.lookup(job.task)
    except UnknownTask:
        return 0.0
    return ASYNC_INTERRUPT_DELAY if definition.is_async else 0.0


def refuse_poison(job: Job) -> Outcome | None:
    """A VALIDATION failure, never retried, for a row whose arguments cannot be called."""
    problem = row_problem(job.args, job.kwargs)
    if problem is None:
        return None
    now = timezone.now()
    return Outcome(
        kind=OutcomeKind.FAILED,
        started_at=now,
        finished_at=now,
        category=FailureCategory.VALIDATION,
        error_type="PoisonRow",
        error_message=problem,
        no_retry=True,
        reason=problem,
    )


def execute(
    job: Job, deadline: float, on_deadline: Callable[[float], None] | None = None
) -> Outcome:
    """Run ``job`` until it returns, raises, or passes ``deadline`` (epoch seconds)."""
    refused = refuse_poison(job)
    if refused is not None:
        return refused
    started_at = timezone.now()
    send_started(job)
    watch = stalls.start(job, deadline, on_deadline)
    try:
        outcome = _execute(job, deadline, started_at, watch)
    finally:
        if watch is not None:
            watch.finish()
    if outcome.error_message or outcome.traceback:
        # Attempts, dead letters, the admin, logs and alerts all show these texts.
        outcome = dataclasses.replace(
            outcome,
            error_message=redact_text(job.task, job.args, job.kwargs, outcome.error_message),
            traceback=redact_text(job.task, job.args, job.kwargs, outcome.traceback),
        )
    return outcome


def _execute(
    job: Job, deadline: float, started_at: datetime, watch: stalls.StallWatch | None
) -> Outcome:
    try:
        definition = registry.lookup(job.task)
    except UnknownTask as exc:
        return Outcome.from_exception(
            exc,
            started_at=started_at,
            category=FailureCategory.VALIDATION,
            no_retry=True,
            reason="unknown task",
        )
    delay = interrupt_delay(job)
    if watch is not None:
        watch.interrupt_delay = delay
    try:
        with soft_timeout((watch.deadline if watch else deadline) + delay):
            args, kwargs = decode_arguments(job.args, job.kwargs)
            if definition.takes_context:
                progressed = watch.progressed if watch else None
                args.insert(0, JobContext(job=job, attempt=job.attempts, on_progress=progressed))
            result = _call(definition, args, kwargs, deadline, watch)
    except (TimeoutError, SoftTimeout) as exc:
        if watch is not None and watch.stalled():
            return Outcome(
                kind=OutcomeKind.TIMEOUT,
                started_at=started_at,
                finished_at=timezone.now(),
                category=FailureCategory.TIMEOUT,
                error_type=stalls.ERROR_TYPE,
                error_message=stalls.stall_message(job),
            )
        if isinstance(exc, asyncio.TimeoutError) and timezone.now().timestamp() < deadline:
            return Outcome.from_exception(
                exc, started_at=started_at, category=_classify(exc, definition)
            )
        return Outcome.lost(
            OutcomeKind.TIMEOUT, started_at, f"ran past its timeout of {job.timeout}s"
        )
    except RetryLater as exc:
        return Outcome.from_exception(
            exc,
            started_at=started_at,
            category=FailureCategory.UNKNOWN,
            retry_requested=True,
            retry_delay=exc.delay,
        )
    except Discard as exc:
        return Outcome.from_exception(
            exc,
            started_at=started_at,
            category=_classify(exc, definition),
            no_retry=True,
            reason=f"discarded: {exc}",
        )
    except Exception as exc:
        return Outcome.from_exception(
            exc, started_at=started_at, category=_classify(exc, definition)
        )
    return Outcome(
        kind=OutcomeKind.SUCCEEDED,
        started_at=started_at,
        finished_at=timezone.now(),
        result=encode_result(result),
    )
