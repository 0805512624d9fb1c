#!/usr/bin/env python
"""Cron tick lag of django-resilient-queue on PostgreSQL, with an idle worker.

    python benchmarks/cron_lag.py [--seconds 60]

Creates a fresh database on the PostgreSQL server (BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it and starts one idle
``runworkers --processes 1`` whose only job, ``@job(cron="* * * * * *")``, returns
the time it started. After --seconds, the worker is stopped and each tick's lag is
the job's start minus its tick time (the Job's ``run_after``). The first two ticks
(start-up) are left out. Prints:

    ticks 58
    median_ms 6.1
    p99_ms 11.4

The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from suite.paths import PREFIX  # noqa: E402
from suite.servers import PostgresServer  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    server = PostgresServer(
        os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    problem = server.probe()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    name = f"{PREFIX}cron_lag"
    url, _ = server.create(name)
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": url,
        "BENCH_JOB_MODULES": "ours_jobs_cron",
        "DJANGO_SETTINGS_MODULE": "ours_settings",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE / "engines" / "ours")]),
    }
    try:
        django = [sys.executable, "-m", "django"]
        subprocess.run([*django, "migrate", "-v0"], env=env, check=True)
        worker = subprocess.Popen([*django, "runworkers", "--processes", "1"], env=env)
        try:
            time.sleep(args.seconds)  # a measurement window, not synchronisation
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        lags = measure(server, name)
    finally:
        server.drop(name)
    if len(lags) < 3:
        print(f"only {len(lags)} ticks ran", file=sys.stderr)
        return 1
    lags = sorted(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    print(f"ticks {len(lags)}")
    print(f"median_ms {statistics.median(lags):.1f}")
    print(f"p99_ms {p99:.1f}")
    return 0


def measure(server: PostgresServer, name: str) -> list[float]:
    """Each succeeded tick's start minus its tick time, in ms, start-up ticks left out."""
    import psycopg

    with psycopg.connect(server.url.with_name(name)) as conn:
        rows = conn.execute(
            "SELECT EXTRACT(EPOCH FROM run_after)::float8, result FROM django_resilient_queue_job"
            " WHERE task = 'ours_jobs_cron.tick' AND status = 'succeeded' ORDER BY run_after"
        ).fetchall()
    return [(float(started) - float(tick)) * 1000 for tick, started in rows[2:]]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
