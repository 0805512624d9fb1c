"""Module-level jobs the tests enqueue (workers find them through JOB_MODULES)."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

from django_resilient_queue import BusinessError, Discard, Priority, Retry, RetryLater, job
from django_resilient_queue.retry import Backoff
from tests.testapp.models import Execution, Widget


def _log(label: str, context_job_id: int | None = None) -> Execution:
    return Execution.objects.create(
        job_id=context_job_id, label=label, pid=os.getpid(), started_at=time.time()
    )


@job(takes_context=True)
def record(context, label: str) -> str:
    """Write one execution row: the proof that the job ran, once."""
    Execution.objects.create(
        job_id=context.job.pk if context.job else None,
        label=label,
        pid=os.getpid(),
        started_at=time.time(),
        finished_at=time.time(),
    )
    return label


@job(takes_context=True)
def sleep_then_record(context, label: str, seconds: float) -> str:
    """Sleep, logging start and end, to test overlapping and interrupted runs."""
    row = Execution.objects.create(
        job_id=context.job.pk if context.job else None,
        label=label,
        pid=os.getpid(),
        started_at=time.time(),
    )
    time.sleep(seconds)
    row.finished_at = time.time()
    row.save(update_fields=["finished_at"])
    return label


@job(takes_context=True, timeout=2)
def block_in_one_call(context, label: str, seconds: float) -> str:
    """Like sleep_then_record, with a 2 s timeout, blocked in one C call no interrupt reaches."""
    return sleep_then_record.func(context, label, seconds)


@job
def add(a: int, b: int) -> int:
    """Return a + b."""
    return a + b


@job
def fail_validation(value: str) -> None:
    """Always raise ValueError (VALIDATION: straight to dead letters)."""
    raise ValueError(f"bad value {value!r}")


@job(retry=Retry(max_attempts=2, backoff=Backoff.fixed(0)))
def fail_unknown() -> None:
    """Always raise an unclassified error (UNKNOWN: the job's retry)."""
    raise RuntimeError("boom")


@job
def fail_business() -> None:
    """Raise BusinessError: never retried."""
    raise BusinessError("card declined")


@job
def discard_me() -> None:
    """Raise Discard: failed without retry."""
    raise Discard("not needed any more")


@job
def retry_later_once(widget_id: int) -> str:
    """Ask for a retry the first time (tracked through an execution row)."""
    if not Execution.objects.filter(label=f"retry-later-{widget_id}").exists():
        _log(f"retry-later-{widget_id}")
        raise RetryLater(delay=0)
    return "done"


@job
def rename_widget(widget: Widget, name: str) -> str:
    """Receive a model instance by reference."""
    widget.name = name
    widget.save()
    return widget.name


@job(queue="other", priority=Priority.HIGH)
def high_on_other() -> str:
    """A job with a non-default queue and priority."""
    return "ok"


@job
async def async_add(a: int, b: int) -> int:
    """An async def job."""
    return a + b


@job(timeout=1)
def busy_loop() -> None:
    """Never yields: only a hard timeout stops it."""
    while True:
        pass


@job(takes_context=True)
def first_attempt_sleeps(context, label: str, seconds: float) -> int:
    """Sleep ``seconds`` on attempt 1 only (a long run to interrupt); log every run."""
    row = Execution.objects.create(
        job_id=context.job.pk if context.job else None,
        label=f"{label}#{context.attempt}",
        pid=os.getpid(),
        started_at=time.time(),
    )
    if context.attempt == 1:
        time.sleep(seconds)
    row.finished_at = time.time()
    row.save(update_fields=["finished_at"])
    return int(context.attempt)


@job
def kill_own_process() -> None:
    """A poison job: its worker process dies every time it runs it."""
    os.kill(os.getpid(), signal.SIGKILL)


@job(timeout=1)
def stubborn_loop() -> None:
    """Blocks the soft-timeout signal, like a C call that never returns: only a kill stops it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    while True:
        pass


@job(timeout=1)
async def async_sleep(seconds: float) -> str:
    """An async job that may outlive its timeout."""
    import asyncio

    await asyncio.sleep(seconds)
    return "woke"


@job(takes_context=True)
def network_flaky(context, fail_times: int) -> int:
    """Raise ConnectionError (NETWORK) on the first ``fail_times`` attempts."""
    if context.attempt <= fail_times:
        raise ConnectionError(f"attempt {context.attempt} could not connect")
    return int(context.attempt)


@job(retry=Retry(max_attempts=50, backoff=Backoff.fixed(0.3), give_up_after=timedelta(seconds=1)))
def gives_up() -> None:
    """Fails (UNKNOWN, the job's retry) until give_up_after stops it."""
    raise RuntimeError("still broken")


@job
def fixable(widget: Widget) -> str:
    """Fails while the widget is named 'broken': fix the data, then replay the dead letter."""
    if widget.name == "broken":
        raise ValueError("widget is broken")
    return widget.name


@job
def note_outcome(outcome: dict) -> None:
    """A callback: log the outcome it was given."""
    Execution.objects.create(
        job_id=outcome["job_id"],
        label=f"callback-{outcome['status']}",
        pid=os.getpid(),
        started_at=time.time(),
    )


@job(on_success="tests.jobs.note_outcome", on_failure="tests.jobs.note_outcome")
def with_callbacks(fail: bool) -> str:
    """Succeed or fail (VALIDATION, no retry); either way a callback is enqueued."""
    if fail:
        raise ValueError("asked to fail")
    return "fine"


@job(takes_context=True)
def pause_then_record(context, label: str, seconds: float) -> None:
    """Sleep, then record the run in one INSERT (one atomic proof per execution)."""
    time.sleep(seconds)
    Execution.objects.create(
        job_id=context.job.pk if context.job else None,
        label=label,
        pid=os.getpid(),
        started_at=time.time(),
    )


@job(takes_context=True, timeout=10)
async def async_progress(context) -> str:
    """An async job that reports progress both ways."""
    context.set_progress(40, "sync call from async code")
    await context.aset_progress(80, "async call", stage="almost")
    return "done"


@job(retry=Retry(max_attempts=3, backoff=Backoff.fixed(42)))
def retry_later_without_delay() -> None:
    """RetryLater() with no delay: the job's own backoff decides."""
    raise RetryLater()


class PaymentGatewayDown(Exception):
    """An exception the project maps to NETWORK in settings."""


@job
def gateway_down() -> None:
    """Raise an exception the built-in map does not know."""
    raise PaymentGatewayDown("gateway 503")
