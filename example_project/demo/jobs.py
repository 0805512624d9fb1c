"""The demo's jobs; the queue imports this module at start-up because the app has one."""

from __future__ import annotations

import logging
import time

from django_resilient_queue import Breaker, JobContext, job

logger = logging.getLogger(__name__)

SLOW_STEPS = 4


@job
def quick(n: int) -> int:
    """Return ``n`` squared at once: the bulk of the workload."""
    return n * n


@job(takes_context=True, timeout=60)
def slow(context: JobContext, seconds: float = 2.0) -> str:
    """Sleep ``seconds`` in a few steps, reporting progress after each one."""
    for step in range(1, SLOW_STEPS + 1):
        time.sleep(seconds / SLOW_STEPS)
        context.set_progress(
            100 * step / SLOW_STEPS, message=f"step {step} of {SLOW_STEPS}", stage="working"
        )
    return f"slept {seconds:g} s"


@job(takes_context=True)
def flaky(context: JobContext, upstream: str) -> str:
    """Fail the first attempt with a connection error, then succeed."""
    # The failure is decided by the attempt number, not by chance, so that the demo
    # (and its check in burst mode) always sees the same story: attempt 1 fails as a
    # NETWORK error, which that category's policy retries after its backoff
    # (linear, 5 s), and attempt 2 succeeds.
    if context.attempt == 1:
        logger.info("flaky: %s refuses the connection on attempt 1 (simulated)", upstream)
        raise ConnectionError(f"{upstream} refused the connection (simulated outage)")
    return f"{upstream} answered on attempt {context.attempt}"


@job
def failing(value: str) -> None:
    """Reject its input: a ValueError is a VALIDATION failure, dead-lettered at once."""
    raise ValueError(f"{value!r} is not a valid order number")


# Its breaker stays open ten minutes once open: long enough for a demo user to find it
# under Circuit breakers and reset it (a shorter reset_timeout would let a trial job
# through, which succeeds and closes it on its own).
PAYMENTS_BREAKER = Breaker(failure_threshold=3, reset_timeout=600)


@job(breaker=PAYMENTS_BREAKER, breaker_key="payments-api")
def charge(order: str) -> str:
    """Charge an order through the payments API (its circuit breaker guards the calls)."""
    return f"charged {order}"


@job(cron="* * * * *", takes_context=True)
def heartbeat(context: JobContext) -> str:
    """Run once a minute (a cron schedule): say which tick this run is for."""
    tick = context.scheduled_at
    logger.info("heartbeat for the tick of %s", tick.isoformat() if tick else "a manual run")
    return f"tick {tick.isoformat() if tick else '-'}"
