"""The benchmark's plain jobs: a no-op and a start-time recorder (no gate anywhere).

The protected variants live in ``ours_jobs_protected``, which the plain runs do not
load: with a gated job registered, every claim would take the gated path.
"""

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
