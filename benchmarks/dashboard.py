#!/usr/bin/env python
"""Time the admin dashboard (and the Job change list) on a large PostgreSQL table.

    python benchmarks/dashboard.py                 # 1,000,000 finished + 100,000 queued jobs
    python benchmarks/dashboard.py --finished 100000 --queued 10000 --repeat 5

It creates its own database (bench_dashboard_<pid>, dropped at the end) on the server
of BENCH_POSTGRES_URL (postgresql://postgres@127.0.0.1:5432/postgres), migrates it,
bulk-inserts the jobs with SQL generate_series (finished over the last 7 days, 2% of
them failed, each with one Attempt; queued over 4 queues) and a day of queue samples
every 5 s, runs ANALYZE, then renders each page with Django's test Client as a logged-in
superuser: one warm-up, then the median of --repeat renders.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent

JOBS_SQL = """
INSERT INTO django_resilient_queue_job
  (task, queue, priority, status, args, kwargs, run_after, attempts, run, max_attempts, stalls,
   progress, reason, holds_place, solo, created_at, started_at, finished_at, result)
SELECT 'tests.jobs.' || (ARRAY['add','record','fail_unknown','fail_business'])[1 + g %% 4],
       (ARRAY['default','mail','reports','other'])[1 + g %% 4], 0,
       CASE WHEN g %% 50 = 0 THEN 'failed' ELSE 'succeeded' END, '[1, 2]', '{}',
       now() - (g %% 604800) * interval '1 second', 1, 1, 3, 0, '{}', '', false, false,
       now() - (g %% 604800) * interval '1 second',
       now() - (g %% 604800) * interval '1 second',
       now() - (g %% 604800) * interval '1 second' + interval '50 milliseconds', '3'
FROM generate_series(1, %s) AS g
"""
ATTEMPTS_SQL = """
INSERT INTO django_resilient_queue_attempt
  (job_id, number, started_at, finished_at, outcome, failure_category, error_type,
   error_message, traceback)
SELECT id, 1, started_at, finished_at,
       CASE WHEN status = 'failed' THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN status = 'failed' THEN 'NETWORK' ELSE '' END,
       CASE WHEN status = 'failed' THEN 'builtins.ConnectionError' ELSE '' END, '', ''
FROM django_resilient_queue_job
"""
QUEUED_SQL = """
INSERT INTO django_resilient_queue_job
  (task, queue, priority, status, args, kwargs, run_after, attempts, run, max_attempts, stalls,
   progress, reason, holds_place, solo, created_at)
SELECT 'tests.jobs.add', (ARRAY['default','mail','reports','other'])[1 + g %% 4],
       (g %% 3) * 50 - 50,
       'queued', '[1, 2]', '{}', now() - (g %% 3600) * interval '1 second', 0, 0, 3, 0, '{}', '',
       false, false, now() - (g %% 3600) * interval '1 second'
FROM generate_series(1, %s) AS g
"""
SAMPLES_SQL = """
INSERT INTO django_resilient_queue_queuesample
  (taken_at, queue, queued, runnable, running, succeeded_total, failed_total)
SELECT now() - s * interval '5 seconds', q, 25000 + (s %% 700), 25000, 2,
       (17280 - s) * 40, (17280 - s)
FROM generate_series(0, 17279) AS s, unnest(ARRAY['default','mail','reports','other']) AS q
"""


def main() -> int:
    """Build the data, time the pages, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    server = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_dashboard_{os.getpid()}"
    parts = urlsplit(server)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    sys.path.insert(0, str(REPO))
    import psycopg

    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return run(options)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run(options: argparse.Namespace) -> int:
    """Migrate, insert, analyze, render."""
    import django
    from django.core.management import call_command

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(JOBS_SQL, [options.finished])
        cursor.execute(ATTEMPTS_SQL, [])
        cursor.execute(QUEUED_SQL, [options.queued])
        cursor.execute(SAMPLES_SQL, [])
        cursor.execute("ANALYZE")
    print(
        f"inserted {options.finished} finished and {options.queued} queued jobs, "
        f"their attempts and a day of samples in {time.monotonic() - began:.0f} s"
    )
    setup_test_environment()
    get_user_model().objects.create_superuser("bench", "b@example.com", "pw")
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    pages = {
        "dashboard": "/admin/django_resilient_queue/dashboard/",
        "job change list": "/admin/django_resilient_queue/job/",
        "failed jobs by error type": "/admin/django_resilient_queue/job/"
        "?status=failed&error_type=builtins.ConnectionError",
        "dead letters": "/admin/django_resilient_queue/deadletter/",
    }
    for label, url in pages.items():
        assert client.get(url).status_code == 200, url  # warm-up
        times = []
        for _ in range(options.repeat):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
        print(
            f"{label:28} median {statistics.median(times) * 1000:7.1f} ms  "
            f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, n={options.repeat})"
        )
    parts(options.repeat)
    return 0


def parts(repeat: int) -> None:
    """Where the dashboard's time goes: each read on its own."""
    from datetime import timedelta

    from django.utils import timezone

    from django_resilient_queue.admin.dashboard import charts
    from django_resilient_queue.services import stats

    now = timezone.now()
    reads = {
        "queues now": lambda: stats.queues_now(now),
        "depth, last hour": lambda: stats.depth_history(now - timedelta(hours=1), now),
        "throughput, last day": lambda: stats.throughput_history(
            now - timedelta(days=1), now, step_minutes=10
        ),
        "failures by task": lambda: stats.failures_by_task(now - timedelta(hours=1)),
        "all four charts": lambda: charts(now),
    }
    for label, read in reads.items():
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            read()
            times.append(time.perf_counter() - start)
        print(f"  {label:26} median {statistics.median(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
