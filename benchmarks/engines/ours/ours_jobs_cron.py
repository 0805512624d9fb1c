"""The cron-lag probe: a job ticked every second that returns when it started."""

from __future__ import annotations

import time

from django_resilient_queue import job


@job(cron="* * * * * *")
def tick() -> float:
    """Return the wall-clock time the job started (the lag is this minus its tick time)."""
    return time.time()
