"""Exceptions a job raises to steer its own outcome, and the ones the queue raises."""

from __future__ import annotations


class RetryLater(Exception):
    """Ask for another attempt after ``delay`` seconds; it counts as an attempt."""

    def __init__(self, delay: float | None = None, message: str = "") -> None:
        super().__init__(message or f"retry requested (delay={delay})")
        self.delay = delay


class Discard(Exception):
    """End the job as failed, without retrying, with a reason."""


class BusinessError(Exception):
    """A failure of the domain (refused payment, unknown account): never retried by default."""


class QueueFull(Exception):
    """The queue is above its emergency threshold; nothing was written."""


class UnknownTask(LookupError):
    """A job row names a task that no ``@job`` registered."""


class DuplicateTask(TypeError):
    """Two different functions declare one task name (two lambdas, a redefinition)."""
