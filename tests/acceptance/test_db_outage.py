"""A database outage mid-run: workers survive, reconnect, lose no job, run none twice.

The test starts its own PostgreSQL cluster (initdb + pg_ctl in a temporary directory
on a spare loopback port) so that it can stop it without disturbing anything else.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO, Workers, wait_until

pytestmark = pytest.mark.acceptance

JOBS = 300
LOST = "kind = 'DB_CONNECTION_LOST'"


def postgres_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryCluster:
    """A throwaway PostgreSQL server; run as the postgres user when we are root."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(root, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # Not under pytest's tmp_path: the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="resilient-queue-pg-"))
    server = TemporaryCluster(bindir, root)
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def sql(url: str, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=3) as conn:
        return list(conn.execute(query).fetchall())


@pytest.mark.databases("postgresql")
def test_workers_survive_a_database_outage_and_lose_nothing(cluster: TemporaryCluster) -> None:
    sql(cluster.url("postgres"), "SELECT 1")
    import psycopg

    with psycopg.connect(
        cluster.url("postgres").replace("postgres://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("CREATE DATABASE outage")
    env = {k: v for k, v in os.environ.items() if k != "RESILIENT_QUEUE_TEST_DB_NAME"}
    env.update(
        DATABASE_URL=cluster.url("outage"),
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(REPO),
        RESILIENT_QUEUE_LEASE_SECONDS="60",
        RESILIENT_QUEUE_HEARTBEAT_SECONDS="1",
    )
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "migrate", "-v0"], cwd=REPO, env=env, check=True, timeout=300)
    enqueue = (
        "from tests import jobs; "
        f"jobs.pause_then_record.enqueue_many([(f'o{{i}}', 0.05) for i in range({JOBS})])"
    )
    subprocess.run([*django, "shell", "-c", enqueue], cwd=REPO, env=env, check=True, timeout=120)

    workers = Workers()
    try:
        process = workers.start("--processes", "2", env=env)
        url = cluster.url("outage")
        wait_until(
            lambda: sql(url, "SELECT count(*) FROM testapp_execution")[0][0] >= 30, timeout=60
        )
        children = sorted(c.pid for c in psutil.Process(process.pid).children())
        cluster.stop()
        time.sleep(10)  # the outage itself: the database is away for ten seconds
        assert process.poll() is None, "the supervisor exited during the outage"
        cluster.start()
        wait_until(
            lambda: (
                sql(
                    url,
                    "SELECT count(*) FROM django_resilient_queue_job WHERE status = 'succeeded'",
                )[0][0]
                == JOBS
            ),
            timeout=120,
            interval=0.5,
        )
        assert sorted(c.pid for c in psutil.Process(process.pid).children()) == children
        per_label = sql(url, "SELECT label, count(*) FROM testapp_execution GROUP BY label")
        assert len(per_label) == JOBS
        assert {n for _, n in per_label} == {1}, "a job ran twice"
        statuses = sql(
            url, "SELECT status, count(*) FROM django_resilient_queue_job GROUP BY status"
        )
        assert statuses == [("succeeded", JOBS)]
        wait_until(
            lambda: (
                sql(url, f"SELECT count(*) FROM django_resilient_queue_alert WHERE {LOST}")[0][0]
                >= 1
            ),
            timeout=30,
        )
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        assert process.returncode == 0
    finally:
        workers.reap()
