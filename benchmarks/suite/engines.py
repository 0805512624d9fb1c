"""The engines the suite measures: how each is installed, configured and described."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .paths import ENGINES_DIR


@dataclass(frozen=True)
class Engine:
    key: str
    label: str
    databases: tuple[str, ...]
    peer: bool
    directory: str
    configuration: str
    packages: tuple[str, ...]
    venv: bool = True  # False: runs in this interpreter (the project's environment)
    min_python: tuple[int, int] = (3, 11)
    extra_args: tuple[str, ...] = ()
    template_of: str | None = None  # share another engine's migrated template
    unsupported: dict[str, str] = field(default_factory=dict)

    @property
    def adapter(self) -> Path:
        return ENGINES_DIR / self.directory / "adapter.py"

    @property
    def requirements(self) -> Path:
        return ENGINES_DIR / self.directory / "requirements.txt"


ENGINES: dict[str, Engine] = {
    e.key: e
    for e in [
        Engine(
            key="ours",
            label="ours",
            databases=("postgresql", "sqlite", "mariadb"),
            peer=False,
            directory="ours",
            venv=False,
            packages=("django-resilient-queue", "Django", "psycopg", "mysqlclient"),
            configuration=(
                "django-resilient-queue from this checkout, every `RESILIENT_QUEUE` setting at "
                "its default (`POLL_INTERVAL` 1 s, `LEASE_SECONDS` 60, `HEARTBEAT_SECONDS` 10). "
                "Drain: `manage.py runworkers --burst --processes N` (one thread per process). "
                "Latency: one idle `runworkers --processes 1`; PostgreSQL wakes it with "
                "LISTEN/NOTIFY, SQLite and MariaDB poll every `POLL_INTERVAL`. Enqueue: "
                "`noop.enqueue()` in autocommit (one transaction per job); bulk: "
                "`noop.enqueue_many()` (one transaction; on PostgreSQL one INSERT ... SELECT "
                "FROM unnest(...) for all the jobs, elsewhere one INSERT per 1,000 rows)."
            ),
        ),
        Engine(
            key="ours+protection",
            label="ours + breaker, rate and concurrency limits",
            databases=("postgresql",),
            peer=False,
            directory="ours",
            venv=False,
            packages=("django-resilient-queue",),
            extra_args=("--protected",),
            template_of="ours",
            configuration=(
                'As ours, with the job declared `@job(breaker=True, rate_limit="100000/s", '
                "concurrency_limit=64)`: limits that never hold a job back, so the difference "
                "from ours is the cost of their bookkeeping. The plain runs register no gated "
                "job at all, so they take the ungated claim path."
            ),
        ),
        Engine(
            key="django-tasks-db",
            label="django-tasks-db",
            databases=("postgresql",),
            peer=True,
            directory="django_tasks_db",
            min_python=(3, 12),
            packages=("Django", "django-tasks-db", "psycopg"),
            unsupported={"enqueue-bulk": "Django's Tasks framework has no bulk enqueue"},
            configuration=(
                "Django 6.0's Tasks framework (`django.tasks`, `@task`) with "
                "`django_tasks_db.DatabaseBackend`; `CONN_MAX_AGE=None` (persistent "
                "connections: the worker calls `close_old_connections()` around every task). "
                "Drain: N processes of `manage.py db_worker --batch --no-startup-delay` (a "
                "worker runs one task at a time; processes are its unit of concurrency). "
                "Latency: one `db_worker` at its default `--interval 1` (it polls; no "
                "LISTEN/NOTIFY). Enqueue: `task.enqueue()` in autocommit."
            ),
        ),
        Engine(
            key="procrastinate",
            label="procrastinate",
            databases=("postgresql",),
            peer=True,
            directory="procrastinate",
            packages=("procrastinate", "psycopg"),
            configuration=(
                "procrastinate with `PsycopgConnector`; tasks are `async def` (the worker's "
                "native kind). Drain: one process, `app.run_worker(concurrency=N, wait=False)`. "
                "Defaults otherwise: LISTEN/NOTIFY on, `fetch_job_polling_interval` 5 s, "
                'finished jobs kept (`delete_jobs="never"`). Enqueue: `task.defer()` from '
                "synchronous code (the app opened synchronously, as in a Django view); bulk: "
                "`task.batch_defer()`."
            ),
        ),
        Engine(
            key="pgqueuer",
            label="PgQueuer",
            databases=("postgresql",),
            peer=True,
            directory="pgqueuer",
            packages=("pgqueuer", "asyncpg"),
            configuration=(
                "PgQueuer on asyncpg; entrypoints are `async def`. Drain: N processes, each a "
                "`QueueManager` with its defaults (`batch_size=10`, no `max_concurrent_tasks`) "
                "in `mode=drain`. Latency: one idle `QueueManager` (LISTEN/NOTIFY). Enqueue: "
                '`await queries.enqueue("noop", None)` per job; bulk: one `enqueue()` call '
                "with lists. A finished job leaves the queue table and is logged in "
                "`pgqueuer_log`: its history test loads that table."
            ),
        ),
        Engine(
            key="celery",
            label="Celery",
            databases=("redis",),
            peer=True,
            directory="celery",
            packages=("celery", "kombu", "redis"),
            unsupported={"drain-history": "a Redis broker keeps no finished tasks"},
            configuration=(
                "Celery with the local Redis as broker, no result backend "
                "(`task_ignore_result=True`). Drain: `celery worker --pool prefork "
                "--concurrency N --without-mingle --without-gossip --without-heartbeat`, "
                "default prefetch multiplier (4), early acknowledgement (`acks_late` off, the "
                "default). Latency: the same worker with concurrency 1. Enqueue: "
                "`task.delay()`; bulk: `group(...).apply_async()` (Celery has no bulk insert; "
                "one producer publishes one message per task). With no result backend Celery "
                "records no finish time: a `task_postrun` handler appends it to a file per "
                "pool process."
            ),
        ),
    ]
}
PEERS = [k for k, e in ENGINES.items() if e.peer]
ALIASES = {
    "protected": "ours+protection",
    "django-tasks": "django-tasks-db",
    "dtdb": "django-tasks-db",
}
