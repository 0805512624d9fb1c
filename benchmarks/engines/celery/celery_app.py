"""The benchmark's Celery app: Redis broker, no result backend (results ignored)."""

from __future__ import annotations

import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun
from harness.common import record_start

app = Celery("benchmarks", broker=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15"))
app.conf.update(
    task_default_queue=os.environ.get("BENCH_QUEUE", "celery"),
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="noop")
def noop() -> None:
    """Does nothing: the measurement is the queue's own cost."""


@app.task(name="record")
def record(t_enqueue: float) -> None:
    """Latency probe: write down when it started."""
    record_start(t_enqueue)


# Celery with no result backend keeps no record of finished tasks: each pool process
# appends the time it finished a no-op to its own file (one fixed-width line, an
# unbuffered write of 18 bytes), so the runner can count them and find the last one.
MARK_DIR = os.environ.get("BENCH_MARK_DIR")
_files: dict[str, int] = {}


def _mark(kind: str) -> None:
    if not MARK_DIR:
        return
    fd = _files.get(kind)
    if fd is None:
        path = os.path.join(MARK_DIR, f"{kind}-{os.getpid()}.txt")
        fd = _files[kind] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{time.time():17.6f}\n".encode())


@task_prerun.connect
def _started(task=None, **_: object) -> None:
    if task is not None and task.name == "noop" and "started" not in _files:
        _mark("started")  # the first start in this process only


@task_postrun.connect
def _finished(task=None, **_: object) -> None:
    if task is not None and task.name == "noop":
        _mark("finished")
