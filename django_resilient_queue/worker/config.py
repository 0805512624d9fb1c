"""The options of one ``runworkers`` invocation, validated once."""

from __future__ import annotations

from dataclasses import dataclass

from .. import conf


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """What the supervisor and its children need to know."""

    queues: tuple[str, ...] = ()
    processes: int = 1
    threads: int = 1
    burst: bool = False
    max_jobs_per_child: int | None = None
    max_memory_mb: float | None = None
    graceful_timeout: float = 30.0
    # Each child exits (for good, not recycled) after running this many jobs.
    max_tasks: int | None = None
    # A name the operator chose for the Worker row (one per child: "-<n>" is added when
    # there are several); a restarted child takes its row back.
    worker_id: str | None = None
    poll_interval: float = 1.0
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 10.0
    # Seconds past a job's deadline before the supervisor kills its child: the soft
    # timeout (an exception raised in the job) gets this long to unwind cleanly.
    kill_grace: float = 2.0

    def __post_init__(self) -> None:
        if self.processes < 1 or self.threads < 1:
            raise ValueError("--processes and --threads must be at least 1")
        if self.max_jobs_per_child is not None and self.max_jobs_per_child < 1:
            raise ValueError("--max-jobs-per-child must be at least 1")
        if self.max_memory_mb is not None and self.max_memory_mb <= 0:
            raise ValueError("--max-memory-mb must be positive")
        if self.graceful_timeout < 0:
            raise ValueError("--graceful-timeout must be >= 0")
        if self.max_tasks is not None and self.max_tasks < 1:
            raise ValueError("--max-tasks must be at least 1")
        if not self.poll_interval > 0:
            raise ValueError("--interval must be a positive number of seconds")
        if self.worker_id is not None and not 0 < len(self.worker_id) <= 200:
            raise ValueError("--worker-id must be 1 to 200 characters")

    @property
    def finite(self) -> bool:
        """True when children end on their own (--burst, --max-tasks) and are not restarted."""
        return self.burst or self.max_tasks is not None

    def budget(self, processed: int) -> int | None:
        """Jobs a child that ran ``processed`` may still claim (None: no bound)."""
        bounds = [b for b in (self.max_jobs_per_child, self.max_tasks) if b]
        return max(0, min(bounds) - processed) if bounds else None

    @classmethod
    def from_settings(cls, **overrides: object) -> WorkerConfig:
        """Fill what the command line left out from ``RESILIENT_QUEUE``."""
        values: dict[str, object] = {
            "graceful_timeout": conf.graceful_timeout(),
            "poll_interval": conf.poll_interval(),
            "lease_seconds": conf.lease_seconds(),
            "heartbeat_seconds": conf.heartbeat_seconds(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
