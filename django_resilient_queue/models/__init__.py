"""The queue's tables: every one is visible in the Django admin."""

from .alert import Alert, AlertSeverity
from .attempt import Attempt, AttemptOutcome
from .breaker import BreakerState, CircuitBreaker
from .dead_letter import DeadLetter
from .gate import Gate, GateKind
from .job import Job, JobStatus
from .schedule import CatchUp, Schedule, ScheduleTick
from .worker import Worker, WorkerState

__all__ = [
    "Alert",
    "AlertSeverity",
    "Attempt",
    "AttemptOutcome",
    "BreakerState",
    "CatchUp",
    "CircuitBreaker",
    "DeadLetter",
    "Gate",
    "GateKind",
    "Job",
    "JobStatus",
    "Schedule",
    "ScheduleTick",
    "Worker",
    "WorkerState",
]
