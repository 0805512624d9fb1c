"""Time one Prometheus scrape (the collector's queries) over many finished jobs.

    python benchmarks/scrape.py [--database-url postgres://postgres@127.0.0.1:5432/drq_scrape]
                                [--rows 1000000] [--scrapes 20]

It (re)creates the database, migrates it, bulk-inserts ``--rows`` succeeded jobs with one
``INSERT ... SELECT`` over ``generate_series``, a small live backlog, takes the finished-rows
snapshot once (as the alert evaluator does), then renders ``metrics/`` ``--scrapes`` times
and prints the median and the slowest, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "engines" / "ours"), str(HERE.parent)]

from harness.common import copy_row_sql, parse_url  # noqa: E402


def recreate(url: str) -> None:
    """Drop and create the benchmark database (PostgreSQL)."""
    import psycopg

    db = parse_url(url)
    with psycopg.connect(db.with_name("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db.name}"')


def load(rows: int) -> None:
    """Insert ``rows`` succeeded jobs (one statement), then a live backlog of 1,000."""
    from django.db import connection
    from django.utils import timezone

    from django_resilient_queue.models import Job

    now = timezone.now()
    template = Job.objects.create(
        task="bench.finished",
        status="succeeded",
        attempts=1,
        run_after=now,
        first_started_at=now,
        started_at=now,
        finished_at=now,
    )
    columns = [
        connection.ops.quote_name(f.column) for f in Job._meta.concrete_fields if not f.primary_key
    ]
    table = connection.ops.quote_name(Job._meta.db_table)
    overrides = {
        '"task"': "'bench.task_' || (g %% 20)",
        '"queue"': "CASE WHEN g %% 4 = 0 THEN 'emails' ELSE 'default' END",
    }
    sql = copy_row_sql("postgresql", table, columns, rows - 1, "t.id = %s", overrides)
    with connection.cursor() as cursor:
        cursor.execute(sql, [template.pk])
        cursor.execute(f"ANALYZE {table}")
    from ours_jobs import noop

    noop.enqueue_many([() for _ in range(1000)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/drq_scrape_bench"
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    recreate(args.database_url)
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "ours_settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    load(args.rows)
    print(f"loaded {args.rows} finished jobs in {time.perf_counter() - started:.1f} s")
    from django_resilient_queue.metrics import render_metrics
    from django_resilient_queue.snapshots import refresh_job_counts

    started = time.perf_counter()
    refresh_job_counts()  # what the alert evaluator does every 30 s
    snapshot_ms = (time.perf_counter() - started) * 1000
    print(f"finished-rows snapshot (alert evaluator, every 30 s): {snapshot_ms:.1f} ms")
    render_metrics()  # warm the connection and the caches
    timings = []
    for _ in range(args.scrapes):
        started = time.perf_counter()
        body = render_metrics()
        timings.append((time.perf_counter() - started) * 1000)
    lines = body.count(b"\n")
    print(
        f"scrape: median {statistics.median(timings):.1f} ms, slowest {max(timings):.1f} ms "
        f"over {args.scrapes} scrapes ({len(body)} bytes, {lines} lines)"
    )


if __name__ == "__main__":
    main()
