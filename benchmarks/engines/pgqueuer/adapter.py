"""Adapter for PgQueuer (own venv): PostgreSQL, asyncpg, asyncio worker.

enqueue: ``await queries.enqueue("noop", None)`` per job, or one call with lists
(its bulk form). drain: N worker processes, each a ``QueueManager`` with its
defaults (batch_size=10, no global concurrency cap) in ``mode=drain``; the
entrypoints are ``async def``. latency: one idle ``QueueManager`` (LISTEN/NOTIFY).
PgQueuer deletes a finished job from its queue table and logs it in
``pgqueuer_log``: the "finished rows" of the history test go there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent
sys.path[:0] = [str(BENCH), str(HERE)]

from harness.common import (  # noqa: E402
    LATENCY_FILE_ENV,
    Finished,
    adapter_main,
    log,
    parse_url,
    record_start,
    run_drain,
    run_latency,
    start_process,
    workdir,
)

CHUNK = 10_000


def dsn(db_url: str) -> str:
    db = parse_url(db_url)
    return db.with_name(db.name).replace(f"{db.scheme}://", "postgresql://", 1)


async def connect(db_url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(dsn(db_url))


async def queries_for(db_url: str) -> tuple[Any, Any]:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    conn = await connect(db_url)
    return conn, Queries(AsyncpgDriver(conn))


async def worker(db_url: str, burst: bool) -> None:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.models import Job
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    conn = await connect(db_url)
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job: Job) -> None:
        """Does nothing: the measurement is the queue's own cost."""

    @qm.entrypoint("record")
    async def record(job: Job) -> None:
        record_start(float((job.payload or b"0").decode()))

    mode = QueueExecutionMode.drain if burst else QueueExecutionMode.continuous
    await qm.run(mode=mode)


async def sql(db_url: str, query: str, *params: Any) -> list[Any]:
    conn = await connect(db_url)
    try:
        return list(await conn.fetch(query, *params))
    finally:
        await conn.close()


async def enqueue_bulk(queries: Any, jobs: int) -> None:
    for start in range(0, jobs, CHUNK):
        n = min(CHUNK, jobs - start)
        await queries.enqueue(["noop"] * n, [None] * n, [0] * n)


def run_worker(args: argparse.Namespace) -> None:
    asyncio.run(worker(args.db_url, args.burst))


async def install(db_url: str) -> None:
    conn, queries = await queries_for(db_url)
    await queries.install()
    await conn.close()


def prepare(args: argparse.Namespace) -> None:
    asyncio.run(install(args.db_url))


async def timed_enqueue(args: argparse.Namespace) -> dict[str, Any]:
    import time

    conn, queries = await queries_for(args.db_url)
    count = "SELECT count(*) FROM pgqueuer WHERE status = 'queued'"
    (before,) = await sql(args.db_url, count)
    start = time.perf_counter()
    if args.mode == "single":
        for _ in range(args.jobs):
            await queries.enqueue("noop", None)
    else:
        await queries.enqueue(["noop"] * args.jobs, [None] * args.jobs, [0] * args.jobs)
    seconds = time.perf_counter() - start
    await conn.close()
    (after,) = await sql(args.db_url, count)
    if after[0] - before[0] != args.jobs:
        raise RuntimeError(f"{after[0] - before[0]} jobs queued, expected {args.jobs}")
    return {"jobs": args.jobs, "seconds": seconds, "jobs_per_second": args.jobs / seconds}


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(timed_enqueue(args))


async def prepare_drain(args: Any) -> None:
    if args.history:
        log(f"adding {args.history} finished rows to pgqueuer_log")
        await sql(
            args.db_url,
            "INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority, aggregated) "
            "SELECT g, 'successful', 'benchmarks.history', 0, TRUE "
            "FROM generate_series(1, $1::int) g",
            args.history,
        )
    log(f"queueing {args.jobs} jobs")
    conn, queries = await queries_for(args.db_url)
    await enqueue_bulk(queries, args.jobs)
    await conn.close()
    await sql(args.db_url, "VACUUM ANALYZE pgqueuer")
    await sql(args.db_url, "VACUUM ANALYZE pgqueuer_log")


def drain(args: argparse.Namespace) -> dict[str, Any]:
    work = workdir(args)
    asyncio.run(prepare_drain(args))
    logs = [work / f"worker-{os.getpid()}-{n}.log" for n in range(args.concurrency)]
    cmd = [sys.executable, __file__, "worker", "--db-url", args.db_url, "--burst"]

    def launch() -> list[Any]:
        return [start_process(cmd, log_path=path) for path in logs]

    def finished() -> Finished:
        rows = asyncio.run(
            sql(
                args.db_url,
                "SELECT count(*) FILTER (WHERE status = 'successful'), "
                "  extract(epoch FROM max(created) FILTER (WHERE status = 'successful')), "
                "  extract(epoch FROM min(created) FILTER (WHERE status = 'picked')) "
                "FROM pgqueuer_log WHERE entrypoint = 'noop'",
            )
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
    work = workdir(args)
    latency_file = work / f"latency-{os.getpid()}.txt"
    logs = [work / f"worker-{os.getpid()}.log"]
    cmd = [sys.executable, __file__, "worker", "--db-url", args.db_url]
    env = {LATENCY_FILE_ENV: str(latency_file)}
    # The enqueuing side runs its own event loop in this thread: no hop between threads
    # between taking the enqueue time and sending the INSERT.
    loop = asyncio.new_event_loop()
    conn, queries = loop.run_until_complete(queries_for(args.db_url))

    def launch() -> list[Any]:
        return [start_process(cmd, env=env, log_path=logs[0])]

    def enqueue_at(t: float) -> None:
        loop.run_until_complete(queries.enqueue("record", f"{t:.6f}".encode()))

    try:
        return run_latency(
            jobs=args.jobs,
            interval=args.interval,
            launch=launch,
            enqueue=enqueue_at,
            latency_file=latency_file,
            timeout=args.timeout,
            logs=logs,
        )
    finally:
        loop.run_until_complete(conn.close())
        loop.close()


if __name__ == "__main__":
    adapter_main(
        __doc__ or "",
        {
            "worker": run_worker,
            "prepare": prepare,
            "enqueue": enqueue,
            "drain": drain,
            "latency": latency,
        },
    )
