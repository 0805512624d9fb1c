"""Stop running jobs an operator cancelled (``Job.cancel_requested_at``).

The supervisor checks about once a second, and only while its children run something:
one primary-key read of the running ids. For each cancelled run it records the attempt
``cancelled`` (fenced, so a run that just finished keeps its own outcome) and moves the
run's deadline into the past: the hard-timeout machinery then stops it — the supervisor
kills a single-threaded child (and starts a new one), a threaded child interrupts the
job's thread and is recycled if the thread does not stop. Whatever the killed run does
afterwards cannot overwrite the cancel: its writes are fenced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Protocol

from ..models import Job, JobStatus
from .executor import OutcomeKind
from .reaper import take_back
from .slots import Slots

logger = logging.getLogger("django_resilient_queue.supervisor")

# Seconds between two checks: with the supervisor's tick, a cancel takes effect in 1-2 s.
CHECK_EVERY = 1.0
MESSAGE = "cancelled by an operator while running"


class HasSlots(Protocol):
    """A supervised child: the slots it shares with its supervisor."""

    slots: Slots


def cancelled_runs(runs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Return the runs (job id, run) among ``runs`` whose cancel was requested."""
    wanted = set(runs)
    if not wanted:
        return set()
    rows = Job.objects.filter(
        pk__in=[job_id for job_id, _ in wanted],
        status=JobStatus.RUNNING,
        cancel_requested_at__isnull=False,
    ).values_list("pk", "run")
    return {(int(pk), int(run)) for pk, run in rows} & wanted


def stop_cancelled(children: Iterable[HasSlots], kill_grace: float) -> int:
    """Record each cancelled run and put it past its deadline; return how many."""
    running = [(child, state) for child in children for state in child.slots.busy()]
    started = [(child, state) for child, state in running if state.running]
    cancelled = cancelled_runs((s.job_id, s.run) for _, s in started)
    stopped = 0
    for child, state in started:
        if (state.job_id, state.run) not in cancelled:
            continue
        if take_back(state.job_id, state.run, OutcomeKind.CANCELLED, MESSAGE):
            # Past deadline + grace: the supervisor's next overrun check stops the run.
            child.slots.expire(state.index, state.job_id, state.run, time.time() - kill_grace - 1)
            logger.warning("job id=%s cancelled while running; stopping it", state.job_id)
            stopped += 1
    return stopped
