"""``manage.py replayjobs``: replay dead letters, filtered by task, category, age and count."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_duration

from ...failures import FailureCategory, coerce_category
from ...services.deadletters import replay_many


def since_value(text: str) -> datetime:
    """argparse type: an ISO datetime, or a duration ago ("2h", "30m", "1d", "90s")."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if text and text[-1] in units and text[:-1].isdigit():
        return timezone.now() - timedelta(**{units[text[-1]]: int(text[:-1])})
    duration = parse_duration(text)
    if duration is not None:
        return timezone.now() - duration
    moment = parse_datetime(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a datetime nor a duration like 2h")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def category_value(text: str) -> FailureCategory:
    """argparse type: a failure category name."""
    try:
        return coerce_category(text)
    except ValueError:
        names = ", ".join(c.value for c in FailureCategory)
        raise argparse.ArgumentTypeError(f"{text!r} is not a category ({names})") from None


def limit_value(text: str) -> int:
    """argparse type: an int >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number >= 1")
    return int(text)


class Command(BaseCommand):
    help = "Replay dead letters (not replayed yet), oldest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--task", help="only this task (dotted path)")
        parser.add_argument("--category", type=category_value, help="only this failure category")
        parser.add_argument(
            "--since", type=since_value, help="dead since: ISO datetime or 2h/30m/1d"
        )
        parser.add_argument("--limit", type=limit_value, help="replay at most this many")
        parser.add_argument("--dry-run", action="store_true", help="list, replay nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        replayed, skipped = replay_many(
            task=options["task"],
            category=options["category"],
            since=options["since"],
            limit=options["limit"],
            dry_run=options["dry_run"],
        )
        verb = "would replay" if options["dry_run"] else "replayed"
        for letter_id, job_id in replayed:
            self.stdout.write(
                f"{verb} dead letter #{letter_id}" + (f" as job #{job_id}" if job_id else "")
            )
        for letter_id, why in skipped:
            self.stderr.write(f"skipped dead letter #{letter_id}: {why}")
        self.stdout.write(f"{len(replayed)} {verb}, {len(skipped)} skipped")
