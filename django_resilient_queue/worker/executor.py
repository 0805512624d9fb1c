"""Run ONE job and say how it went, as an Outcome; the executor writes nothing."""

from __future__ import annotations

import asyncio
import traceback as tb
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.utils import timezone

from .. import registry
from ..context import JobContext
from ..exceptions import Discard, RetryLater, UnknownTask
from ..failures import FailureCategory, classify
from ..models import Job
from ..serialization import decode_arguments, encode_result
from .timeouts import SoftTimeout, soft_timeout

OutcomeKind = Literal["succeeded", "failed", "timeout", "released", "abandoned"]


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
    retry_delay: float | None = None
    no_retry: bool = False
    reason: str = ""

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, started_at: datetime, category: FailureCategory, **extra: Any
    ) -> Outcome:
        """Describe a failed run from the exception it raised."""
        return cls(
            kind="failed",
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
            category=FailureCategory.TIMEOUT if kind == "timeout" else None,
            error_type="TimeoutError" if kind == "timeout" else "",
            error_message=message,
        )


def execute(job: Job, deadline: float) -> Outcome:
    """Run ``job`` until it returns, raises, or passes ``deadline`` (epoch seconds)."""
    started_at = timezone.now()
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
    try:
        with soft_timeout(deadline):
            args, kwargs = decode_arguments(job.args, job.kwargs)
            if definition.takes_context:
                args.insert(0, JobContext(job=job, attempt=job.attempts))
            if definition.is_async:
                remaining = max(0.001, deadline - timezone.now().timestamp())
                coroutine = definition.func(*args, **kwargs)
                result = asyncio.run(asyncio.wait_for(coroutine, timeout=remaining))
            else:
                result = definition.func(*args, **kwargs)
    except (TimeoutError, SoftTimeout) as exc:
        if isinstance(exc, asyncio.TimeoutError) and timezone.now().timestamp() < deadline:
            return Outcome.from_exception(
                exc, started_at=started_at, category=classify(exc, definition.classify)
            )
        return Outcome.lost("timeout", started_at, f"ran past its timeout of {job.timeout}s")
    except RetryLater as exc:
        return Outcome.from_exception(
            exc,
            started_at=started_at,
            category=FailureCategory.UNKNOWN,
            retry_delay=exc.delay if exc.delay is not None else 0.0,
        )
    except Discard as exc:
        return Outcome.from_exception(
            exc,
            started_at=started_at,
            category=classify(exc, definition.classify),
            no_retry=True,
            reason=f"discarded: {exc}",
        )
    except Exception as exc:
        return Outcome.from_exception(
            exc, started_at=started_at, category=classify(exc, definition.classify)
        )
    return Outcome(
        kind="succeeded",
        started_at=started_at,
        finished_at=timezone.now(),
        result=encode_result(result),
    )
