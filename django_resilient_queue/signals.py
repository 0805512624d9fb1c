"""Signals for what happens to jobs and alerts, and the logging receivers that use them.

Each is sent once the write it reports is committed (never from inside the caller's
transaction, nor inside the outcome writer's), with ``sender`` the model class:

- ``job_enqueued(sender=Job, job=Job)``: the job row exists (sent on commit);
- ``job_started(sender=Job, job=Job)``: a worker is about to call the job's function (in
  the worker process, on the thread that runs it);
- ``job_finished(sender=Job, job=Job, outcome=str)``: a run's outcome was written, one of
  ``succeeded``, ``failed``, ``timeout``, ``abandoned``, ``cancelled`` or ``released``
  (in the process that wrote it: the worker, its supervisor, or a reaper);
- ``alert_raised(sender=Alert, alert=Alert, created=bool)``: an alert was recorded, new
  (``created``) or one more occurrence of an open one.

A receiver that raises is logged and ignored (``send_robust``): a listener never makes
an enqueue, a run or an alert fail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import Alert, Job

logger = logging.getLogger("django_resilient_queue.signals")

job_enqueued = Signal()
job_started = Signal()
job_finished = Signal()
alert_raised = Signal()

# Outcomes after which no run of the job happened: they finish nothing.
NOT_RUNS = ("unstarted", "expired")


def _send(signal: Signal, sender: type, **kwargs: Any) -> None:
    for receiver_, response in signal.send_robust(sender=sender, **kwargs):
        if isinstance(response, Exception):
            logger.error(
                "a %s receiver failed: %r", getattr(receiver_, "__qualname__", receiver_), response
            )


def send_enqueued(jobs: Iterable[Job], using: str) -> None:
    """Send ``job_enqueued`` for each of ``jobs`` once the current transaction commits."""
    if not job_enqueued.has_listeners():
        return  # the common case costs nothing per job
    from .models import Job

    chosen = list(jobs)

    def send() -> None:
        for job in chosen:
            _send(job_enqueued, Job, job=job)

    transaction.on_commit(send, using=using)


def send_started(job: Job) -> None:
    """Send ``job_started`` for ``job`` (no transaction is open around a run)."""
    if job_started.has_listeners():
        _send(job_started, type(job), job=job)


def send_finished(finished: Iterable[tuple[Job, str]], using: str) -> None:
    """Send ``job_finished`` for each written (job, outcome kind) once they are committed."""
    if not job_finished.has_listeners():
        return
    from .models import Job

    ended = [(job, kind) for job, kind in finished if kind not in NOT_RUNS]

    def send() -> None:
        for job, kind in ended:
            _send(job_finished, Job, job=job, outcome=kind)

    if ended:
        transaction.on_commit(send, using=using)


def send_alert_raised(alert: Alert, *, created: bool, using: str) -> None:
    """Send ``alert_raised`` once the alert's row is committed."""
    if alert_raised.has_listeners():
        transaction.on_commit(
            lambda: _send(alert_raised, type(alert), alert=alert, created=created), using=using
        )


# -- the logging receivers (like Django's django/tasks/signals.py) --------------------------
def log_job_enqueued(sender: type, job: Job, **kwargs: Any) -> None:
    """DEBUG: one line per enqueued job."""
    logger.debug("job id=%s task=%s enqueued in queue %s", job.pk, job.task, job.queue)


def log_job_started(sender: type, job: Job, **kwargs: Any) -> None:
    """DEBUG: one line per run that starts."""
    logger.debug("job id=%s task=%s started (attempt %s)", job.pk, job.task, job.attempts)


def log_job_finished(sender: type, job: Job, outcome: str, **kwargs: Any) -> None:
    """DEBUG: one line per run that ended."""
    logger.debug("job id=%s task=%s finished: %s", job.pk, job.task, outcome)


def connect_logging_receivers() -> bool:
    """Connect the logging receivers when this logger shows DEBUG (at start-up).

    Only then: a signal without receivers costs nothing per job, and the enqueue and
    drain benchmarks run without them.
    """
    if not logger.isEnabledFor(logging.DEBUG):
        return False
    job_enqueued.connect(log_job_enqueued, dispatch_uid="drq-log-enqueued")
    job_started.connect(log_job_started, dispatch_uid="drq-log-started")
    job_finished.connect(log_job_finished, dispatch_uid="drq-log-finished")
    return True
