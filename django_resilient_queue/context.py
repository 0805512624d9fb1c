"""What a ``takes_context=True`` job receives as its first argument."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Job


@dataclass
class JobContext:
    """The job being run, its attempt number and a way to report progress."""

    job: Job | None
    attempt: int

    @property
    def scheduled_at(self) -> datetime | None:
        """Return the tick time of the schedule that made this job (the same on every retry).

        None for a job no schedule made. One query; from an async job, read
        ``context.job.run_after`` instead (the tick time on a first attempt).
        """
        if self.job is None:
            return None
        from .models import ScheduleTick

        ticks = ScheduleTick.objects.filter(job_id=self.job.pk).values_list("tick_at", flat=True)
        return ticks.first()

    def set_progress(self, percent: float, message: str = "", stage: str = "") -> bool:
        """Record progress on the job row; return False if this run no longer owns the job."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._write_progress(percent, message, stage)
        # Inside an async job: the ORM must not run on the event loop's thread.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(self._write_progress_and_close, percent, message, stage).result()

    async def aset_progress(self, percent: float, message: str = "", stage: str = "") -> bool:
        """Record progress from an async job."""
        from asgiref.sync import sync_to_async

        write = sync_to_async(self._write_progress_and_close, thread_sensitive=False)
        return bool(await write(percent, message, stage))

    def _write_progress_and_close(self, percent: float, message: str, stage: str) -> bool:
        from django.db import connections

        try:
            return self._write_progress(percent, message, stage)
        finally:
            connections.close_all()  # this thread's own connection; the thread ends now

    def _write_progress(self, percent: float, message: str, stage: str) -> bool:
        if self.job is None:
            return False
        from .models import Job, JobStatus

        progress = {"percent": float(percent), "message": message, "stage": stage}
        updated = Job.objects.filter(
            pk=self.job.pk, attempts=self.attempt, status=JobStatus.RUNNING
        ).update(progress=progress)
        if updated:
            self.job.progress = progress
        return bool(updated)
