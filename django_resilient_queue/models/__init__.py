"""The queue's tables: every one is visible in the Django admin."""

from .alert import Alert, AlertKind, AlertSeverity
from .attempt import Attempt, AttemptOutcome
from .breaker import BreakerState, CircuitBreaker
from .counter import Counter
from .dashboard import Dashboard
from .dead_letter import DeadLetter
from .delivery import AlertDelivery, DeliveryStatus
from .gate import Gate, GateKind
from .job import Job, JobStatus
from .lease import Lease
from .queue import QueueSample, QueueState
from .schedule import CatchUp, Schedule, ScheduleTick
from .worker import Worker, WorkerState

__all__ = [
    "Alert",
    "AlertDelivery",
    "AlertKind",
    "AlertSeverity",
    "Attempt",
    "AttemptOutcome",
    "BreakerState",
    "CatchUp",
    "CircuitBreaker",
    "Counter",
    "Dashboard",
    "DeadLetter",
    "DeliveryStatus",
    "Gate",
    "GateKind",
    "Job",
    "JobStatus",
    "Lease",
    "QueueSample",
    "QueueState",
    "Schedule",
    "ScheduleTick",
    "Worker",
    "WorkerState",
]
