"""``--threads`` > 1: a thread pool runs the jobs, and this loop polices their deadlines
(a thread cannot be killed: past its grace, its timeout is recorded and the child is
recycled once its other jobs end)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .. import conf
from ..models import Job
from .child import WAIT_SLICE, Child
from .config import WorkerConfig
from .executor import Outcome, OutcomeKind, execute_unit, interrupt_delay
from .slots import Slots
from .timeouts import interrupt_thread

logger = logging.getLogger("django_resilient_queue.worker")


class ThreadedChild(Child):
    """A child whose --threads run jobs side by side, each outcome written as it ends."""

    def __init__(
        self, config: WorkerConfig, slots: Slots, number: int, supervisor_pid: int
    ) -> None:
        super().__init__(config, slots, number, supervisor_pid)
        self.pool = ThreadPoolExecutor(config.threads)
        self.thread_of: dict[int, int] = {}
        self.interrupted: set[int] = set()

    def _serve(self) -> None:
        while not self.should_stop():
            self._check_overruns()  # on every pass: a busy pool is when timeouts matter most
            with self.lock:
                free = len(self.free_slots)
            claimed: list[list[Job]] = []
            budget = self.config.budget(self.processed + len(self.inflight))
            free = free if budget is None else min(free, budget)
            if free:
                self.wake.clear()
                claimed = self._claim(free)
                for unit in claimed:
                    self._dispatch(unit)
            if claimed:
                continue
            if self.config.burst and not self.inflight:
                if not self._runnable_left():
                    return
                self._idle(WAIT_SLICE)  # rows locked by another claimer: look again
                continue
            self._idle(self._idle_seconds())

    def _close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _dispatch(self, unit: list[Job]) -> None:
        first = unit[0]
        deadline = time.time() + (first.timeout or conf.default_timeout())
        with self.lock:
            slot = self.free_slots.pop()
            self.inflight[slot] = unit
        self.slots.occupy(slot, first.pk, first.run, deadline)
        self.pool.submit(self._run, slot, unit, deadline)

    def _run(self, slot: int, unit: list[Job], deadline: float) -> None:
        self.thread_of[slot] = threading.get_ident()
        try:
            outcomes = execute_unit(unit, deadline, self._deadline_mover(slot, unit[0]))
            self._record(unit, outcomes)
        except Exception:
            logger.exception("job id=%s: the worker failed while running it", unit[0].pk)
        finally:
            self._free(slot, unit)

    def _record(self, unit: list[Job], outcomes: list[Outcome]) -> None:
        for job, outcome in zip(unit, outcomes, strict=True):
            self._count(job, outcome, self._write_one(job, outcome))
        self._check_limits()

    def _slot_freed(self, slot: int) -> None:
        self.interrupted.discard(slot)

    def _check_overruns(self) -> None:
        """Soft-interrupt a thread past its deadline; past the grace, record the timeout and
        retire the slot. The child then stops claiming and is recycled when its other jobs
        end (a thread cannot be killed, a process can)."""
        now = time.time()
        for state in self.slots.busy():
            if not state.running or now < state.deadline:
                continue
            slot = state.index
            with self.lock:
                unit = self.inflight.get(slot)
            if unit is None:
                continue
            if slot not in self.interrupted and now < state.deadline + interrupt_delay(unit[0]):
                continue  # an async job's own loop stops it first
            if slot not in self.interrupted and slot in self.thread_of:
                self.interrupted.add(slot)
                interrupt_thread(self.thread_of[slot])
            elif now > state.deadline + self.config.kill_grace:
                message = f"ran past its timeout of {unit[0].timeout}s"
                self._record(
                    unit,
                    [Outcome.lost(OutcomeKind.TIMEOUT, job.started_at, message) for job in unit],
                )
                with self.lock:
                    del self.inflight[slot]
                    self.slots.free(slot)
                self.recycle = True
                logger.error("job id=%s overran its timeout; recycling this child", unit[0].pk)
