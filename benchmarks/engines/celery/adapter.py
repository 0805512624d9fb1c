"""Adapter for Celery on the local Redis (own venv).

enqueue: ``noop.delay()`` per job; Celery has no bulk insert, its closest form is
``group(...).apply_async()`` (one producer, one message per task). drain:
``celery worker --pool prefork --concurrency N --without-mingle --without-gossip
--without-heartbeat`` with the default prefetch multiplier (4) and early acks
(acks_late off, the default); no result backend. The end of the drain is the last
``task_postrun`` time a pool process wrote down (Celery keeps no record of finished
tasks without a result backend). latency: one idle prefork worker, concurrency 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent
sys.path[:0] = [str(BENCH), str(HERE)]

from harness.common import (  # noqa: E402
    Finished,
    adapter_main,
    log,
    run_drain,
    run_one_worker_latency,
    start_process,
    timed,
    workdir,
)

CHUNK = 10_000
LINE = 18  # bytes per mark: f"{time:17.6f}\n"


def worker_cmd(queue: str, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "celery_app",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--queues",
        queue,
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel",
        "WARNING",
    ]


def read_marks(directory: Path, kind: str) -> list[float]:
    values: list[float] = []
    for path in directory.glob(f"{kind}-*.txt"):
        values.extend(float(line) for line in path.read_text().split())
    return values


def worker_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "BENCH_BROKER_URL": args.db_url,
        "BENCH_QUEUE": args.queue,
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(HERE), os.environ.get("PYTHONPATH", "")]),
    }


def queued(args: argparse.Namespace) -> int:
    import redis

    return int(redis.Redis.from_url(args.db_url).llen(args.queue))


def prepare(args: argparse.Namespace) -> None:
    return None


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    from celery import group
    from celery_app import noop

    if args.mode == "single":

        def go() -> None:
            for _ in range(args.jobs):
                noop.delay()

    else:

        def go() -> None:
            group(noop.s() for _ in range(args.jobs)).apply_async()

    seconds = timed(go)
    if queued(args) != args.jobs:
        raise RuntimeError(f"{queued(args)} messages queued, expected {args.jobs}")
    return {"jobs": args.jobs, "seconds": seconds, "jobs_per_second": args.jobs / seconds}


def drain(args: argparse.Namespace) -> dict[str, Any]:
    from celery import group
    from celery_app import noop

    if args.history:
        return {"status": "n/a", "reason": "a Redis broker keeps no finished tasks"}
    log(f"queueing {args.jobs} tasks")
    for start in range(0, args.jobs, CHUNK):
        group(noop.s() for _ in range(min(CHUNK, args.jobs - start))).apply_async()
    work = workdir(args)
    marks = work / f"marks-{os.getpid()}"
    marks.mkdir(exist_ok=True)
    for old in marks.iterdir():
        old.unlink()
    logs = [work / f"worker-{os.getpid()}.log"]
    cmd = worker_cmd(args.queue, args.concurrency)

    def launch() -> list[Any]:
        env = {**worker_env(args), "BENCH_MARK_DIR": str(marks)}
        return [start_process(cmd, env=env, log_path=logs[0], cwd=HERE)]

    def finished() -> Finished:
        count = sum(p.stat().st_size for p in marks.glob("finished-*.txt")) // LINE
        if count < args.jobs:
            return Finished(count, None)
        ends = read_marks(marks, "finished")
        starts = read_marks(marks, "started")
        return Finished(len(ends), max(ends), min(starts) if starts else None)

    return run_drain(
        jobs=args.jobs,
        launch=launch,
        finished=finished,
        exits_when_done=False,
        timeout=args.timeout,
        logs=logs,
    )


def latency(args: argparse.Namespace) -> dict[str, Any]:
    from celery_app import record

    cmd = worker_cmd(args.queue, 1)
    return run_one_worker_latency(args, cmd, worker_env(args), record.delay, cwd=HERE)


@contextlib.contextmanager
def redis_session(args: argparse.Namespace) -> Iterator[None]:
    """The app reads its broker from the environment; a "fresh database" on Redis is a
    fresh queue name, and what the action made there is removed afterwards."""
    import redis

    os.environ["BENCH_BROKER_URL"] = args.db_url
    os.environ["BENCH_QUEUE"] = args.queue
    client = redis.Redis.from_url(args.db_url)
    keys_before = set(client.keys("*"))
    try:
        yield
    finally:
        created = set(client.keys("*")) - keys_before
        if created:
            client.delete(*created)


if __name__ == "__main__":
    adapter_main(
        __doc__ or "",
        {"prepare": prepare, "enqueue": enqueue, "drain": drain, "latency": latency},
        session=redis_session,
    )
