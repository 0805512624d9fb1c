"""Adapter for procrastinate (own venv): PostgreSQL, psycopg 3, asyncio worker.

enqueue: ``noop.defer()`` per job from synchronous code (the app opened
synchronously, as a Django view would) or ``noop.batch_defer()``. drain: one
worker process, ``app.run_worker(concurrency=N, wait=False)``; the tasks are
``async def``, the worker's native kind. latency: one idle worker
(LISTEN/NOTIFY, the default).
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
    parse_url,
    run_drain,
    run_one_worker_latency,
    start_process,
    timed,
    workdir,
)

CHUNK = 10_000


def sql(db_url: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(parse_url(db_url).conninfo(), autocommit=True) as conn:
        cursor = conn.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


def worker(args: argparse.Namespace) -> None:
    from proc_app import app

    app.run_worker(concurrency=args.concurrency, wait=not args.burst)


def prepare(args: argparse.Namespace) -> None:
    from proc_app import app

    with app.open():
        app.schema_manager.apply_schema()


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    from proc_app import app, noop

    with app.open():
        if args.mode == "single":

            def go() -> None:
                for _ in range(args.jobs):
                    noop.defer()

        else:

            def go() -> None:
                noop.batch_defer(*({} for _ in range(args.jobs)))

        seconds = timed(go)
    (queued,) = sql(args.db_url, "SELECT count(*) FROM procrastinate_jobs WHERE status='todo'")
    if queued[0] != args.jobs:
        raise RuntimeError(f"{queued[0]} jobs todo, expected {args.jobs}")
    return {"jobs": args.jobs, "seconds": seconds, "jobs_per_second": args.jobs / seconds}


def drain(args: argparse.Namespace) -> dict[str, Any]:
    from proc_app import app, noop

    if args.history:
        log(f"adding {args.history} finished rows")
        sql(
            args.db_url,
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args, attempts) "
            "SELECT 'default', 'benchmarks.history', 'succeeded', '{}', 1 "
            "FROM generate_series(1, %s)",
            [args.history],
        )
    log(f"queueing {args.jobs} jobs")
    with app.open():
        for start in range(0, args.jobs, CHUNK):
            noop.batch_defer(*({} for _ in range(min(CHUNK, args.jobs - start))))
    sql(args.db_url, "VACUUM ANALYZE procrastinate_jobs")
    sql(args.db_url, "VACUUM ANALYZE procrastinate_events")
    logs = [workdir(args) / f"worker-{os.getpid()}.log"]
    cmd = [sys.executable, __file__, "worker", "--db-url", args.db_url, "--burst"]
    cmd += ["--concurrency", str(args.concurrency)]

    def launch() -> list[Any]:
        return [start_process(cmd, env=worker_env(args), log_path=logs[0])]

    def finished() -> Finished:
        rows = sql(
            args.db_url,
            "SELECT (SELECT count(*) FROM procrastinate_jobs "
            "        WHERE task_name = 'noop' AND status = 'succeeded'), "
            "  extract(epoch FROM max(at) FILTER (WHERE type = 'succeeded')), "
            "  extract(epoch FROM min(at) FILTER (WHERE type = 'started')) "
            "FROM procrastinate_events",
        )
        count, last, first = rows[0]
        return Finished(count, float(last) if last else None, float(first) if first else None)

    return run_drain(
        jobs=args.jobs,
        launch=launch,
        finished=finished,
        exits_when_done=True,
        timeout=args.timeout,
        logs=logs,
        db_url=args.db_url,
    )


def latency(args: argparse.Namespace) -> dict[str, Any]:
    from proc_app import app, record

    cmd = [sys.executable, __file__, "worker", "--db-url", args.db_url, "--concurrency", "1"]
    with app.open():
        return run_one_worker_latency(
            args, cmd, worker_env(args), lambda t: record.defer(t_enqueue=t)
        )


def worker_env(args: argparse.Namespace) -> dict[str, str]:
    return {"BENCH_DATABASE_URL": args.db_url}


@contextlib.contextmanager
def app_session(args: argparse.Namespace) -> Iterator[None]:
    """The app reads its database from the environment, before it is imported."""
    os.environ["BENCH_DATABASE_URL"] = args.db_url
    yield


if __name__ == "__main__":
    adapter_main(
        __doc__ or "",
        {
            "worker": worker,
            "prepare": prepare,
            "enqueue": enqueue,
            "drain": drain,
            "latency": latency,
        },
        session=app_session,
    )
