"""Cumulative counts kept in ``Counter`` rows, so that pruning rows never lowers a metric.

The outcome flush calls ``count_outcomes`` once, inside its transaction: the counts commit
with the outcomes they count, in one multi-row upsert per flush. The collector reads them.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .db.counters import Key, add_to_counters

ATTEMPTS = "attempts"
DURATION_BUCKET = "duration_bucket"  # per task; label: the bucket's upper bound
DURATION_SUM = "duration_sum_us"  # per task; microseconds, so the sum stays an integer
WAIT_BUCKET = "wait_bucket"  # per queue (in the ``task`` column)
WAIT_SUM = "wait_sum_us"

# Upper bounds (seconds) of the job duration histogram: from a no-op to a long batch job.
DURATION_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
# Upper bounds (seconds) of the queue wait histogram: from an idle worker to a long backlog.
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)
INF = "+Inf"
TIMED = frozenset({"succeeded", "failed", "timeout"})
# Outcome kinds that leave an Attempt row (an "unstarted" run leaves none).
COUNTED = frozenset({"succeeded", "failed", "timeout", "abandoned", "released", "cancelled"})


def bucket_label(bounds: Sequence[float], seconds: float) -> str:
    """Return the label of the first bucket whose upper bound holds ``seconds``."""
    index = bisect.bisect_left(bounds, seconds)
    return str(bounds[index]) if index < len(bounds) else INF


def count_outcomes(pairs: Sequence[tuple[Any, Any]], written: Sequence[bool], alias: str) -> None:
    """Count the written outcomes: attempts by outcome, run times per task, waits per queue."""
    increments: dict[Key, int] = defaultdict(int)
    for (job, outcome), done in zip(pairs, written, strict=True):
        if not done or outcome.kind not in COUNTED:
            continue
        increments[(ATTEMPTS, job.task, outcome.kind)] += 1
        started = outcome.started_at or job.started_at
        if outcome.kind not in TIMED or started is None:
            continue
        run = max(0.0, (outcome.finished_at - started).total_seconds())
        increments[(DURATION_BUCKET, job.task, bucket_label(DURATION_BUCKETS, run))] += 1
        increments[(DURATION_SUM, job.task, "")] += round(run * 1_000_000)
        if job.run_after is not None:
            wait = max(0.0, (started - job.run_after).total_seconds())
            increments[(WAIT_BUCKET, job.queue, bucket_label(WAIT_BUCKETS, wait))] += 1
            increments[(WAIT_SUM, job.queue, "")] += round(wait * 1_000_000)
    add_to_counters(increments, alias)
