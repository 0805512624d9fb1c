"""A job with its own schedule; imported only where a test asks for it (it ticks every second)."""

from __future__ import annotations

import os
import time

from django_resilient_queue import job
from tests.testapp.models import Execution


@job(cron="* * * * * *", takes_context=True)
def every_second(context) -> None:
    """Record one execution, with the tick time it was made for."""
    Execution.objects.create(
        job_id=context.job.pk,
        label=f"tick:{context.scheduled_at.isoformat()}",
        pid=os.getpid(),
        started_at=time.time(),
        finished_at=time.time(),
    )
