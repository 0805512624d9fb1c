#!/usr/bin/env python
"""Enqueue → start latency of django-resilient-queue on PostgreSQL, with an idle worker.

    python benchmarks/latency.py [--jobs 100] [--interval 0.02] [--repeat 1]

Creates a fresh database on the PostgreSQL server (BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it, starts one
``runworkers --processes 1`` and lets it go idle (it waits on LISTEN/NOTIFY), then
enqueues --jobs jobs --interval seconds apart. Each job writes down the time it
started; its latency is that time minus the time taken just before ``enqueue()``.
Prints one line per statistic on standard output:

    median_ms 4.12
    p95_ms 5.63
    p99_ms 6.70

With --repeat R, each statistic is the median over R runs, each on a fresh database.
The database is dropped at the end. Same protocol as the ``latency`` scenario of
benchmarks/run.py (whose code it uses).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite.adapters import run_adapter
from suite.engines import ENGINES
from suite.paths import PREFIX, RESULTS, RUN_ID
from suite.servers import PostgresServer


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between enqueues")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    args = parser.parse_args(argv)

    server = PostgresServer(
        os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    problem = server.probe()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    engine = ENGINES["ours"]
    work = RESULTS / "tmp" / f"latency-{RUN_ID}"
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in range(args.repeat):
        name = f"{PREFIX}latency_{n}"
        log_path = work / f"latency-{n}.log"
        url, _ = server.create(name)
        try:
            prepared = run_adapter(sys.executable, engine, "prepare", url, [], 600, work, log_path)
            if prepared.get("status") != "ok":
                print(f"migrate failed: {prepared.get('error')}", file=sys.stderr)
                return 1
            extra = ["--jobs", str(args.jobs), "--interval", str(args.interval)]
            result = run_adapter(
                sys.executable, engine, "latency", url, extra, args.timeout, work, log_path
            )
        finally:
            server.drop(name)
        if result.get("status") != "ok":
            print(f"run {n + 1} failed: {result.get('error')} (log: {log_path})", file=sys.stderr)
            return 1
        runs.append(result)
    print(
        f"PostgreSQL {server.version}, {args.jobs} jobs {args.interval * 1000:g} ms apart, "
        f"one idle worker, {args.repeat} run(s)",
        file=sys.stderr,
    )
    for key, label in (("p50_ms", "median_ms"), ("p95_ms", "p95_ms"), ("p99_ms", "p99_ms")):
        print(f"{label} {statistics.median(r[key] for r in runs):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
