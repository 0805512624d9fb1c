"""``manage.py queuestatus``: queues, depth, age, running, failed, workers, breakers, alerts,
schedules."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from ...status import collect_status


class Command(BaseCommand):
    help = "Show the state of every queue, the workers, open breakers and active alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        status = collect_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, cls=DjangoJSONEncoder))
            return
        self._table(status)

    def _table(self, status: dict[str, Any]) -> None:
        columns = [
            "queue",
            "runnable",
            "scheduled",
            "oldest_age_s",
            "running",
            "succeeded",
            "failed",
            "cancelled",
        ]
        rows = [["-" if q.get(c) is None else str(q[c]) for c in columns] for q in status["queues"]]
        widths = [
            max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
            for i, c in enumerate(columns)
        ]
        self.stdout.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for row in rows:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        if not rows:
            self.stdout.write("(no jobs)")
        workers = status["workers"]
        self.stdout.write(f"\nworkers: {workers['live']} live, {workers['stale']} stale")
        unreplayed = status["dead_letters_unreplayed"]
        self.stdout.write(f"dead letters: {status['dead_letters']} ({unreplayed} not replayed)")
        breakers = status["open_breakers"]
        self.stdout.write(f"open breakers: {', '.join(b['key'] for b in breakers) or 'none'}")
        alerts = status["active_alerts"]
        self.stdout.write(f"active alerts: {len(alerts)}")
        for alert in alerts:
            self.stdout.write(f"  [{alert['severity']}] {alert['kind']}: {alert['message']}")
        self._schedules(status["schedules"])

    def _schedules(self, schedules: list[dict[str, Any]]) -> None:
        self.stdout.write(f"schedules: {len(schedules)}")
        for s in schedules:
            when = s["next_run_at"].isoformat() if s["next_run_at"] else "-"
            state = "" if s["enabled"] else " (disabled)"
            self.stdout.write(
                f"  {s['name']}: {s['cron']} {s['timezone']} -> {s['task']}; next run {when}{state}"
            )
