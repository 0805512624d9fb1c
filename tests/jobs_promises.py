"""Jobs for the promise tests: expiry, stall detection, checkpoints, typed arguments."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from typing import Any

from django_resilient_queue import job
from tests.testapp.models import Execution


def _log(context: Any, label: str) -> None:
    Execution.objects.create(
        job_id=context.job.pk if context is not None and context.job else None,
        label=label,
        pid=os.getpid(),
        started_at=time.time(),
        finished_at=time.time(),
    )


class Money:
    """A value type the built-in encoding does not know: SERIALIZERS registers it."""

    def __init__(self, amount: str, currency: str) -> None:
        self.amount = amount
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.amount, self.currency) == (
            other.amount,
            other.currency,
        )

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money({self.amount!r}, {self.currency!r})"


class MoneySerializer:
    """The SERIALIZERS entry the test settings name."""

    type = Money
    tag = "tests.money"

    def encode(self, value: Money) -> Any:
        return {"amount": value.amount, "currency": value.currency}

    def decode(self, data: Any) -> Money:
        return Money(data["amount"], data["currency"])


@job(expires_after=timedelta(hours=1))
def expiring(label: str) -> str:
    """Record that it ran (it must not, once expired)."""
    _log(None, label)
    return label


@job(takes_context=True)
def record_once(context: Any, label: str) -> str:
    """Record one run."""
    _log(context, label)
    return label


@job(takes_context=True, stall_timeout=1.0)
def stall_first_attempt(context: Any, label: str) -> str:
    """Attempt 1 stops making progress (and is stopped); later attempts finish."""
    _log(context, f"{label}#{context.attempt}")
    if context.attempt == 1:
        context.set_progress(10)
        for _ in range(600):  # alive, making no progress (short sleeps: a thread can be told)
            time.sleep(0.1)
    return label


@job(takes_context=True, stall_timeout=1.0)
def progress_steadily(context: Any, label: str, seconds: float) -> str:
    """Run longer than the stall timeout, reporting progress often: never stalled."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        context.set_progress(100 * elapsed / seconds)
        time.sleep(0.2)
    _log(context, f"{label}#{context.attempt}")
    return label


@job(takes_context=True, stall_timeout=1.0)
async def astall_first_attempt(context: Any, label: str) -> str:
    """The async twin of stall_first_attempt."""
    from asgiref.sync import sync_to_async

    await sync_to_async(_log, thread_sensitive=False)(context, f"{label}#{context.attempt}")
    if context.attempt == 1:
        await context.aset_progress(10)
        await asyncio.sleep(60)
    return label


@job(takes_context=True, stall_timeout=1.0)
async def aprogress_steadily(context: Any, label: str, seconds: float) -> str:
    """The async twin of progress_steadily."""
    from asgiref.sync import sync_to_async

    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        await context.aset_progress(100 * elapsed / seconds)
        await asyncio.sleep(0.2)
    await sync_to_async(_log, thread_sensitive=False)(context, f"{label}#{context.attempt}")
    return label


@job(timeout=1)
async def ablock_own_loop(seconds: float) -> str:
    """An async job that blocks its event loop in sync calls: its loop's timer cannot fire."""
    for _ in range(int(seconds * 10)):
        time.sleep(0.1)  # short calls: an interrupt is seen between them
    return "never stopped"


@job(takes_context=True)
def checkpoint_then_hang(context: Any, label: str) -> str:
    """Store three checkpoints, then hang (the test kills the process); resume from the last."""
    last = context.last_checkpoint
    if last is None:
        for step in (1, 2, 3):
            context.checkpoint({"step": step})
        _log(context, f"{label}:hanging")
        time.sleep(120)
        return label
    _log(context, f"{label}:resumed-from-{last['step']}")
    return label


@job
def echo_types(*values: Any, **named: Any) -> list[str]:
    """Return the repr of every argument received, in order (named ones sorted by name)."""
    return [repr(value) for value in values] + [
        f"{name}={value!r}" for name, value in sorted(named.items())
    ]
