"""Stall detection: a running job whose progress has not changed for ``stall_timeout``
seconds is stopped like a timeout, by the same means (SIGALRM in the main thread, an
asynchronous exception in a worker thread, the supervisor's kill as the backstop).

It works by moving the run's deadline: the deadline every one of those means reads is the
earlier of the hard timeout and "last progress + stall_timeout", pushed back at each
change of progress (or checkpoint). It does not watch anything itself.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from ..models import Job

ERROR_TYPE = "JobStalled"
# A deadline reached within this much of the stall deadline counts as a stall.
SLACK = 0.05


@dataclass
class StallWatch:
    """One run's stall deadline; ``on_deadline`` tells the child's slot when it moves."""

    stall_timeout: float
    hard_deadline: float
    on_deadline: Callable[[float], None] | None
    main_thread: bool
    last_change: float = 0.0
    active: bool = True
    interrupt_delay: float = 0.0  # SIGALRM comes this long after the deadline (async jobs)

    @property
    def deadline(self) -> float:
        """The run's effective deadline (epoch seconds)."""
        return min(self.hard_deadline, self.last_change + self.stall_timeout)

    def progressed(self) -> None:
        """Progress changed: push the deadline back and re-arm what enforces it."""
        if not self.active:
            return  # the run is over; its timer belongs to the next one
        self.last_change = time.time()
        deadline = self.deadline
        if self.main_thread:
            # The soft timeout's timer (process-wide, settable from any thread).
            delay = deadline + self.interrupt_delay - time.time()
            signal.setitimer(signal.ITIMER_REAL, max(0.001, delay))
        if self.on_deadline is not None:
            self.on_deadline(deadline)

    def finish(self) -> None:
        """The run ended: later progress (from a thread it left behind) moves nothing."""
        self.active = False

    def stalled(self) -> bool:
        """True when the run was stopped for its stall deadline, not its hard timeout."""
        stall_deadline = self.last_change + self.stall_timeout
        return stall_deadline < self.hard_deadline and time.time() >= stall_deadline - SLACK


def start(
    job: Job, hard_deadline: float, on_deadline: Callable[[float], None] | None
) -> StallWatch | None:
    """Begin watching the run of ``job`` (None when it has no stall timeout)."""
    if not job.stall_timeout:
        return None
    watch = StallWatch(
        stall_timeout=float(job.stall_timeout),
        hard_deadline=hard_deadline,
        on_deadline=on_deadline,
        main_thread=threading.current_thread() is threading.main_thread(),
        last_change=time.time(),
    )
    if on_deadline is not None:
        on_deadline(watch.deadline)
    return watch


async def run_watched(coroutine: Coroutine[Any, Any, Any], watch: StallWatch) -> Any:
    """Await an async job until it returns or passes its (moving) deadline: TimeoutError.

    The event loop's own timer, so that it works on any thread (a signal or an
    asynchronous exception cannot reach a loop blocked in select()).
    """
    task = asyncio.ensure_future(coroutine)
    while True:
        done, _ = await asyncio.wait({task}, timeout=max(0.001, watch.deadline - time.time()))
        if done:
            return task.result()
        if time.time() >= watch.deadline:
            task.cancel()
            raise TimeoutError(stall_message_for(watch))


def stall_message_for(watch: StallWatch) -> str:
    """Why a watched run was stopped."""
    if watch.stalled():
        return f"no progress for {watch.stall_timeout:g}s (stall_timeout)"
    return "ran past its timeout"


def stall_message(job: Job) -> str:
    """The error message of a stalled run."""
    return f"no progress for {job.stall_timeout or 0.0:g}s (stall_timeout)"


def killed_for_stall(job: Job) -> bool:
    """Judge, after its child was killed, whether a run overran its stall deadline rather
    than its timeout: the timeout, counted from the claim, was not reached yet."""
    if not job.stall_timeout or job.started_at is None:
        return False
    timeout = job.timeout or 0.0
    return timezone.now().timestamp() < job.started_at.timestamp() + timeout
