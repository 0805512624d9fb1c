"""The example project's ``manage.py demo --burst``, run for real, ends every job as expected."""

from __future__ import annotations

import contextlib
import html
import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "example_project"
DEADLINE = 180  # seconds; the demo itself gives up after 120
STOP_GRACE = 30  # seconds the demo gets to stop its workers when told to

# task, expected final state (as the summary words it), how many jobs of it
EXPECTED_ROWS = [
    ("quick", "succeeded", 20),
    ("slow", "succeeded", 3),
    ("flaky", "succeeded on attempt 2", 3),
    ("failing", "failed + dead letter", 2),
]


@pytest.mark.acceptance
# The demo uses its own SQLite file: running it once, in the SQLite run, is enough.
@pytest.mark.databases("sqlite")
def test_demo_burst_ends_every_job_in_its_expected_state(tmp_path: Path) -> None:
    """The burst demo migrates a fresh database, runs the workload and reports it as expected."""
    env = {
        **os.environ,
        # Its own database file: never the repository's db.sqlite3 nor the test database.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        # The test run's settings module must not leak into the example project.
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONUNBUFFERED": "1",
        # The package of this checkout, not whichever copy the environment installed.
        "PYTHONPATH": os.pathsep.join(
            [str(EXAMPLE_PROJECT.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--burst"],
        cwd=EXAMPLE_PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        family = _family(process)
        # SIGTERM first: the demo then stops the workers it started.
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        _kill_all(family)
        pytest.fail(f"the demo did not finish within {DEADLINE} s:\n{output}")
    finally:
        _reap(process)

    assert process.returncode == 0, output
    for task, expected, count in EXPECTED_ROWS:
        row = rf"^{task}\s+{re.escape(expected)}\s+{re.escape(expected)}\s+{count}\s*$"
        assert re.search(row, output, re.MULTILINE), f"no row {task!r} as expected in:\n{output}"
    assert "not as expected" not in output, output
    assert "All 28 demo jobs reached their expected state." in output, output


def _family(process: subprocess.Popen[str]) -> list[psutil.Process]:
    """The processes the demo started: each runs in a process group of its own (so that a
    Ctrl-C reaches the demo only), so killing the demo's group would miss them."""
    try:
        return list(psutil.Process(process.pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _kill_all(family: list[psutil.Process]) -> None:
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(family, timeout=10)


def _reap(process: subprocess.Popen[str]) -> None:
    """Stop the demo, if it still runs, and every process it started."""
    if process.poll() is not None:
        return
    family = _family(process)
    process.send_signal(signal.SIGTERM)  # the demo stops its workers and web server itself
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _kill_all(family)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rows(database: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read the demo's own SQLite file (it is not this test run's database)."""
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
        return list(conn.execute(sql, params))


def _wait_for(what: str, check: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the demo exited while waiting for {what}"
        try:
            if check():
                return
        except sqlite3.OperationalError:
            pass  # not migrated yet, or a writer holds the file for a moment
        time.sleep(0.3)
    raise AssertionError(f"the demo never got to: {what}")


class AdminSession:
    """A logged-in admin over real HTTP, the way a browser posts its forms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return str(response.read().decode())

    def post(self, path: str, fields: list[tuple[str, str]]) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(path))
        assert token, f"no CSRF token on {path}"
        body = urllib.parse.urlencode([("csrfmiddlewaretoken", token.group(1)), *fields])
        request = urllib.request.Request(
            self.base + path, data=body.encode(), headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=10) as response:
            return str(response.read().decode())


@pytest.mark.acceptance
# The demo uses its own SQLite file: running it once, in the SQLite run, is enough.
@pytest.mark.databases("sqlite")
def test_the_served_demo_leaves_something_for_each_action_it_names(tmp_path: Path) -> None:
    """What the running demo tells a new user to try in the admin is there, and works."""
    database = tmp_path / "demo.sqlite3"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(EXAMPLE_PROJECT.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--addrport", f"127.0.0.1:{port}"],
        cwd=EXAMPLE_PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for(
            "the two dead letters",
            lambda: (
                _rows(database, "SELECT count(*) FROM django_resilient_queue_deadletter") == [(2,)]
            ),
            process,
        )
        breaker = "SELECT id, state FROM django_resilient_queue_circuitbreaker WHERE key=?"
        ((breaker_id, state),) = _rows(database, breaker, "payments-api")
        assert state == "open"
        charges = (
            "SELECT status, count(*) FROM django_resilient_queue_job "
            "WHERE task='demo.jobs.charge' GROUP BY status"
        )
        assert _rows(database, charges) == [("queued", 2)]
        assert (
            _rows(database, "SELECT count(*) FROM django_resilient_queue_schedule WHERE enabled")[
                0
            ][0]
            >= 2
        )  # type: ignore[operator]
        _wait_for(
            "an active alert",
            lambda: bool(
                _rows(
                    database,
                    "SELECT id FROM django_resilient_queue_alert WHERE resolved_at IS NULL",
                )
            ),
            process,
        )

        admin = AdminSession(f"http://127.0.0.1:{port}")
        _wait_for("the web server", lambda: bool(admin.get("/admin/login/")), process)
        admin.post("/admin/login/?next=/admin/", [("username", "admin"), ("password", "admin")])
        assert "Queue dashboard" in admin.get("/admin/django_resilient_queue/dashboard/")
        (breaker_id,) = _rows(
            database,
            "SELECT id FROM django_resilient_queue_circuitbreaker WHERE key='payments-api'",
        )[0]
        page = admin.post(
            "/admin/django_resilient_queue/circuitbreaker/",
            [("action", "reset"), ("_selected_action", str(breaker_id)), ("index", "0")],
        )
        assert "Reset 1 breaker" in page, page[-3000:]
        _wait_for(
            "the charge jobs to run once the breaker is reset",
            lambda: _rows(database, charges) == [("succeeded", 2)],
            process,
        )

        dashboard = "/admin/django_resilient_queue/dashboard/"
        page = admin.post(dashboard, [("queue", "default"), ("operation", "pause")])
        assert "Paused queue 'default'." in html.unescape(page), page[-3000:]
        page = admin.post(dashboard, [("queue", "default"), ("operation", "resume")])
        assert "Resumed queue 'default'." in html.unescape(page), page[-3000:]

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        log.seek(0)
        assert "Stopped." in log.read()
    finally:
        _reap(process)
        log.close()
