#!/usr/bin/env python
"""The performance suite: django-resilient-queue and, with --peers, its peers side by side.

    python benchmarks/run.py                   # ours on PostgreSQL, SQLite and MariaDB
    python benchmarks/run.py --peers           # + django-tasks-db, procrastinate, PgQueuer, Celery
    python benchmarks/run.py --quick           # small sizes, one repeat: a smoke run
    python benchmarks/run.py --engines ours,pgqueuer --databases postgresql \\
        --scenarios drain-c1,latency --jobs 2000 --repeat 5

(`make bench`, `make bench PEERS=1`.) Every measurement runs on a fresh database
(a new PostgreSQL database copied from a migrated template, a new MariaDB
database, a new SQLite file, a new Redis queue name) through a small adapter
script that runs in the engine's own virtual environment; peers are installed
from PyPI into benchmarks/.venvs/<engine> on first use, pinned by
benchmarks/engines/<engine>/requirements.txt. Each measurement has a time limit;
one that fails is reported as failed and the run goes on. The median of
--repeat runs is written to benchmarks/results/latest.json and latest.md, and the
ratios ours/peer are printed at the end. See docs/performance.md.

Servers (override with environment variables): BENCH_POSTGRES_URL
(postgresql://postgres@127.0.0.1:5432/postgres), BENCH_MARIADB_URL
(mysql://root@127.0.0.1:3306/mysql), BENCH_REDIS_URL (redis://127.0.0.1:6379/15).
Only databases named bench_<pid>_... that this run created are ever dropped.
"""

from __future__ import annotations

import sys

from suite.runner import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
