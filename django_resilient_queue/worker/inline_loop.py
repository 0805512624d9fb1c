"""``--threads 1``: claim a few units ahead, run them in order on the main thread (where
SIGALRM can interrupt them), and write their outcomes together."""

from __future__ import annotations

import functools
import logging
import time
from collections import deque

from .. import conf
from ..models import Job
from .child import PREFETCH_MAX, WAIT_SLICE, Child
from .config import WorkerConfig
from .dbretry import call_with_reconnect
from .executor import ENDED_WITHOUT_FAILURE, Outcome, OutcomeKind, execute_unit
from .heartbeat import keep_owned
from .outcomes import apply_outcomes
from .slots import FINISHED, PENDING, Slots

logger = logging.getLogger("django_resilient_queue.worker")

# Claims go up to PREFETCH_WINDOW seconds of work ahead (judged by the jobs' recent
# durations, at most PREFETCH_MAX units), and up to FLUSH_EVERY outcomes are written in
# one transaction: for short jobs one claim and one commit serve many jobs.
PREFETCH_WINDOW = 0.05
FLUSH_EVERY = 64
# A claimed-ahead unit starts without a check only within this fraction of the lease of the
# claim (or of the last check): past it, its lease may have expired and been taken back.
OWNERSHIP_GAP = 0.25


class InlineChild(Child):
    """A single-threaded child: claims ahead, runs in order, writes outcomes in batches."""

    def __init__(
        self, config: WorkerConfig, slots: Slots, number: int, supervisor_pid: int
    ) -> None:
        super().__init__(config, slots, number, supervisor_pid)
        self.pending: deque[tuple[int, list[Job]]] = deque()
        self.buffer: list[tuple[int, list[Job], list[Outcome]]] = []
        self.avg_duration: float | None = None
        self.owned_at = 0.0  # monotonic time the claimed-ahead units were last proven ours

    def _serve(self) -> None:
        while True:
            if not self.pending:
                self._flush()
                if self.should_stop():
                    return
                self.wake.clear()
                units = self._claim(min(self._prefetch_size(), len(self.free_slots)))
                if not units:
                    if self.config.burst and not self._runnable_left():
                        return
                    self._idle(WAIT_SLICE if self.config.burst else self._idle_seconds())
                    continue
                self.owned_at = time.monotonic()  # a claim proves ownership
                for unit in units:
                    with self.lock:
                        index = self.free_slots.pop()
                        self.inflight[index] = unit
                    self.slots.occupy(index, unit[0].pk, unit[0].run, PENDING)
                    self.pending.append((index, unit))
            if self.should_stop():
                self._give_back_pending()
                self._flush()
                return
            if time.monotonic() - self.owned_at > self.config.lease_seconds * OWNERSHIP_GAP:
                self._drop_lost_pending()
                if not self.pending:
                    continue
            index, unit = self.pending.popleft()
            if not self._run_inline(index, unit):
                # A failure may open a breaker or signal trouble: do not run what was claimed
                # ahead on stale assumptions; give it back (no attempt used) and look again.
                self._give_back_pending()
                self._flush()
            elif len(self.buffer) >= FLUSH_EVERY:
                self._flush()

    def _prefetch_size(self) -> int:
        if self.avg_duration is None:
            return 1  # learn how long jobs take before claiming ahead
        size = max(1, min(PREFETCH_MAX, int(PREFETCH_WINDOW / max(self.avg_duration, 1e-4))))
        budget = self.config.budget(self.processed)
        return size if budget is None else min(size, max(1, budget))

    def _run_inline(self, index: int, unit: list[Job]) -> bool:
        """Run one unit; return True when every job of it succeeded."""
        first = unit[0]
        deadline = time.time() + (first.timeout or conf.default_timeout())
        self.slots.occupy(index, first.pk, first.run, deadline)
        began = time.monotonic()
        outcomes = execute_unit(unit, deadline, self._deadline_mover(index, first))
        took = time.monotonic() - began
        self.avg_duration = (
            took if self.avg_duration is None else 0.8 * self.avg_duration + 0.2 * took
        )
        self.slots.occupy(index, first.pk, first.run, FINISHED)
        self.buffer.append((index, unit, outcomes))
        return all(outcome.kind in ENDED_WITHOUT_FAILURE for outcome in outcomes)

    def _drop_lost_pending(self) -> None:
        """After a gap (a freeze, a VM pause, a long job), start a claimed-ahead unit only if
        its lease is still provably held: another worker may have taken it back meanwhile.

        Lost units are given back unstarted (refused by the fence if already taken back).
        """
        runs = [(job.pk, job.run) for _, unit in self.pending for job in unit]
        try:
            owned = call_with_reconnect(
                functools.partial(keep_owned, runs, self.config.lease_seconds), self.tracker
            )
        except Exception:
            logger.exception("could not check the claimed-ahead jobs; giving them back")
            owned = set()
        kept: deque[tuple[int, list[Job]]] = deque()
        for index, unit in self.pending:
            if all((job.pk, job.run) in owned for job in unit):
                kept.append((index, unit))
                continue
            logger.warning(
                "job id=%s: its lease was lost before it started; not starting it", unit[0].pk
            )
            back = [
                Outcome.lost(OutcomeKind.UNSTARTED, job.started_at, "lease lost before start")
                for job in unit
            ]
            self.buffer.append((index, unit, back))
        self.pending = kept
        self.owned_at = time.monotonic()
        if self.buffer and not self.pending:
            self._flush()

    def claimed_ahead_jobs(self) -> list[int]:
        """Ids of the jobs claimed ahead and not started (read by the heartbeat thread)."""
        return [job.pk for _, unit in list(self.pending) for job in unit]

    def _give_back_pending(self) -> None:
        """Units claimed ahead that will not run now go back as if never claimed."""
        while self.pending:
            index, unit = self.pending.popleft()
            back = [
                Outcome.lost(OutcomeKind.UNSTARTED, job.started_at, "claimed ahead, not run")
                for job in unit
            ]
            self.buffer.append((index, unit, back))

    def _flush(self) -> None:
        """Write the buffered outcomes in one transaction, then free their slots."""
        if not self.buffer:
            return
        pairs = [
            (job, o)
            for _, unit, outcomes in self.buffer
            for job, o in zip(unit, outcomes, strict=True)
        ]
        try:
            written = call_with_reconnect(functools.partial(apply_outcomes, pairs), self.tracker)
        except Exception:
            logger.exception(
                "writing %s outcomes together failed; writing them one by one", len(pairs)
            )
            written = [self._write_one(job, outcome) for job, outcome in pairs]
        for (job, outcome), ok in zip(pairs, written, strict=True):
            self._count(job, outcome, ok)
        for index, unit, _ in self.buffer:
            self._free(index, unit)
        self.buffer.clear()
        self._check_limits()
