"""django-resilient-queue: background jobs in the database your Django project already has."""

from .context import JobContext
from .definition import JobDefinition, job
from .exceptions import BusinessError, Discard, QueueFull, RetryLater
from .failures import FailureCategory
from .priority import Priority
from .protection.options import Breaker
from .retry import Backoff, Retry

__all__ = [
    "Backoff",
    "Breaker",
    "BusinessError",
    "Discard",
    "FailureCategory",
    "JobContext",
    "JobDefinition",
    "Priority",
    "QueueFull",
    "Retry",
    "RetryLater",
    "job",
]

__version__ = "0.1.0"
