"""Adapter for Django's Tasks framework with the django-tasks-db backend (own venv).

enqueue: ``noop.enqueue()`` per job (autocommit); the framework has no bulk
enqueue API. drain: N ``manage.py db_worker --batch --no-startup-delay``
processes (one task at a time each, the backend's unit of concurrency).
latency: one idle ``db_worker`` at its default polling ``--interval`` (1 s).
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
    copy_row_sql,
    log,
    run_drain,
    run_one_worker_latency,
    start_process,
    timed,
    workdir,
)


def setup_django(db_url: str) -> None:
    os.environ["BENCH_DATABASE_URL"] = db_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "dtdb_settings"
    import django

    django.setup()


def worker_env(db_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "BENCH_DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "dtdb_settings",
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(HERE), os.environ.get("PYTHONPATH", "")]),
        **(extra or {}),
    }


def copy_rows(template_id: Any, copies: int, overrides: dict[str, str]) -> None:
    """``copies`` copies of one row, new primary keys, in one INSERT ... SELECT."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    if copies <= 0:
        return
    qn = connection.ops.quote_name
    columns = [qn(f.column) for f in DBTaskResult._meta.concrete_fields]
    overrides = {qn("id"): "gen_random_uuid()", **overrides}
    sql = copy_row_sql(
        connection.vendor, qn(DBTaskResult._meta.db_table), columns, copies, "t.id = %s", overrides
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [template_id])


def prepare(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    import dtdb_tasks
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if args.mode == "bulk":
        return {"status": "n/a", "reason": "Django's Tasks framework has no bulk enqueue"}

    def go() -> None:
        for _ in range(args.jobs):
            dtdb_tasks.noop.enqueue()

    seconds = timed(go)
    queued = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()
    if queued != args.jobs:
        raise RuntimeError(f"{queued} tasks ready, expected {args.jobs}")
    return {"jobs": args.jobs, "seconds": seconds, "jobs_per_second": args.jobs / seconds}


def drain(args: argparse.Namespace) -> dict[str, Any]:
    import dtdb_tasks
    from django.db import connection
    from django.db.models import Count, Max, Min
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    noop = dtdb_tasks.noop
    if args.history:
        log(f"adding {args.history} finished rows")
        first = DBTaskResult.objects.get(id=noop.enqueue().id)
        DBTaskResult.objects.filter(id=first.id).update(
            task_path="benchmarks.history",
            status=TaskResultStatus.SUCCESSFUL,
            started_at=first.enqueued_at,
            finished_at=first.enqueued_at,
        )
        copy_rows(first.id, args.history - 1, {})
    log(f"queueing {args.jobs} tasks")
    template = noop.enqueue()
    copy_rows(template.id, args.jobs - 1, {})
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {DBTaskResult._meta.db_table}")
    connection.close()
    work = workdir(args)
    logs = [work / f"worker-{os.getpid()}-{n}.log" for n in range(args.concurrency)]
    cmd = [sys.executable, "-m", "django", "db_worker", "--batch", "--no-startup-delay"]
    cmd += ["--verbosity", "0"]

    def launch() -> list[Any]:
        env = worker_env(args.db_url)
        return [start_process(cmd, env=env, log_path=path) for path in logs]

    def finished() -> Finished:
        agg = DBTaskResult.objects.filter(
            task_path=noop.module_path, status=TaskResultStatus.SUCCESSFUL
        ).aggregate(count=Count("id"), last=Max("finished_at"), first=Min("started_at"))
        connection.close()
        return Finished(
            agg["count"],
            agg["last"].timestamp() if agg["last"] else None,
            agg["first"].timestamp() if agg["first"] else None,
        )

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
    import dtdb_tasks

    cmd = [sys.executable, "-m", "django", "db_worker", "--verbosity", "0"]
    return run_one_worker_latency(args, cmd, worker_env(args.db_url), dtdb_tasks.record.enqueue)


@contextlib.contextmanager
def django_session(args: argparse.Namespace) -> Iterator[None]:
    """Django set up on this measurement's database, for every action."""
    setup_django(args.db_url)
    yield


if __name__ == "__main__":
    adapter_main(
        __doc__ or "",
        {"prepare": prepare, "enqueue": enqueue, "drain": drain, "latency": latency},
        session=django_session,
    )
