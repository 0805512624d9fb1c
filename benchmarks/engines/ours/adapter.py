"""Adapter for django-resilient-queue (runs in the project's own virtual environment).

enqueue: ``noop.enqueue()`` per job (autocommit: one transaction each) or
``noop.enqueue_many()``; drain: ``manage.py runworkers --burst --processes N``
(one thread per process); latency: one idle ``runworkers --processes 1``.
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
    parse_url,
    run_drain,
    run_one_worker_latency,
    start_process,
    timed,
    workdir,
)

CHUNK = 10_000


def job_modules(protected: bool) -> str:
    """The job modules workers load: the protected ones only in the protected runs."""
    return "ours_jobs,ours_jobs_protected" if protected else "ours_jobs"


def setup_django(db_url: str, protected: bool = False) -> None:
    os.environ["BENCH_DATABASE_URL"] = db_url
    os.environ["BENCH_JOB_MODULES"] = job_modules(protected)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ours_settings"
    import django

    django.setup()


def worker_env(db_url: str, protected: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "BENCH_DATABASE_URL": db_url,
        "BENCH_JOB_MODULES": job_modules(protected),
        "DJANGO_SETTINGS_MODULE": "ours_settings",
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(HERE), os.environ.get("PYTHONPATH", "")]),
        **(extra or {}),
    }


def jobs_module(protected: bool) -> tuple[Any, Any]:
    if protected:
        import ours_jobs_protected

        return ours_jobs_protected.noop_protected, ours_jobs_protected.record_protected
    import ours_jobs

    return ours_jobs.noop, ours_jobs.record


def add_history(rows: int) -> None:
    """Add ``rows`` succeeded jobs with one INSERT ... SELECT over a generated series."""
    from django.db import connection
    from django.utils import timezone

    from django_resilient_queue.models import Job

    now = timezone.now()
    template = Job.objects.create(
        task="benchmarks.history",
        status="succeeded",
        attempts=1,
        result=None,
        created_at=now,
        run_after=now,
        first_started_at=now,
        started_at=now,
        finished_at=now,
    )
    columns = [
        connection.ops.quote_name(f.column) for f in Job._meta.concrete_fields if not f.primary_key
    ]
    sql = copy_row_sql(
        connection.vendor,
        connection.ops.quote_name(Job._meta.db_table),
        columns,
        rows - 1,
        where="t.id = %s",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [template.pk])


def analyze() -> None:
    """Fresh planner statistics after a bulk load (what autovacuum would soon do)."""
    from django.db import connection

    from django_resilient_queue.models import Job

    table = connection.ops.quote_name(Job._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {table}")
        elif connection.vendor == "mysql":
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE")


def prepare(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    from django_resilient_queue.models import Job

    noop, _ = jobs_module(args.protected)
    if args.mode == "single":

        def go() -> None:
            for _ in range(args.jobs):
                noop.enqueue()

    else:

        def go() -> None:
            noop.enqueue_many([() for _ in range(args.jobs)])

    before = Job.objects.filter(task=noop.name, status="queued").count()
    seconds = timed(go)
    queued = Job.objects.filter(task=noop.name, status="queued").count() - before
    if queued != args.jobs:
        raise RuntimeError(f"{queued} jobs queued, expected {args.jobs}")
    return {"jobs": args.jobs, "seconds": seconds, "jobs_per_second": args.jobs / seconds}


def drain(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count, Max, Min

    from django_resilient_queue.models import Job

    noop, _ = jobs_module(args.protected)
    if args.history:
        log(f"adding {args.history} finished rows")
        add_history(args.history)
    log(f"queueing {args.jobs} jobs")
    for start in range(0, args.jobs, CHUNK):
        noop.enqueue_many([() for _ in range(min(CHUNK, args.jobs - start))])
    analyze()
    connection.close()
    logs = [workdir(args) / f"worker-{os.getpid()}.log"]
    # The workers start in this directory, never in the checkout: `python -m` puts its
    # working directory first on sys.path, so a checkout there would shadow the code
    # that PYTHONPATH names (a before/after pair would measure one side twice).
    cmd = [sys.executable, "-m", "django", "runworkers", "--burst"]
    cmd += ["--processes", str(args.concurrency)]

    def launch() -> list[Any]:
        env = worker_env(args.db_url, args.protected)
        return [start_process(cmd, env=env, log_path=logs[0], cwd=HERE)]

    def finished() -> Finished:
        agg = Job.objects.filter(task=noop.name, status="succeeded").aggregate(
            count=Count("id"), last=Max("finished_at"), first=Min("started_at")
        )
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
        db_url=args.db_url if parse_url(args.db_url).vendor == "postgresql" else None,
    )


def latency(args: argparse.Namespace) -> dict[str, Any]:
    _, record = jobs_module(args.protected)
    cmd = [sys.executable, "-m", "django", "runworkers", "--processes", "1"]
    return run_one_worker_latency(
        args, cmd, worker_env(args.db_url, args.protected), record.enqueue, cwd=HERE
    )


@contextlib.contextmanager
def django_session(args: argparse.Namespace) -> Iterator[None]:
    """Django set up on this measurement's database, for every action."""
    setup_django(args.db_url, args.protected)
    yield


if __name__ == "__main__":
    adapter_main(
        __doc__ or "",
        {"prepare": prepare, "enqueue": enqueue, "drain": drain, "latency": latency},
        session=django_session,
    )
