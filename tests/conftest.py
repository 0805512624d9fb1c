"""Fixtures shared by the three tiers: start real ``runworkers`` processes against the test DB."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def vendor() -> str:
    """Return the vendor of the database this run tests."""
    from django.db import connection

    return connection.vendor


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.databases("postgresql", ...)``: skip the test on any other vendor."""
    marker = item.get_closest_marker("databases")
    if marker is not None and vendor() not in marker.args:
        pytest.skip(f"runs on {' and '.join(marker.args)} only; this run is {vendor()}")


def worker_env(**extra: str) -> dict[str, str]:
    """Environment for a child ``manage.py`` process that uses pytest-django's test database."""
    from django.db import connection

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["RESILIENT_QUEUE_TEST_DB_NAME"] = str(connection.settings_dict["NAME"])
    env.update(extra)
    return env


def database_activity() -> list[str]:
    """The sessions and open transactions of the test database's server, one per line."""
    from django.db import connection

    queries = {
        "postgresql": [
            "SELECT pid, state, wait_event_type, wait_event, xact_start, left(query, 200) "
            "FROM pg_stat_activity WHERE datname = current_database()"
        ],
        "mysql": [
            "SHOW FULL PROCESSLIST",
            "SELECT trx_mysql_thread_id, trx_state, trx_started, trx_rows_locked, "
            "LEFT(trx_query, 200) FROM information_schema.innodb_trx",
        ],
    }.get(connection.vendor, [])
    lines = []
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            lines.extend(repr(row) for row in cursor.fetchall())
    return lines


class LoggedProcess(subprocess.Popen[str]):
    """A process whose output goes to a file, so a chatty process never blocks on a full pipe.

    A pipe nobody reads fills at 64 KiB, and then every write of the worker (its logging
    included) blocks: a long test that never calls ``communicate`` would freeze it.
    ``communicate`` waits for the exit and returns what the process wrote.
    """

    def __init__(self, command: list[str], **kwargs: Any) -> None:
        # Closed by Workers.reap, after the process is gone.
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        super().__init__(command, stdout=self.log, stderr=subprocess.STDOUT, text=True, **kwargs)

    def output(self) -> str:
        """Everything the process has written so far."""
        # pread: the file offset is shared with the writing process and must not move.
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")

    def diagnose(self) -> str:
        """Where a stuck runworkers is: every process's state, and what the database runs.

        Each of its processes also prints its threads' stacks to the output (SIGUSR1, see
        tests/settings.py), read by the caller afterwards.
        """
        import psutil

        lines = []
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    lines.append(f"pid={process.pid} status={process.status()}")
                    os.kill(process.pid, signal.SIGUSR1)
                    time.sleep(0.3)  # one dump at a time: they share the log
        lines.extend(database_activity())
        return "\n".join(lines)

    def communicate(
        self, input: str | None = None, timeout: float | None = None
    ) -> tuple[str, str]:
        """Wait for the process to exit; return (its output, "")."""
        self.wait(timeout=timeout)
        return self.output(), ""


class Workers:
    """Starts ``runworkers`` processes in their own process group and reaps them all."""

    def __init__(self) -> None:
        self.processes: list[LoggedProcess] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> LoggedProcess:
        """Start ``manage.py runworkers ARGS`` and return it (stdout+stderr captured)."""
        process = LoggedProcess(
            [sys.executable, "-m", "django", "runworkers", *args],
            cwd=REPO,
            env=env or worker_env(),
            start_new_session=True,  # its own process group: tests can kill -9 the whole group
        )
        self.processes.append(process)
        return process

    def run_burst(
        self, *args: str, timeout: float = 180, env: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """Run ``runworkers --burst ARGS`` to the end; return (exit code, output)."""
        process = self.start("--burst", *args, env=env)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group(process)
            output, _ = process.communicate()
            raise AssertionError(
                f"runworkers --burst did not finish in {timeout}s:\n{output}"
            ) from None
        return process.returncode, output

    @staticmethod
    def kill_group(process: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group of ``process``."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

    def reap(self) -> None:
        """Kill and wait for every process started (and their children)."""
        for process in self.processes:
            self.kill_group(process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=10)
            process.log.close()


@pytest.fixture
def workers(transactional_db: Any) -> Iterator[Workers]:
    """Real worker processes over committed data; every one is reaped at the end."""
    pool = Workers()
    try:
        yield pool
    finally:
        pool.reap()


def wait_until(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
