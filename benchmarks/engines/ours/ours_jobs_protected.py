"""The benchmark's jobs behind a breaker, a rate limit and a concurrency limit."""

from __future__ import annotations

import json
import os

from harness.common import record_start

from django_resilient_queue import job

# Limits generous enough never to hold a job back: what is measured is the cost of
# the bookkeeping. BENCH_PROTECTION (JSON of @job options) measures one gate at a time.
PROTECTION = json.loads(
    os.environ.get(
        "BENCH_PROTECTION",
        '{"breaker": true, "rate_limit": "100000/s", "concurrency_limit": 64}',
    )
)


@job(**PROTECTION)
def noop_protected() -> None:
    """The no-op again, behind the gates."""


@job(**PROTECTION)
def record_protected(t_enqueue: float) -> None:
    """The latency probe, behind the gates."""
    record_start(t_enqueue)
