"""A child process's life cycle: signals, its Worker row, heartbeat, listener, exit code.

How it claims and runs jobs is one of two loop strategies, each in its own module:
``worker/inline_loop.py`` (``--threads 1``: claims ahead, runs on the main thread, writes
outcomes together) and ``worker/thread_loop.py`` (``--threads`` > 1: a thread pool, with
the overrun policing that threads need).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from django.db import connection
from django.utils import timezone

from ..db import dialect_for
from ..models import Job, Worker, WorkerState
from .claimer import Claimer
from .config import WorkerConfig
from .dbretry import CONNECTION_ERRORS, OutageTracker, call_with_reconnect, drop_connections
from .executor import NOT_PROCESSED, Outcome, OutcomeKind
from .heartbeat import Heartbeat
from .identity import register_worker
from .outcomes import apply_outcome
from .slots import Slots

logger = logging.getLogger("django_resilient_queue.worker")

# A single-threaded child claims up to PREFETCH_MAX units ahead (worker/inline_loop.py).
PREFETCH_MAX = 64

EXIT_RECYCLE = 3
EXIT_STOP_REQUESTED = 4  # an operator asked (Worker.stop_requested): stop the whole runworkers
WAIT_SLICE = 0.25


def slot_count(config: WorkerConfig) -> int:
    """Slots a child needs: its threads, plus the prefetched units of a single thread."""
    return config.threads + (PREFETCH_MAX if config.threads == 1 else 0)


class Child:
    """One worker process; the supervisor watches its slots and its exit code.

    A subclass is a loop strategy: it implements ``_serve`` (claim and run until told to
    stop) and may override ``_close``, ``_check_overruns`` and ``claimed_ahead_jobs``.
    """

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
        self.free_slots = list(range(slots.count))
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
        try:
            self._serve()
            self._drain()
        finally:
            self.stop_threads.set()
            self._close()
            self._unregister()
        if self.stop_requested:
            return EXIT_STOP_REQUESTED
        return EXIT_RECYCLE if self.recycle else 0

    def _serve(self) -> None:
        """Claim and run jobs until told to stop (the loop strategy)."""
        raise NotImplementedError

    def _close(self) -> None:
        """Release what the loop strategy holds (called once, after the drain)."""

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

    # -- what both loops share -------------------------------------------------
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

    def _check_overruns(self) -> None:
        """Police jobs past their deadline; the main thread has SIGALRM and the supervisor's
        kill, so only the thread pool needs this (worker/thread_loop.py)."""

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
            self._slot_freed(slot)
        self.wake.set()

    def _slot_freed(self, slot: int) -> None:
        """A slot is free again (called with the lock held)."""

    def _deadline_mover(self, slot: int, job: Job) -> Callable[[float], None]:
        """Let a run move its slot's deadline (stall detection; see worker/stalls.py)."""
        return lambda deadline: self.slots.occupy(slot, job.pk, job.run, deadline)

    def running_jobs(self) -> list[tuple[int, int]]:
        """Return (job id, run) of every job this child holds now."""
        with self.lock:
            return [(job.pk, job.run) for unit in self.inflight.values() for job in unit]

    def claimed_ahead_jobs(self) -> list[int]:
        """Ids of the jobs claimed ahead and not started (read by the heartbeat thread)."""
        return []

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
    """Entry point of a forked child process: the loop strategy its --threads call for."""
    # Imported here: each strategy module subclasses Child from this one.
    from .inline_loop import InlineChild
    from .thread_loop import ThreadedChild

    strategy = InlineChild if config.threads == 1 else ThreadedChild
    code = strategy(config, slots, number, supervisor_pid).run()
    # os._exit: a thread stuck in an overrun job must not keep the process alive.
    os._exit(code)
