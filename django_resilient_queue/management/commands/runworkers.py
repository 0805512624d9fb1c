"""``manage.py runworkers``: start the supervisor and its worker processes."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = non_negative_float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{value} must be a positive number of seconds")
    return value


def queue_list(text: str) -> list[str]:
    """argparse type: a comma-separated list of queue names; ``*`` means all of them."""
    queues = [q.strip() for q in text.split(",") if q.strip()]
    if not queues:
        raise argparse.ArgumentTypeError("--queues needs at least one queue name")
    return [] if "*" in queues else queues


def worker_id(text: str) -> str:
    """argparse type: a name for the Worker row, 1 to 200 characters."""
    if not text.strip() or len(text) > 200:
        raise argparse.ArgumentTypeError("a worker id must be 1 to 200 characters")
    return text


def sync_declared_schedules() -> None:
    """Sync settings and @job(cron=...) schedules into rows; a database error only warns."""
    from django.db import DatabaseError

    from ...services.schedule_sync import sync_schedules

    try:
        sync_schedules()
    except DatabaseError:
        logging.getLogger("django_resilient_queue.scheduler").warning(
            "could not sync the declared schedules; rows keep their last synced state",
            exc_info=True,
        )


class Command(BaseCommand):
    help = "Run worker processes that claim and execute queued jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        # --queue-name, --batch, --interval, --max-tasks and --worker-id: django-tasks-db's
        # db_worker spellings, so that moving from it needs no new habits.
        parser.add_argument(
            "--queues", "--queue-name", type=queue_list, default=None, help="a,b or * (all)"
        )
        parser.add_argument("--processes", type=positive_int, default=1)
        parser.add_argument("--threads", type=positive_int, default=1)
        parser.add_argument(
            "--burst", "--batch", action="store_true", help="exit 0 once no job is runnable now"
        )
        parser.add_argument(
            "--interval", type=positive_float, default=None, help="seconds between polls"
        )
        parser.add_argument(
            "--max-tasks", type=positive_int, default=None, help="each child exits after N jobs"
        )
        parser.add_argument("--worker-id", type=worker_id, default=None)
        parser.add_argument(
            "--reload",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="restart on code changes (development only)",
        )
        parser.add_argument("--max-jobs-per-child", type=positive_int, default=None)
        parser.add_argument("--max-memory-mb", type=positive_int, default=None)
        parser.add_argument("--graceful-timeout", type=non_negative_float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from ...alerts.delivery import start_delivery_process
        from ...worker.config import WorkerConfig
        from ...worker.identity import chosen_name, live_holder
        from ...worker.reload import run_with_reload
        from ...worker.supervisor import Supervisor

        try:
            config = WorkerConfig.from_settings(
                queues=tuple(options["queues"] or ()),
                processes=options["processes"],
                threads=options["threads"],
                burst=options["burst"],
                max_jobs_per_child=options["max_jobs_per_child"],
                max_memory_mb=options["max_memory_mb"],
                graceful_timeout=options["graceful_timeout"],
                poll_interval=options["interval"],
                max_tasks=options["max_tasks"],
                worker_id=options["worker_id"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["reload"] and config.finite:
            raise CommandError(
                "--reload keeps workers running; it cannot go with --burst or --max-tasks"
            )
        for number in range(config.processes):
            name = chosen_name(config, number)
            holder = live_holder(name, config.lease_seconds) if name else None
            if holder is not None:
                raise CommandError(
                    f"worker id {name!r} is in use by a live worker (pid {holder.pid} on "
                    f"{holder.hostname}); choose another --worker-id"
                )
        sync_declared_schedules()
        companions = [start_delivery_process]  # the alert outbox, beside the workers
        if options["reload"]:
            code = run_with_reload(config, companions)
        else:
            code = Supervisor(config, companions).run()
        sys.stdout.flush()
        if code:
            sys.exit(code)
