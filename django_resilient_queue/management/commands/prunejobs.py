"""``manage.py prunejobs``: delete finished jobs older than the retention settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ... import conf
from ...services.retention import (
    prune_finished_jobs,
    prune_queue_samples,
    prune_schedule_ticks,
)


class Command(BaseCommand):
    help = "Delete finished jobs (and their attempts) older than RESILIENT_QUEUE['RETENTION']."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        retention = conf.retention_days()
        counts = prune_finished_jobs(retention, dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        for status, count in sorted(counts.items()):
            self.stdout.write(f"{verb} {count} {status} jobs")
        samples = prune_queue_samples(dry_run=options["dry_run"])
        self.stdout.write(f"{verb} {samples} dashboard samples")
        longest = timedelta(days=max(retention.values(), default=0))
        ticks = prune_schedule_ticks(longest, dry_run=options["dry_run"])
        self.stdout.write(f"{verb} {ticks} schedule ticks")
