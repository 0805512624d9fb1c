"""Soft timeouts: raise ``SoftTimeout`` inside a job that overran, where Python can.

The hard limit is the supervisor's: it kills the child whose job is still running
``kill_grace`` seconds after its deadline (a busy C call never sees a soft timeout).
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# An async job is stopped by its event loop's own timer. SIGALRM or an asynchronous
# exception raised inside the loop machinery itself can break the loop ("Event loop stopped
# before Future completed"), so for an async job they come this much later: only for a
# loop that a blocking call keeps from its timer.
ASYNC_INTERRUPT_DELAY = 1.0


class SoftTimeout(BaseException):
    """Raised inside a job that ran past its timeout.

    A BaseException, so that a job's ``except Exception`` cannot swallow it.
    """


def _raise_soft_timeout(signum: int, frame: FrameType | None) -> None:
    raise SoftTimeout()


@contextmanager
def soft_timeout(deadline: float) -> Iterator[None]:
    """Raise SoftTimeout in the main thread at ``deadline`` (epoch seconds); no-op elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_soft_timeout)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.time()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def interrupt_thread(thread_id: int) -> bool:
    """Ask the Python thread ``thread_id`` to raise SoftTimeout at its next bytecode."""
    changed = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(SoftTimeout)
    )
    return bool(changed == 1)
