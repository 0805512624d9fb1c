"""``manage.py demo``: set up the example project, enqueue a mixed workload and run it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from types import FrameType, TracebackType
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Min
from django.utils import timezone

from django_resilient_queue.models import Alert, DeadLetter, Job, JobStatus

from ...workload import EXPECTED, WORKLOAD, describe_outcome, enqueue_workload, short_name

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
WORKER_PROCESSES = 2
TICK = 0.2
# Past the workers' graceful timeout, how long to wait before killing what is left.
STOP_MARGIN = 10.0


class Signals:
    """Count SIGINT and SIGTERM while installed, so that the command decides how to stop."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1


def start_manage(*arguments: str) -> subprocess.Popen[bytes]:
    """Start ``manage.py <arguments>`` of this project as a child process."""
    # Its own process group: a Ctrl-C in the terminal reaches this command only, which
    # then sends each child ONE SIGTERM. Had the children received the Ctrl-C as well,
    # that SIGTERM would be the worker supervisor's second signal: "stop at once".
    return subprocess.Popen(
        [sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR, process_group=0
    )


def graceful_timeout() -> float:
    """Return how long the workers let running jobs finish when told to stop."""
    return float(getattr(settings, "RESILIENT_QUEUE", {}).get("GRACEFUL_TIMEOUT", 30))


class Command(BaseCommand):
    help = (
        "Migrate, create the admin/admin superuser, enqueue a mixed workload, then run the "
        "workers and the web server until Ctrl-C (or, with --burst, run the workload to its "
        "end and check every job's final state)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--burst",
            action="store_true",
            help="run the workers until the workload is done, print a summary, exit 0 if all "
            "jobs ended as expected",
        )
        parser.add_argument(
            "--addrport", default="127.0.0.1:8000", help="where the web server listens"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=120.0,
            help="--burst: seconds the whole workload may take (default 120)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Applying migrations...")
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_superuser()
        created = enqueue_workload()
        summary = ", ".join(f"{n} {name}" for name, n in WORKLOAD.items())
        self.stdout.write(f"Enqueued {len(created)} jobs ({summary}) in one transaction.")
        with Signals() as signals:
            if options["burst"]:
                self._burst([job.pk for job in created], options["timeout"], signals)
            else:
                self._ensure_schedule()
                self._ensure_open_breaker()
                self._serve(options["addrport"], signals)

    def _ensure_schedule(self) -> None:
        # A row for the Schedule page's actions (enable, disable, run now) to act on.
        from django_resilient_queue.models import Schedule

        Schedule.objects.get_or_create(
            name="demo-nightly-report",
            defaults={"task": "demo.jobs.quick", "cron": "0 3 * * *", "args": [7]},
        )

    def _ensure_open_breaker(self) -> None:
        # An open breaker for the Circuit breakers page's Reset action, with two jobs
        # waiting behind it: reset it and they run.
        from django_resilient_queue.models import BreakerState, CircuitBreaker
        from django_resilient_queue.services.breakers import force_open_breakers

        from ...jobs import PAYMENTS_BREAKER, charge

        key = "payments-api"
        CircuitBreaker.objects.get_or_create(
            key=key,
            defaults={
                "failure_threshold": PAYMENTS_BREAKER.failure_threshold,
                "window": PAYMENTS_BREAKER.window,
                "reset_timeout": PAYMENTS_BREAKER.reset_timeout,
                "half_open_max": PAYMENTS_BREAKER.half_open_max,
            },
        )
        force_open_breakers(CircuitBreaker.objects.filter(key=key).exclude(state=BreakerState.OPEN))
        waiting = Job.objects.filter(task=charge.name, status=JobStatus.QUEUED).count()
        for n in range(waiting, 2):
            charge.enqueue(f"ORD-{9000 + n}")

    def _ensure_superuser(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
            user_model.objects.create_superuser(
                ADMIN_USERNAME, f"{ADMIN_USERNAME}@example.com", ADMIN_PASSWORD
            )
            self.stdout.write("Created the demo superuser.")
        self.stdout.write(
            f"Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD} "
            "(a demo account: never use it outside this demo)"
        )

    # -- server mode -----------------------------------------------------------
    def _serve(self, addrport: str, signals: Signals) -> None:
        base_url = f"http://{addrport if ':' in addrport else f'127.0.0.1:{addrport}'}"
        self.stdout.flush()
        children = {
            "workers": start_manage("runworkers", "--processes", str(WORKER_PROCESSES)),
            "web server": start_manage("runserver", addrport, "--noreload"),
        }
        self.stdout.write(
            "\nThe demo is running:\n"
            f"  {base_url}/        the demo's jobs, and a button to enqueue more\n"
            f"  {base_url}/admin/  the admin ({ADMIN_USERNAME} / {ADMIN_PASSWORD}); "
            "things to try there:\n"
            "      Dead letters      select them, run Replay (new jobs, linked to the old)\n"
            "      Schedules         select one, run Run now\n"
            "      Circuit breakers  'payments-api' is open, two charge jobs wait behind it:\n"
            "                        select it, run Reset, and they run\n"
            "      Alerts            select one, suppress it for 30 minutes, or resolve it\n"
            "      Dashboard         Pause 'default', enqueue more on the demo page, see\n"
            "                        them wait, then Resume\n"
            "      (every action and its permission: docs/howto/operate-from-the-admin.md)\n"
            f"  {base_url}/queue/metrics/ and /queue/health/  (while logged in to the admin)\n"
            "Press Ctrl-C to stop: running jobs finish first (press it again to stop at once).\n"
        )
        self.stdout.flush()
        exited: tuple[str, int] | None = None
        while signals.count == 0 and exited is None:
            time.sleep(TICK)
            for name, process in children.items():
                code = process.poll()
                if code is not None:
                    exited = (name, code)
                    break
        self.stdout.write("Stopping the workers and the web server...")
        self.stdout.flush()
        self._stop(list(children.values()), signals)
        if exited is not None:
            name, code = exited
            hint = f" (is {addrport} already in use?)" if name == "web server" else ""
            raise CommandError(f"the {name} exited on its own with code {code}{hint}")
        self.stdout.write("Stopped.")

    def _stop(self, processes: list[subprocess.Popen[bytes]], signals: Signals) -> None:
        """SIGTERM each process, wait for them, SIGKILL what outlives the deadline, reap all."""
        seen = signals.count
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + graceful_timeout() + STOP_MARGIN
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            if signals.count > seen:
                # Another Ctrl-C: pass it on; a second signal stops the workers at once.
                seen = signals.count
                for process in processes:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
            time.sleep(TICK / 2)
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()

    # -- burst mode ------------------------------------------------------------
    def _burst(self, job_ids: list[int], timeout: float, signals: Signals) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._run_burst_workers(deadline, timeout, signals, job_ids)
            unfinished = Job.objects.filter(
                pk__in=job_ids, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
            )
            if not unfinished.exists():
                break
            # Burst workers exit once nothing is runnable *now*: a job waiting for its
            # retry (flaky's NETWORK backoff is 5 s) needs another round when it is due.
            next_run = unfinished.filter(status=JobStatus.QUEUED).aggregate(at=Min("run_after"))[
                "at"
            ]
            delay = max(TICK, (next_run - timezone.now()).total_seconds()) if next_run else 1.0
            if time.monotonic() + delay >= deadline:
                break
            self.stdout.write(
                f"{unfinished.count()} job(s) wait for a retry; the next is due in "
                f"{delay:.1f} s. Running the workers again then."
            )
            self.stdout.flush()
            self._sleep(delay, signals)
        bad = self._report(job_ids)
        self._report_alerts()
        if bad:
            raise CommandError(
                f"{bad} of {len(job_ids)} demo jobs did not reach their expected state "
                "(see the table above)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"All {len(job_ids)} demo jobs reached their expected state.")
        )

    def _run_burst_workers(
        self, deadline: float, timeout: float, signals: Signals, job_ids: list[int]
    ) -> None:
        self.stdout.write("Running the workers until no job is runnable (runworkers --burst)...")
        self.stdout.flush()
        process = start_manage("runworkers", "--burst", "--processes", str(WORKER_PROCESSES))
        while True:
            try:
                code = process.wait(timeout=TICK)
                break
            except subprocess.TimeoutExpired:
                pass
            if signals.count:
                self._stop([process], signals)
                raise CommandError("interrupted: the workers were stopped")
            if time.monotonic() >= deadline:
                self._stop([process], signals)
                self._report(job_ids)
                raise CommandError(f"the workload did not finish within {timeout:g} s")
        if code != 0:
            raise CommandError(f"runworkers --burst exited with code {code}")

    def _sleep(self, seconds: float, signals: Signals) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            if signals.count:
                raise CommandError("interrupted")
            time.sleep(min(TICK, max(0.0, until - time.monotonic())))

    def _report_alerts(self) -> None:
        """Evaluate the alert rules once (a burst may end before a worker's evaluator runs)."""
        from django_resilient_queue.alerts.evaluator import evaluate

        evaluate(timezone.now())
        active = list(
            Alert.objects.filter(resolved_at__isnull=True).values_list("kind", "message")[:10]
        )
        for kind, message in active:
            self.stdout.write(f"alert {kind}: {message}")
        if active:
            self.stdout.write("(listed under Alerts in the admin)")

    def _report(self, job_ids: list[int]) -> int:
        """Print the summary table; return how many jobs did not end as expected."""
        jobs = list(Job.objects.filter(pk__in=job_ids))
        dead = set(DeadLetter.objects.filter(job_id__in=job_ids).values_list("job_id", flat=True))
        tally = Counter(
            (short_name(job.task), describe_outcome(job, has_dead_letter=job.pk in dead))
            for job in jobs
        )
        order = list(WORKLOAD)
        rows = [
            (task, EXPECTED[task], got, str(count))
            for (task, got), count in sorted(
                tally.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
            )
        ]
        header = ("task", "expected", "got", "count")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        self.stdout.write("")
        for row in [header, *rows]:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            if row is not header and row[1] != row[2]:
                line += "  <- not as expected"
            self.stdout.write(line.rstrip())
        self.stdout.write("")
        missing = len(job_ids) - len(jobs)
        if missing:
            self.stdout.write(f"{missing} job(s) of this run are gone from the database.")
        return missing + sum(count for (task, got), count in tally.items() if got != EXPECTED[task])
