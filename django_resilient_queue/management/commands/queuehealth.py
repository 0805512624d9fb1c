"""``manage.py queuehealth``: exit 0 when healthy, 1 with the reasons (a container probe)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...health import check_health


class Command(BaseCommand):
    help = "Check the queue's health (as health/ does); exit non-zero with the reasons."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the JSON of health/")

    def handle(self, *args: Any, **options: Any) -> None:
        result = check_health()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        elif result.healthy:
            self.stdout.write("healthy")
        for reason in result.reasons:
            self.stderr.write(f"unhealthy: {reason}")
        if not result.healthy:
            sys.exit(1)
