"""Circuit breakers shared by every worker: the state lives in the CircuitBreaker table."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from ..failures import FailureCategory
from ..models import BreakerState, CircuitBreaker, Job
from .options import Breaker


def _config_fields(config: Breaker) -> dict[str, float | int]:
    return {
        "failure_threshold": config.failure_threshold,
        "window": config.window,
        "reset_timeout": config.reset_timeout,
        "half_open_max": config.half_open_max,
    }


def _locked_row(key: str, config: Breaker, now: datetime) -> CircuitBreaker:
    """Return the breaker row of ``key``, locked for this transaction, creating it if needed."""
    for _ in range(3):
        row = CircuitBreaker.objects.select_for_update().filter(key=key).first()
        if row is not None:
            return row
        try:
            with transaction.atomic():
                return CircuitBreaker.objects.create(
                    key=key, updated_at=now, **_config_fields(config)
                )
        except IntegrityError:
            continue
    raise RuntimeError(f"could not lock breaker {key}")


# Runs (job id, run) this process admitted as half-open trials: only their success
# can close a breaker, so other successes need no write at all.
_trials: set[tuple[int, int]] = set()


def admit(job: Job, now: datetime) -> bool:
    """Let a claimed job of an open or half-open breaker run? Moves OPEN to HALF_OPEN after
    the reset timeout and counts trial jobs; atomic across workers (conditional updates)."""
    key = job.breaker_key
    row = (
        CircuitBreaker.objects.filter(key=key).values("state", "opened_at", "reset_timeout").first()
    )
    if row is None or row["state"] == BreakerState.CLOSED:
        return True
    if row["state"] == BreakerState.OPEN:
        reopen_at = (row["opened_at"] or now) + timedelta(seconds=row["reset_timeout"])
        if reopen_at > now:
            return False
        CircuitBreaker.objects.filter(
            key=key, state=BreakerState.OPEN, opened_at=row["opened_at"]
        ).update(state=BreakerState.HALF_OPEN, half_open_trials=0, updated_at=now)
    # A trial whose worker died (or that ended uncounted in another process) never gives its
    # place back: a half-open breaker unchanged for reset_timeout lets a new trial through.
    stale = now - stale_trial_after(float(row["reset_timeout"]))
    CircuitBreaker.objects.filter(
        key=key, state=BreakerState.HALF_OPEN, half_open_trials__gt=0, updated_at__lt=stale
    ).update(half_open_trials=0, updated_at=now)
    granted = CircuitBreaker.objects.filter(
        key=key, state=BreakerState.HALF_OPEN, half_open_trials__lt=F("half_open_max")
    ).update(half_open_trials=F("half_open_trials") + 1, updated_at=now)
    if granted:
        _trials.add((job.pk, job.run))
    return bool(granted)


def stale_trial_after(reset_timeout: float) -> timedelta:
    """How long a half-open breaker may wait for its trials before it admits new ones."""
    from .. import conf

    return timedelta(seconds=2 * max(reset_timeout, conf.lease_seconds()))


def is_trial(job: Job) -> bool:
    """True when this process admitted this run of ``job`` as a half-open trial."""
    return (job.pk, job.run) in _trials


def unadmit(job: Job) -> None:
    """Give back the trial place of a run that will not report on the dependency (only this
    process knows its trials; others' are recovered when they go stale, see ``admit``)."""
    if (job.pk, job.run) in _trials:
        _trials.discard((job.pk, job.run))
        unadmit_key(job.breaker_key or "")


def unadmit_key(key: str) -> None:
    """Free one trial place of ``key`` if it is half-open (runs ended by another process)."""
    CircuitBreaker.objects.filter(
        key=key, state=BreakerState.HALF_OPEN, half_open_trials__gt=0
    ).update(half_open_trials=F("half_open_trials") - 1)


def record(
    job: Job,
    config: Breaker,
    *,
    succeeded: bool,
    category: FailureCategory | None,
    now: datetime,
) -> str | None:
    """Apply one finished run to the breaker (inside the outcome's transaction).

    Return "opened" or "closed" when the state changed that way, else None.
    """
    key = job.breaker_key or ""
    trial = is_trial(job)
    _trials.discard((job.pk, job.run))
    counted = not succeeded and config.counts_failure(category)
    if not succeeded and not counted:
        if trial:  # a trial that says nothing about the dependency frees its place
            unadmit_key(key)
        return None
    if succeeded:
        if not trial:
            return None  # only a trial's success changes a breaker
        closed = CircuitBreaker.objects.filter(key=key, state=BreakerState.HALF_OPEN).update(
            state=BreakerState.CLOSED,
            failures=0,
            half_open_trials=0,
            opened_at=None,
            window_started_at=None,
            updated_at=now,
        )
        return "closed" if closed else None
    row = _locked_row(key, config, now)
    for name, value in _config_fields(config).items():
        setattr(row, name, value)
    row.updated_at = now
    if row.state == BreakerState.HALF_OPEN:
        row.state, row.opened_at, row.half_open_trials = BreakerState.OPEN, now, 0
        row.save()
        return "opened"
    window_start = row.window_started_at
    if window_start is None or window_start < now - timedelta(seconds=config.window):
        row.failures, row.window_started_at = 1, now
    else:
        row.failures += 1
    opened = row.state == BreakerState.CLOSED and row.failures >= config.failure_threshold
    if opened:
        row.state, row.opened_at, row.half_open_trials = BreakerState.OPEN, now, 0
    row.save()
    return "opened" if opened else None
