"""The benchmark's jobs: a no-op, a start-time recorder, and the protected no-op."""

from __future__ import annotations

from harness.common import record_start

from django_resilient_queue import job


@job
def noop() -> None:
    """Does nothing: the measurement is the queue's own cost."""


@job
def record(t_enqueue: float) -> None:
    """Latency probe: write down when it started."""
    record_start(t_enqueue)


def _noop_protected() -> None:
    """The no-op again, behind a breaker, a rate limit and a concurrency limit."""


def _record_protected(t_enqueue: float) -> None:
    record_start(t_enqueue)


# Limits generous enough never to hold a job back: what is measured is the cost of
# the bookkeeping. The options exist only once the protection features are merged;
# until then this engine reports "not available" instead of a number.
PROTECTION = {"breaker": True, "rate_limit": "100000/s", "concurrency_limit": 64}
try:
    noop_protected = job(**PROTECTION)(_noop_protected)
    record_protected = job(**PROTECTION)(_record_protected)
    PROTECTION_ERROR = None
except TypeError as exc:
    noop_protected = record_protected = None
    PROTECTION_ERROR = f"@job does not accept {sorted(PROTECTION)} yet ({exc})"
