"""What a ``takes_context=True`` job receives as its first argument."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Job


@dataclass
class JobContext:
    """The job being run, its attempt number and a way to report progress."""

    job: Job | None
    attempt: int

    def set_progress(self, percent: float, message: str = "", stage: str = "") -> bool:
        """Record progress on the job row; return False if this run no longer owns the job."""
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
