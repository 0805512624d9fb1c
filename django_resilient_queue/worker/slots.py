"""What each child thread is running, in memory the supervisor can read without the database.

A slot is three doubles: job id, run number (the fencing token), deadline (epoch seconds);
all zero when idle.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

FIELDS = 3
# Deadlines that are not times: a unit claimed but not started yet (prefetched), and a
# unit that finished but whose outcome is not written yet (buffered).
PENDING = -1.0
FINISHED = -2.0
# A child killed with SIGKILL while it holds the array's lock never releases it. Nobody
# waits longer than this for it: past it the slots are read or written without the lock
# (the supervisor then replaces the whole array before it starts the next child).
LOCK_TIMEOUT = 0.5


@dataclass(frozen=True)
class SlotState:
    """A running job as the supervisor sees it."""

    index: int
    job_id: int
    run: int
    deadline: float

    @property
    def started(self) -> bool:
        """False for a prefetched unit that never started (giving it back uses no attempt)."""
        return self.deadline != PENDING

    @property
    def running(self) -> bool:
        """True while the job itself runs (it has a real deadline)."""
        return self.deadline > 0


class Slots:
    """A fixed array of slots shared by one child and its supervisor."""

    def __init__(self, count: int, ctx: Any = None) -> None:
        context = ctx or multiprocessing.get_context("fork")
        self.count = count
        self._ctx = context
        self._array: SynchronizedArray[float] = context.Array("d", count * FIELDS)
        # Reads and writes go to the raw array: indexing the synchronized wrapper takes its
        # lock again, with no timeout, so one killed holder would hang the supervisor for
        # good. The only lock taken is the timed one in _locked().
        self._raw: Any = self._array.get_obj()

    def fresh(self) -> Slots:
        """Return new, idle slots of the same size (for a new child: no lock a dead one held)."""
        return Slots(self.count, self._ctx)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self._array.get_lock()
        acquired = lock.acquire(timeout=LOCK_TIMEOUT)
        try:
            yield
        finally:
            if acquired:
                lock.release()

    def occupy(self, index: int, job_id: int, run: int, deadline: float) -> None:
        """Record that slot ``index`` runs (job_id, run) until ``deadline``."""
        with self._locked():
            base = index * FIELDS
            self._raw[base : base + FIELDS] = [float(job_id), float(run), deadline]

    def free(self, index: int) -> None:
        """Mark slot ``index`` idle."""
        with self._locked():
            base = index * FIELDS
            self._raw[base : base + FIELDS] = [0.0, 0.0, 0.0]

    def expire(self, index: int, job_id: int, run: int, deadline: float) -> bool:
        """Move the deadline of slot ``index`` if it still runs (job_id, run)."""
        with self._locked():
            base = index * FIELDS
            if self._raw[base : base + 2] != [float(job_id), float(run)]:
                return False
            self._raw[base + 2] = deadline
            return True

    def busy(self) -> list[SlotState]:
        """Return the occupied slots."""
        with self._locked():
            values = list(self._raw[:])
        states = []
        for index in range(self.count):
            job_id, run, deadline = values[index * FIELDS : (index + 1) * FIELDS]
            if job_id:
                states.append(SlotState(index, int(job_id), int(run), deadline))
        return states

    def clear(self) -> None:
        """Mark every slot idle (a new child starts clean)."""
        with self._locked():
            self._raw[:] = [0.0] * (self.count * FIELDS)
