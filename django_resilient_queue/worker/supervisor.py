"""The supervisor: start children, restart the dead, kill the overrun, stop gracefully."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from ..alerts.store import raise_alert
from ..models import AlertKind, AlertSeverity, Job, JobStatus, WorkerState
from .cancellation import CHECK_EVERY, stop_cancelled
from .child import EXIT_RECYCLE, EXIT_STOP_REQUESTED, child_main, slot_count
from .config import WorkerConfig
from .dbretry import CONNECTION_ERRORS, OutageTracker, drop_connections
from .executor import OutcomeKind
from .housekeeping import Housekeeping, Periodic, mark_worker_gone
from .reaper import take_back
from .scheduler import Scheduler
from .slots import Slots

logger = logging.getLogger("django_resilient_queue.supervisor")

TICK = 0.1


@dataclass
class ChildHandle:
    """A child process and what the supervisor knows of it."""

    number: int
    slots: Slots
    process: BaseProcess | None = None
    done: bool = False  # burst child that finished its work
    timed_out: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class PendingWrite:
    """A run the supervisor must record (its child is dead); retried while the DB is away."""

    job_id: int
    run: int
    kind: OutcomeKind
    message: str


class Supervisor:
    """Runs ``config.processes`` children and keeps them alive until told to stop."""

    def __init__(
        self, config: WorkerConfig, companions: Sequence[Callable[[], object]] = ()
    ) -> None:
        self.config = config
        # Started once, after the children (runworkers passes alert delivery): the engine
        # never imports the operator's side itself.
        self.companions = companions
        self.ctx = multiprocessing.get_context("fork")
        self.children = [
            ChildHandle(n, Slots(slot_count(config), self.ctx)) for n in range(config.processes)
        ]
        self.signals = 0  # SIGTERM/SIGINT received (handlers only count)
        self.pending: list[PendingWrite] = []
        self.tracker = OutageTracker(f"supervisor pid={os.getpid()}")
        self.housekeeping = Housekeeping(config, self._running_runs, self.tracker)
        stop = lambda: stop_cancelled(self._alive(), config.kill_grace)  # noqa: E731
        self.housekeeping.tasks.append(Periodic(CHECK_EVERY, stop))
        self.scheduler = Scheduler(self.tracker, active=not config.burst)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1

    def request_stop(self) -> None:
        """Stop gracefully, as a first SIGTERM does (for an owner of the signals: --reload)."""
        self.signals = max(self.signals, 1)

    def run(self) -> int:
        """Supervise until stopped (or, with --burst, until every child ran out of work)."""
        if threading.current_thread() is threading.main_thread():
            # Under --reload this runs on a thread: the reloader owns the signals.
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        logger.info(
            "runworkers pid=%s processes=%s threads=%s queues=%s",
            os.getpid(),
            self.config.processes,
            self.config.threads,
            ",".join(self.config.queues) or "*",
        )
        for child in self.children:
            self._start(child)
        for start in self.companions:
            drop_connections()  # a forked companion must not share our database sockets
            start()
        stop_deadline: float | None = None
        while True:
            if self.signals >= 2:
                logger.warning("second signal: stopping at once; leases will cover running jobs")
                self._kill_all()
                return 1
            if self.signals == 1 and stop_deadline is None:
                stop_deadline = time.monotonic() + self.config.graceful_timeout
                self.scheduler.active = False  # a stopping runworkers enqueues no more ticks
                logger.info(
                    "stopping: running jobs get %ss to finish", self.config.graceful_timeout
                )
                self._signal_children(signal.SIGTERM)
            self._collect_exits(stopping=stop_deadline is not None)
            if stop_deadline is not None:
                if not self._alive():
                    self._flush_pending()
                    return 0
                if time.monotonic() >= stop_deadline:
                    self._release_and_kill()
                    return 0
            elif self.config.finite and all(c.done for c in self.children):
                self._flush_pending()
                return 0
            else:
                self._kill_overruns()
                self.scheduler.tick()  # first: a tick's lag is what it waits behind
                self.housekeeping.tick()
            self._wait()

    # -- children ----------------------------------------------------------------
    def _start(self, child: ChildHandle) -> None:
        # Forked children must not share the supervisor's sockets to the database.
        drop_connections()
        # New slots for every child: a killed child may have died holding the old ones' lock.
        child.slots = child.slots.fresh()
        child.timed_out.clear()
        process = self.ctx.Process(
            target=child_main,
            args=(self.config, child.slots, child.number, os.getpid()),
            name=f"resilient-queue-worker-{child.number}",
            daemon=False,
        )
        process.start()
        child.process = process
        logger.info("started worker child %s pid=%s", child.number, process.pid)

    def _running_runs(self) -> list[tuple[int, int]]:
        """(job id, run) of every job a live child runs now, from the shared slots."""
        return [
            (state.job_id, state.run) for child in self._alive() for state in child.slots.busy()
        ]

    def _alive(self) -> list[ChildHandle]:
        return [c for c in self.children if c.process is not None and c.process.is_alive()]

    def _signal_children(self, signum: int) -> None:
        for child in self._alive():
            assert child.process is not None and child.process.pid is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.process.pid, signum)

    def _kill_all(self) -> None:
        self._signal_children(signal.SIGKILL)
        for child in self.children:
            if child.process is not None:
                child.process.join(timeout=5)

    def _wait(self) -> None:
        sentinels = [c.process.sentinel for c in self._alive() if c.process is not None]
        timeout = self.scheduler.timeout(TICK)  # wake on time for the next cron tick
        if sentinels:
            wait(sentinels, timeout=timeout)
        else:
            time.sleep(timeout)

    def _collect_exits(self, *, stopping: bool) -> None:
        for child in self.children:
            process = child.process
            if process is None or process.is_alive() or child.done:
                continue
            process.join()
            code = process.exitcode
            self._take_back_slots(child, code, process.pid)
            self._forget_worker(process.pid, code)
            if code == EXIT_STOP_REQUESTED and not stopping:
                logger.warning("a graceful stop was requested for this runworkers; stopping")
                self.signals = max(self.signals, 1)
                child.done = True
                continue
            if stopping:
                child.done = True
                continue
            if code == 0 and self.config.finite:
                child.done = True
                continue
            if code not in (0, EXIT_RECYCLE, EXIT_STOP_REQUESTED):
                self._report_crash(child, code)
            self._start(child)
        self._flush_pending()

    def _take_back_slots(
        self, child: ChildHandle, code: int | None, pid: int | None, *, shutdown: bool = False
    ) -> None:
        """The runs a dead child held are over: record them now instead of waiting for leases."""
        covered: set[tuple[int, int]] = set()
        for state in child.slots.busy():
            key = (state.job_id, state.run)
            covered.add(key)
            if not state.started:
                kind, message = (
                    OutcomeKind.UNSTARTED,
                    "claimed ahead; its worker stopped before running it",
                )
            elif shutdown:
                kind, message = OutcomeKind.RELEASED, "released at shutdown"
            elif key in child.timed_out:
                kind, message = OutcomeKind.TIMEOUT, "ran past its timeout; its worker was killed"
            else:
                kind, message = OutcomeKind.ABANDONED, f"its worker process exited with code {code}"
            self.pending.append(PendingWrite(state.job_id, state.run, kind, message))
        # A batch holds one slot: its other jobs are found through the dead child's rows.
        kind = OutcomeKind.RELEASED if shutdown else OutcomeKind.ABANDONED
        for job_id, run in self._runs_of(pid):
            if (job_id, run) not in covered:
                message = (
                    "released at shutdown" if shutdown else f"its worker exited with code {code}"
                )
                self.pending.append(PendingWrite(job_id, run, kind, message))
        child.slots.clear()

    def _runs_of(self, pid: int | None) -> list[tuple[int, int]]:
        """(job id, run) of the jobs still running for this supervisor's child ``pid``."""
        if pid is None:
            return []
        try:
            return list(
                Job.objects.filter(
                    status=JobStatus.RUNNING, worker__pid=pid, worker__supervisor_pid=os.getpid()
                ).values_list("pk", "run")
            )
        except CONNECTION_ERRORS:
            drop_connections()
            return []  # their leases will bring them back

    def _forget_worker(self, pid: int | None, code: int | None) -> None:
        """A child that did not exit cleanly cannot mark its Worker row: do it for it."""
        if code in (0, EXIT_RECYCLE, EXIT_STOP_REQUESTED):
            return
        try:
            mark_worker_gone(pid, WorkerState.LOST)
        except CONNECTION_ERRORS:
            drop_connections()

    def _report_crash(self, child: ChildHandle, code: int | None) -> None:
        if any(child.timed_out):
            return  # we killed it on purpose
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        logger.error("worker child %s died (%s); restarting it", child.number, how)
        try:
            raise_alert(
                AlertKind.WORKER_CRASHED,
                AlertSeverity.HIGH,
                f"A worker process died ({how}) and was restarted.",
                fingerprint=f"WORKER_CRASHED:{os.uname().nodename}:{os.getpid()}",
                context={"exit_code": code, "child": child.number},
            )
        except CONNECTION_ERRORS:
            drop_connections()

    # -- timeouts and stopping -------------------------------------------------
    def _kill_overruns(self) -> None:
        """Kill a single-threaded child whose job is past its deadline plus the grace."""
        now = time.time()
        backstop = (
            self.config.kill_grace if self.config.threads == 1 else 4 * self.config.kill_grace + 5
        )
        for child in self._alive():
            overrun = [s for s in child.slots.busy() if s.running and now > s.deadline + backstop]
            if not overrun:
                continue
            child.timed_out.update((s.job_id, s.run) for s in overrun)
            assert child.process is not None and child.process.pid is not None
            logger.error(
                "job id=%s overran its timeout; killing worker pid=%s",
                overrun[0].job_id,
                child.process.pid,
            )
            os.kill(child.process.pid, signal.SIGKILL)

    def _release_and_kill(self) -> None:
        """Graceful timeout over: kill what still runs and give its jobs back, attempt unused."""
        for child in self._alive():
            assert child.process is not None and child.process.pid is not None
            os.kill(child.process.pid, signal.SIGKILL)
            child.process.join(timeout=5)
            self._take_back_slots(child, None, child.process.pid, shutdown=True)
            self._forget_worker(child.process.pid, -signal.SIGKILL)  # it cannot mark its row
        deadline = time.monotonic() + 10
        while self.pending and time.monotonic() < deadline:
            self._flush_pending()
            if self.pending:
                time.sleep(0.5)

    def _flush_pending(self) -> None:
        still: list[PendingWrite] = []
        for write in self.pending:
            try:
                take_back(write.job_id, write.run, write.kind, write.message)
                self.tracker.back()
            except CONNECTION_ERRORS:
                self.tracker.lost()
                drop_connections()
                still.append(write)
            except Exception:
                # One row that cannot be taken back never stops the supervisor; its lease
                # expires and the reaper tries again.
                logger.exception("job id=%s: could not be taken back", write.job_id)
        self.pending = still
