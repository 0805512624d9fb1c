"""Claim runnable jobs for this worker through the database's dialect."""

from __future__ import annotations

from django.utils import timezone

from ..db import Dialect
from ..models import Job
from .config import WorkerConfig


class Claimer:
    """Knows who claims (worker id), what (queues) and for how long (lease)."""

    def __init__(self, dialect: Dialect, worker_id: int, config: WorkerConfig) -> None:
        self.dialect = dialect
        self.worker_id = worker_id
        self.config = config

    def claim(self, limit: int) -> list[Job]:
        """Return up to ``limit`` jobs now marked running for this worker."""
        return self.dialect.claim(
            worker_id=self.worker_id,
            queues=self.config.queues,
            limit=limit,
            lease_seconds=self.config.lease_seconds,
            now=timezone.now(),
        )
