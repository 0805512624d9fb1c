"""A child process: claim jobs, run them on its threads, write their outcomes."""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from django.db import connection
from django.utils import timezone

from .. import conf
from ..db import dialect_for
from ..models import Job, Worker, WorkerState
from .claimer import Claimer
from .config import WorkerConfig
from .dbretry import CONNECTION_ERRORS, OutageTracker, call_with_reconnect, drop_connections
from .executor import (
    ENDED_WITHOUT_FAILURE,
    NOT_PROCESSED,
    Outcome,
    OutcomeKind,
    execute_unit,
    interrupt_delay,
)
from .heartbeat import Heartbeat, keep_owned
from .identity import register_worker
from .outcomes import apply_outcome, apply_outcomes
from .slots import FINISHED, PENDING, Slots
from .timeouts import interrupt_thread

logger = logging.getLogger("django_resilient_queue.worker")

# A single-threaded child claims up to PREFETCH_WINDOW seconds of work ahead (judged by
# the jobs' recent durations, at most PREFETCH_MAX units) and writes up to FLUSH_EVERY
# outcomes in one transaction: for short jobs one claim and one commit serve many jobs.
PREFETCH_MAX = 64
PREFETCH_WINDOW = 0.05
FLUSH_EVERY = 64

EXIT_RECYCLE = 3
EXIT_STOP_REQUESTED = 4  # an operator asked (Worker.stop_requested): stop the whole runworkers
WAIT_SLICE = 0.25
# A claimed-ahead unit starts without a check only within this fraction of the lease of the
# claim (or of the last check): past it, its lease may have expired and been taken back.
OWNERSHIP_GAP = 0.25


def slot_count(config: WorkerConfig) -> int:
    """Slots a child needs: its threads, plus the prefetched units of a single thread."""
    return config.threads + (PREFETCH_MAX if config.threads == 1 else 0)


