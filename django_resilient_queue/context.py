"""What a ``takes_context=True`` job receives as its first argument."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Job

# A checkpoint is a small note to resume from, not a result store: it is written at once,
# on the job's row, so it stays small.
MAX_CHECKPOINT_BYTES = 64 * 1024


class CheckpointTooLarge(ValueError):
    """``context.checkpoint(data)`` was given more than MAX_CHECKPOINT_BYTES of JSON."""


@dataclass
class JobContext:
    """The job being run, its attempt number, progress reports and checkpoints."""

    job: Job | None
    attempt: int
    # Told when progress or a checkpoint changes (stall detection); set by the executor.
    on_progress: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    last_checkpoint: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        # The previous attempts' last checkpoint, as this attempt found it.
        stored = self.job.checkpoint if self.job is not None else None
        if stored is not None:
            from .serialization import decode_value

            self.last_checkpoint = decode_value(stored)

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
        progress = {"percent": float(percent), "message": message, "stage": stage}
        return self._in_sync_context("progress", progress)

    async def aset_progress(self, percent: float, message: str = "", stage: str = "") -> bool:
        """Record progress from an async job."""
        progress = {"percent": float(percent), "message": message, "stage": stage}
        return await self._in_thread("progress", progress)

    def checkpoint(self, data: Any) -> bool:
        """Store ``data`` (JSON, or a typed argument value) at once as this job's checkpoint.

        The next attempt reads it back as ``context.last_checkpoint``. Raise
        CheckpointTooLarge above MAX_CHECKPOINT_BYTES, TypeError for what JSON cannot hold;
        return False (writing nothing) if this run no longer owns the job.
        """
        return self._in_sync_context("checkpoint", _encode_checkpoint(data))

    async def acheckpoint(self, data: Any) -> bool:
        """Store a checkpoint from an async job."""
        return await self._in_thread("checkpoint", _encode_checkpoint(data))

    def _in_sync_context(self, name: str, value: Any) -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._write(name, value)
        # Inside an async job: the ORM must not run on the event loop's thread.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(self._write_and_close, name, value).result()

    async def _in_thread(self, name: str, value: Any) -> bool:
        from asgiref.sync import sync_to_async

        return bool(await sync_to_async(self._write_and_close, thread_sensitive=False)(name, value))

    def _write_and_close(self, name: str, value: Any) -> bool:
        from django.db import connections

        try:
            return self._write(name, value)
        finally:
            connections.close_all()  # this thread's own connection; the thread ends now

    def _write(self, name: str, value: Any) -> bool:
        """Write one column about this run, fenced like every write about a run."""
        if self.job is None:
            return False
        from .models import Job

        previous = getattr(self.job, name)
        updated = Job.objects.run_of(self.job.pk, self.job.run).update(**{name: value})
        if updated:
            setattr(self.job, name, value)
            if value != previous and self.on_progress is not None:
                self.on_progress()
        return bool(updated)


def _encode_checkpoint(data: Any) -> Any:
    from .serialization import encode_value

    encoded = encode_value(data, "checkpoint")
    size = len(json.dumps(encoded, separators=(",", ":")).encode())
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointTooLarge(
            f"checkpoint is {size} bytes of JSON; at most {MAX_CHECKPOINT_BYTES} are kept "
            "(store a position to resume from, not the data itself)"
        )
    return encoded
