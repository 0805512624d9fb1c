"""The Worker row a child registers: a generated name, or the one ``--worker-id`` chose."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Worker, WorkerState
from .config import WorkerConfig

logger = logging.getLogger("django_resilient_queue.worker")


def chosen_name(config: WorkerConfig, number: int) -> str | None:
    """The row name ``--worker-id`` gives child ``number`` (None without the flag)."""
    if config.worker_id is None:
        return None
    return config.worker_id if config.processes == 1 else f"{config.worker_id}-{number}"


def live_holder(name: str, lease_seconds: float) -> Worker | None:
    """The running Worker that holds ``name`` and beat within a lease, if any."""
    fresh = timezone.now() - timedelta(seconds=lease_seconds)
    return Worker.objects.filter(
        name=name, state=WorkerState.RUNNING, last_heartbeat_at__gte=fresh
    ).first()


def register_worker(config: WorkerConfig, number: int, supervisor_pid: int) -> Worker:
    """Create this child's Worker row, or take back the row of its chosen id."""
    host, pid, now = socket.gethostname(), os.getpid(), timezone.now()
    fields = {
        "hostname": host,
        "pid": pid,
        "supervisor_pid": supervisor_pid,
        "queues": list(config.queues),
        "threads": config.threads,
    }
    name = chosen_name(config, number)
    if name is None:
        return Worker.objects.create(name=f"{host}:{supervisor_pid}:{number}:{pid}", **fields)
    # A chosen id outlives its processes (a restart, a recycled child): the row is reused,
    # so attempts and results keep naming the id the operator gave.
    with transaction.atomic():
        worker, created = Worker.objects.select_for_update().get_or_create(
            name=name, defaults=fields
        )
        if not created:
            for field, value in {
                **fields,
                "state": WorkerState.RUNNING,
                "started_at": now,
                "last_heartbeat_at": now,
                "stopped_at": None,
                "processed": 0,
                "failed": 0,
                "current_jobs": [],
                "stop_requested": False,
            }.items():
                setattr(worker, field, value)
            worker.save()
    return worker