class Child:
    """One worker process; the supervisor watches its slots and its exit code."""

    def __init__(
        self, config: WorkerConfig, slots: Slots, number: int, supervisor_pid: int
    ) -> None:
        self.config = config
        self.slots = slots
        self.number = number
        self.supervisor_pid = supervisor_pid
        self.stopping = False  # set by SIGTERM (a flag only: the loop acts on it)
        self.recycle = False
        self.stop_requested = False
        self.wake = threading.Event()
        self.stop_threads = threading.Event()
        self.lock = threading.Lock()
        self.inflight: dict[int, list[Job]] = {}
        self.thread_of: dict[int, int] = {}
        self.interrupted: set[int] = set()
        self.free_slots = list(range(slots.count))
        self.pending: deque[tuple[int, list[Job]]] = deque()
        self.buffer: list[tuple[int, list[Job], list[Outcome]]] = []
        self.avg_duration: float | None = None
        self.owned_at = 0.0  # monotonic time the claimed-ahead units were last proven ours
        self.processed = 0
        self.failed = 0
        self.tracker = OutageTracker(f"worker pid={os.getpid()}")

    # -- signals ---------------------------------------------------------------
    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def should_stop(self) -> bool:
        """True once this child must stop claiming (signal, recycle or admin request)."""
        return self.stopping or self.recycle

    # -- life cycle ------------------------------------------------------------
    def run(self) -> int:
        """Serve jobs until stopped; return the exit code for the supervisor."""
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which decides
        self.slots.clear()
        dialect = dialect_for(connection)
        self.worker = call_with_reconnect(self._register, self.tracker)
        self.claimer = Claimer(dialect, self.worker.pk, self.config)
        heartbeat = Heartbeat(
            worker_id=self.worker.pk,
            interval=self.config.heartbeat_seconds,
            lease_seconds=self.config.lease_seconds,
            running=self.running_jobs,
            claimed_ahead=self.claimed_ahead_jobs,
            counters=lambda: (self.processed, self.failed),
            on_beat=self._on_beat,
            stop=self.stop_threads,
            tracker=self.tracker,
        )
        heartbeat.start()
        listener = dialect.listener(self.wake, self.stop_threads, self.config.queues)
        if listener is not None:
            listener.start()
        pool = ThreadPoolExecutor(self.config.threads) if self.config.threads > 1 else None
        try:
            if pool is None:
                self._loop_inline()
            else:
                self._loop(pool)
            self._drain()
        finally:
            self.stop_threads.set()
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            self._unregister()
        if self.stop_requested:
            return EXIT_STOP_REQUESTED
        return EXIT_RECYCLE if self.recycle else 0

    def _register(self) -> Worker:
        dialect_for(connection).prepare_worker_connection()
        return register_worker(self.config, self.number, self.supervisor_pid)

    def _unregister(self) -> None:
        try:
            Worker.objects.filter(pk=self.worker.pk).update(
                state=WorkerState.STOPPED,
                stopped_at=timezone.now(),
                processed=self.processed,
                failed=self.failed,
                current_jobs=[],
            )
        except Exception:
            logger.warning("could not mark worker %s stopped", self.worker.pk, exc_info=True)
        drop_connections()

    # -- the loop --------------------------------------------------------------
    def _loop(self, pool: ThreadPoolExecutor | None) -> None:
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
                    self._dispatch(unit, pool)
            if claimed:
                continue
            if self.config.burst and not self.inflight:
                if not self._runnable_left():
                    return
                self._idle(WAIT_SLICE)  # rows locked by another claimer: look again
                continue
            self._idle(self._idle_seconds())

    def _loop_inline(self) -> None:
        """--threads 1: claim a few units ahead, run them in order on the main thread (where
        SIGALRM can interrupt them), and write their outcomes together."""
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

    def _write_one(self, job: Job, outcome: Outcome) -> bool:
        try:
            return call_with_reconnect(functools.partial(apply_outcome, job, outcome), self.tracker)
        except Exception:
            logger.exception("job id=%s: its outcome could not be written", job.pk)
            return False

    def _count(self, job: Job, outcome: Outcome, written: bool) -> None:
        if not written:
            logger.warning(
                "job id=%s attempt=%s: lease lost; outcome %s discarded",
                job.pk,
                job.attempts,
                outcome.kind,
            )
        if outcome.kind in NOT_PROCESSED:
            return
        with self.lock:
            self.processed += 1
            if outcome.kind != OutcomeKind.SUCCEEDED:
                self.failed += 1

    def _idle_seconds(self) -> float:
        """Poll interval, shortened when a held-back key (rate window, breaker) frees sooner."""
        try:
            change = self.claimer.next_change()
        except CONNECTION_ERRORS:
            return self.config.poll_interval
        if change is None:
            return self.config.poll_interval
        until = (change - timezone.now()).total_seconds() + 0.005
        return max(0.01, min(self.config.poll_interval, until))

    def _claim(self, limit: int) -> list[list[Job]]:
        """Claim up to ``limit`` jobs; through an outage, retry until it ends or we stop."""
        try:
            return call_with_reconnect(
                lambda: self.claimer.claim(limit), self.tracker, give_up=self.should_stop
            )
        except CONNECTION_ERRORS:
            return []  # stopping during an outage: nothing was claimed

    def _runnable_left(self) -> bool:
        """True while a job that may start now is queued (perhaps locked by another claim)."""
        return call_with_reconnect(self.claimer.runnable_left, self.tracker)

    def _idle(self, seconds: float) -> None:
        """Wait for a wake-up, in short slices so that signals and overruns are seen."""
        until = time.monotonic() + seconds
        while not self.should_stop() and time.monotonic() < until:
            if self.wake.wait(min(WAIT_SLICE, max(0.0, until - time.monotonic()))):
                # Consumed here: left set, every later wait would return at once, and a
                # child whose threads are all busy would spin without ever checking overruns.
                self.wake.clear()
                return
            self._check_overruns()

    def _drain(self) -> None:
        """Stopping: let running jobs finish (the supervisor enforces --graceful-timeout)."""
        while True:
            with self.lock:
                if not self.inflight:
                    return
            self.wake.wait(WAIT_SLICE)
            self.wake.clear()
            self._check_overruns()

    # -- running one unit of work (a job, or a batch) ------------------------
    def _dispatch(self, unit: list[Job], pool: ThreadPoolExecutor | None) -> None:
        first = unit[0]
        deadline = time.time() + (first.timeout or conf.default_timeout())
        with self.lock:
            slot = self.free_slots.pop()
            self.inflight[slot] = unit
        self.slots.occupy(slot, first.pk, first.run, deadline)
        if pool is None:
            self._run(slot, unit, deadline)
        else:
            pool.submit(self._run, slot, unit, deadline)

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

    def _check_limits(self) -> None:
        """--max-tasks reached: stop for good; --max-jobs-per-child reached: be recycled."""
        if self.config.max_tasks and self.processed >= self.config.max_tasks:
            self.stopping = True
        elif self.config.max_jobs_per_child and self.processed >= self.config.max_jobs_per_child:
            self.recycle = True

    def _free(self, slot: int, unit: list[Job]) -> None:
        with self.lock:
            if self.inflight.get(slot) is unit:
                del self.inflight[slot]
                self.slots.free(slot)
                self.free_slots.append(slot)
            self.interrupted.discard(slot)
        self.wake.set()

    def _deadline_mover(self, slot: int, job: Job) -> Callable[[float], None]:
        """Let a run move its slot's deadline (stall detection; see worker/stalls.py)."""
        return lambda deadline: self.slots.occupy(slot, job.pk, job.run, deadline)

    def running_jobs(self) -> list[tuple[int, int]]:
        """Return (job id, run) of every job this child holds now."""
        with self.lock:
            return [(job.pk, job.run) for unit in self.inflight.values() for job in unit]

    # -- timeouts with --threads > 1 ------------------------------------------
    def _check_overruns(self) -> None:
        """Soft-interrupt a thread past its deadline; past the grace, record the timeout and
        retire the slot. The child then stops claiming and is recycled when its other jobs
        end (a thread cannot be killed, a process can)."""
        if self.config.threads == 1:
            return  # the main thread has SIGALRM and the supervisor's kill
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

    def _on_beat(self, stop_requested: bool, rss_mb: float) -> None:
        if os.getppid() != self.supervisor_pid and not self.stopping:
            # Our supervisor is gone (killed, or a --reload parent that stopped it hard):
            # finish what runs and exit rather than serve on, unsupervised.
            logger.warning("supervisor pid=%s is gone; stopping", self.supervisor_pid)
            self.stopping = True
        if stop_requested:
            self.stop_requested = True
            self.stopping = True
        if self.config.max_memory_mb and rss_mb > self.config.max_memory_mb:
            logger.warning("worker uses %.0f MB > --max-memory-mb; recycling", rss_mb)
            self.recycle = True


def child_main(config: WorkerConfig, slots: Slots, number: int, supervisor_pid: int) -> None:
    """Entry point of a forked child process."""
    code = Child(config, slots, number, supervisor_pid).run()
    # os._exit: a thread stuck in an overrun job must not keep the process alive.
    os._exit(code)
