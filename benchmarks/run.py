#!/usr/bin/env python
"""The performance suite: django-resilient-queue and, with --peers, its peers side by side.

    python benchmarks/run.py                   # ours on PostgreSQL, SQLite and MariaDB
    python benchmarks/run.py --peers           # + django-tasks-db, procrastinate, PgQueuer, Celery
    python benchmarks/run.py --quick           # small sizes, one repeat: a smoke run
    python benchmarks/run.py --engines ours,pgqueuer --databases postgresql \\
        --scenarios drain-c1,latency --jobs 2000 --repeat 5

(`make bench`, `make bench PEERS=1`.) Every measurement runs on a fresh database
(a new PostgreSQL database copied from a migrated template, a new MariaDB
database, a new SQLite file, a new Redis queue name) through a small adapter
script that runs in the engine's own virtual environment; peers are installed
from PyPI into benchmarks/.venvs/<engine> on first use, pinned by
benchmarks/engines/<engine>/requirements.txt. Each measurement has a time limit;
one that fails is reported as failed and the run goes on. The median of
--repeat runs is written to benchmarks/results/latest.json and latest.md, and the
ratios ours/peer are printed at the end. See docs/performance.md.

Servers (override with environment variables): BENCH_POSTGRES_URL
(postgresql://postgres@127.0.0.1:5432/postgres), BENCH_MARIADB_URL
(mysql://root@127.0.0.1:3306/mysql), BENCH_REDIS_URL (redis://127.0.0.1:6379/15).
Only databases named bench_<pid>_... that this run created are ever dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ENGINES_DIR = BENCH / "engines"
VENVS = BENCH / ".venvs"
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

from harness.common import RESULT_PREFIX, parse_url  # noqa: E402

RUN_ID = f"{os.getpid()}"
PREFIX = f"bench_{RUN_ID}_"


# ---------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Engine:
    key: str
    label: str
    databases: tuple[str, ...]
    peer: bool
    directory: str
    configuration: str
    packages: tuple[str, ...]
    venv: bool = True  # False: runs in this interpreter (the project's environment)
    min_python: tuple[int, int] = (3, 11)
    extra_args: tuple[str, ...] = ()
    template_of: str | None = None  # share another engine's migrated template
    unsupported: dict[str, str] = field(default_factory=dict)

    @property
    def adapter(self) -> Path:
        return ENGINES_DIR / self.directory / "adapter.py"

    @property
    def requirements(self) -> Path:
        return ENGINES_DIR / self.directory / "requirements.txt"


ENGINES: dict[str, Engine] = {
    e.key: e
    for e in [
        Engine(
            key="ours",
            label="ours",
            databases=("postgresql", "sqlite", "mariadb"),
            peer=False,
            directory="ours",
            venv=False,
            packages=("django-resilient-queue", "Django", "psycopg", "mysqlclient"),
            configuration=(
                "django-resilient-queue from this checkout, every `RESILIENT_QUEUE` setting at "
                "its default (`POLL_INTERVAL` 1 s, `LEASE_SECONDS` 60, `HEARTBEAT_SECONDS` 10). "
                "Drain: `manage.py runworkers --burst --processes N` (one thread per process). "
                "Latency: one idle `runworkers --processes 1`; PostgreSQL wakes it with "
                "LISTEN/NOTIFY, SQLite and MariaDB poll every `POLL_INTERVAL`. Enqueue: "
                "`noop.enqueue()` in autocommit (one transaction per job); bulk: "
                "`noop.enqueue_many()` (one transaction; on PostgreSQL one INSERT ... SELECT "
                "FROM unnest(...) for all the jobs, elsewhere one INSERT per 1,000 rows)."
            ),
        ),
        Engine(
            key="ours+protection",
            label="ours + breaker, rate and concurrency limits",
            databases=("postgresql",),
            peer=False,
            directory="ours",
            venv=False,
            packages=("django-resilient-queue",),
            extra_args=("--protected",),
            template_of="ours",
            configuration=(
                'As ours, with the job declared `@job(breaker=True, rate_limit="100000/s", '
                "concurrency_limit=64)`: limits that never hold a job back, so the difference "
                "from ours is the cost of their bookkeeping. The plain runs register no gated "
                "job at all, so they take the ungated claim path."
            ),
        ),
        Engine(
            key="django-tasks-db",
            label="django-tasks-db",
            databases=("postgresql",),
            peer=True,
            directory="django_tasks_db",
            min_python=(3, 12),
            packages=("Django", "django-tasks-db", "psycopg"),
            unsupported={"enqueue-bulk": "Django's Tasks framework has no bulk enqueue"},
            configuration=(
                "Django 6.0's Tasks framework (`django.tasks`, `@task`) with "
                "`django_tasks_db.DatabaseBackend`; `CONN_MAX_AGE=None` (persistent "
                "connections: the worker calls `close_old_connections()` around every task). "
                "Drain: N processes of `manage.py db_worker --batch --no-startup-delay` (a "
                "worker runs one task at a time; processes are its unit of concurrency). "
                "Latency: one `db_worker` at its default `--interval 1` (it polls; no "
                "LISTEN/NOTIFY). Enqueue: `task.enqueue()` in autocommit."
            ),
        ),
        Engine(
            key="procrastinate",
            label="procrastinate",
            databases=("postgresql",),
            peer=True,
            directory="procrastinate",
            packages=("procrastinate", "psycopg"),
            configuration=(
                "procrastinate with `PsycopgConnector`; tasks are `async def` (the worker's "
                "native kind). Drain: one process, `app.run_worker(concurrency=N, wait=False)`. "
                "Defaults otherwise: LISTEN/NOTIFY on, `fetch_job_polling_interval` 5 s, "
                'finished jobs kept (`delete_jobs="never"`). Enqueue: `task.defer()` from '
                "synchronous code (the app opened synchronously, as in a Django view); bulk: "
                "`task.batch_defer()`."
            ),
        ),
        Engine(
            key="pgqueuer",
            label="PgQueuer",
            databases=("postgresql",),
            peer=True,
            directory="pgqueuer",
            packages=("pgqueuer", "asyncpg"),
            configuration=(
                "PgQueuer on asyncpg; entrypoints are `async def`. Drain: N processes, each a "
                "`QueueManager` with its defaults (`batch_size=10`, no `max_concurrent_tasks`) "
                "in `mode=drain`. Latency: one idle `QueueManager` (LISTEN/NOTIFY). Enqueue: "
                '`await queries.enqueue("noop", None)` per job; bulk: one `enqueue()` call '
                "with lists. A finished job leaves the queue table and is logged in "
                "`pgqueuer_log`: its history test loads that table."
            ),
        ),
        Engine(
            key="celery",
            label="Celery",
            databases=("redis",),
            peer=True,
            directory="celery",
            packages=("celery", "kombu", "redis"),
            unsupported={"drain-history": "a Redis broker keeps no finished tasks"},
            configuration=(
                "Celery with the local Redis as broker, no result backend "
                "(`task_ignore_result=True`). Drain: `celery worker --pool prefork "
                "--concurrency N --without-mingle --without-gossip --without-heartbeat`, "
                "default prefetch multiplier (4), early acknowledgement (`acks_late` off, the "
                "default). Latency: the same worker with concurrency 1. Enqueue: "
                "`task.delay()`; bulk: `group(...).apply_async()` (Celery has no bulk insert; "
                "one producer publishes one message per task). With no result backend Celery "
                "records no finish time: a `task_postrun` handler appends it to a file per "
                "pool process."
            ),
        ),
    ]
}
PEERS = [k for k, e in ENGINES.items() if e.peer]
ALIASES = {
    "protected": "ours+protection",
    "django-tasks": "django-tasks-db",
    "dtdb": "django-tasks-db",
}


# ---------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    key: str
    action: str
    label: Callable[[dict[str, Any]], str]
    args: Callable[[dict[str, Any]], list[str]]
    metric: str
    unit: str
    higher_is_better: bool = True


def _n(value: int) -> str:
    return f"{value:,}"


SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in [
        Scenario(
            "enqueue",
            "enqueue",
            lambda z: f"enqueue {_n(z['jobs'])} jobs, one call each",
            lambda z: ["--mode", "single", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "enqueue-bulk",
            "enqueue",
            lambda z: f"enqueue {_n(z['jobs'])} jobs, bulk API",
            lambda z: ["--mode", "bulk", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "drain-c1",
            "drain",
            lambda z: f"drain {_n(z['jobs'])} no-op jobs, concurrency 1",
            lambda z: ["--concurrency", "1", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "drain-c4",
            "drain",
            lambda z: f"drain {_n(z['jobs'])} no-op jobs, concurrency 4",
            lambda z: ["--concurrency", "4", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "latency",
            "latency",
            lambda z: (
                f"enqueue → start latency, {_n(z['latency_jobs'])} jobs "
                f"{z['interval'] * 1000:g} ms apart, idle worker"
            ),
            lambda z: ["--jobs", str(z["latency_jobs"]), "--interval", str(z["interval"])],
            "p50_ms",
            "ms",
            higher_is_better=False,
        ),
        Scenario(
            "drain-history",
            "drain",
            lambda z: (
                f"drain {_n(z['jobs'])} jobs, concurrency 4, "
                f"{_n(z['history'])} finished rows in the table"
            ),
            lambda z: [
                "--concurrency",
                "4",
                "--jobs",
                str(z["jobs"]),
                "--history",
                str(z["history"]),
            ],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "drain-backlog",
            "drain",
            lambda z: f"drain {_n(z['backlog'])} queued jobs, concurrency 4",
            lambda z: ["--concurrency", "4", "--jobs", str(z["backlog"])],
            "jobs_per_second",
            "jobs/s",
        ),
    ]
}

FULL_SIZES = {
    "jobs": 10_000,
    "latency_jobs": 200,
    "interval": 0.02,
    "history": 1_000_000,
    "backlog": 100_000,
}
QUICK_SIZES = {
    "jobs": 500,
    "latency_jobs": 50,
    "interval": 0.02,
    "history": 20_000,
    "backlog": 2_000,
}


# ---------------------------------------------------------------------------------
# Database servers: a fresh database for every measurement
# ---------------------------------------------------------------------------------
class Server:
    kind = ""
    label = ""
    templates = False

    def probe(self) -> str | None:
        """Why this server cannot be used, or None."""
        raise NotImplementedError

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        """Create database ``name``; return its URL and extra adapter arguments."""
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError


class PostgresServer(Server):
    kind = "postgresql"
    label = "PostgreSQL"
    templates = True

    def __init__(self, url: str) -> None:
        self.url = parse_url(url)
        self.version = ""

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.url.conninfo(), autocommit=True, connect_timeout=5)

    def probe(self) -> str | None:
        try:
            with self._admin() as conn:
                self.version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:
            return f"PostgreSQL at {self.url.host}:{self.url.port} unreachable ({exc})"
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        assert name.startswith(PREFIX)
        with self._admin() as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url.with_name(name), []

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX)
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MariaDBServer(Server):
    kind = "mariadb"
    label = "MariaDB"

    def __init__(self, url: str) -> None:
        self.url = parse_url(url)
        self.version = ""

    def _admin(self) -> Any:
        import MySQLdb

        return MySQLdb.connect(
            host=self.url.host,
            port=self.url.port or 3306,
            user=self.url.user,
            password=self.url.password,
            connect_timeout=5,
        )

    def probe(self) -> str | None:
        try:
            conn = self._admin()
            cursor = conn.cursor()
            cursor.execute("SELECT VERSION()")
            self.version = cursor.fetchone()[0]
            conn.close()
        except Exception as exc:
            return f"MariaDB at {self.url.host}:{self.url.port} unusable ({exc})"
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        assert name.startswith(PREFIX)
        conn = self._admin()
        conn.cursor().execute(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        conn.close()
        return self.url.with_name(name).replace(f"{self.url.scheme}://", "mysql://", 1), []

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX)
        conn = self._admin()
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


class SQLiteServer(Server):
    kind = "sqlite"
    label = "SQLite"
    templates = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        import sqlite3

        self.version = sqlite3.sqlite_version

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.sqlite3"

    def probe(self) -> str | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        target = self.path(name)
        if template:
            shutil.copyfile(self.path(template), target)
        return f"sqlite:///{target}", []

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)


class RedisServer(Server):
    """No database to create: a fresh queue name. The adapter deletes the keys it made;
    ``drop`` removes whatever an interrupted run left under that name."""

    kind = "redis"
    label = "Redis"

    def __init__(self, url: str) -> None:
        self.raw = url
        self.url = parse_url(url)
        self.version = ""

    def command(self, *args: str) -> Any:
        """Send one command (RESP) and return its decoded reply."""
        db = self.url.name or "0"
        with socket.create_connection((self.url.host, self.url.port or 6379), timeout=5) as sock:
            stream = sock.makefile("rwb")
            for cmd in (("SELECT", db), args):
                stream.write(f"*{len(cmd)}\r\n".encode())
                for part in cmd:
                    data = part.encode()
                    stream.write(b"$%d\r\n%s\r\n" % (len(data), data))
            stream.flush()
            self._reply(stream)  # SELECT's +OK
            return self._reply(stream)

    def _reply(self, stream: Any) -> Any:
        line = stream.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else stream.read(size + 2)[:-2].decode(errors="replace")
        if kind == b"*":
            return [self._reply(stream) for _ in range(max(0, int(rest)))]
        raise RuntimeError(f"unexpected Redis reply {line!r}")

    def probe(self) -> str | None:
        try:
            info = self.command("INFO", "server")
        except (OSError, RuntimeError) as exc:
            return f"Redis at {self.url.host}:{self.url.port} unusable ({exc})"
        for line in str(info).splitlines():
            if line.startswith("redis_version:"):
                self.version = line.split(":", 1)[1].strip()
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        return self.raw, ["--queue", name]

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX)
        keys = self.command("KEYS", f"*{name}*")
        if keys:
            self.command("DEL", *keys)


# ---------------------------------------------------------------------------------
# Virtual environments of the peers
# ---------------------------------------------------------------------------------
def python_version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python(minimum: tuple[int, int]) -> str | None:
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = [
        shutil.which(f"python{minimum[0]}.{minor}") for minor in range(minimum[1], minimum[1] + 4)
    ]
    if shutil.which("pyenv"):  # interpreters pyenv installed but did not put on PATH
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root).glob("versions/3.*/bin/python3"))
    for candidate in candidates:
        if candidate and (python_version(candidate) or (0, 0)) >= minimum:
            return candidate
    return None


def ensure_venv(engine: Engine, log_dir: Path) -> str:
    """Return the engine's interpreter, installing its virtual environment if needed."""
    if not engine.venv:
        return sys.executable
    venv = VENVS / engine.key
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(engine.requirements.read_bytes()).hexdigest()
    stamp = venv / ".requirements.sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return str(python)
    log_path = log_dir / f"install-{engine.key}.log"
    if not python.exists() or (python_version(str(python)) or (0, 0)) < engine.min_python:
        base = find_python(engine.min_python)
        if base is None:
            raise RuntimeError(
                f"needs Python >= {'.'.join(map(str, engine.min_python))}, none found"
            )
        print(f"  creating {venv.relative_to(REPO)} with {base}")
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    print(f"  installing {engine.requirements.relative_to(REPO)} (log: {log_path.name})")
    with open(log_path, "wb") as out:
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(engine.requirements)],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    if proc.returncode:
        raise RuntimeError(f"pip install failed: {tail(log_path)}")
    stamp.write_text(wanted)
    return str(python)


def package_versions(python: str, packages: tuple[str, ...]) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m, sys\n"
        "out = {'python': '.'.join(map(str, sys.version_info[:3]))}\n"
        f"for p in {list(packages)!r}:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


# ---------------------------------------------------------------------------------
# Running one adapter action
# ---------------------------------------------------------------------------------
def tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def scrub(value: Any) -> Any:
    """Replace this machine's paths in results (error messages, tracebacks) with markers."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if not isinstance(value, str):
        return value
    prefixes = {str(REPO): "<repo>", sys.base_prefix: "<python>", os.path.expanduser("~"): "~"}
    for prefix, marker in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
        if len(prefix) > 1:
            value = value.replace(prefix, marker)
    return value


def run_adapter(
    python: str,
    engine: Engine,
    action: str,
    url: str,
    extra: list[str],
    timeout: float,
    work: Path,
    log_path: Path,
) -> dict[str, Any]:
    """Run the adapter in its own process group; kill the whole group on timeout."""
    cmd = [python, str(engine.adapter), action, "--db-url", url, "--workdir", str(work)]
    cmd += ["--timeout", f"{max(10.0, timeout * 0.85):.0f}", *engine.extra_args, *extra]
    with open(log_path, "ab") as err:
        err.write(f"$ {' '.join(cmd)}\n".encode())
        err.flush()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, cwd=REPO, start_new_session=True
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
        finally:
            # Workers the adapter left behind share its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    text = out.decode(errors="replace")
    with open(log_path, "ab") as err:
        err.write(text.encode())
    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        return {
            "status": "failed",
            "error": f"adapter exited with {proc.returncode} and no result: {tail(log_path)}",
        }
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


# ---------------------------------------------------------------------------------
# Aggregation and reports
# ---------------------------------------------------------------------------------
def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every numeric field (one level of nesting) over ``runs``."""
    out: dict[str, Any] = {}
    keys = {k for run in runs for k in run}
    for key in sorted(keys):
        values = [run[key] for run in runs if key in run]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            out[key] = statistics.median(values)
        elif values and all(isinstance(v, dict) for v in values):
            nested = median_of(values)
            if nested:
                out[key] = nested
    return out


@dataclass
class Record:
    engine: str
    database: str
    scenario: str
    status: str = "pending"
    reason: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        ok = [r for r in self.runs if r.get("status") == "ok"]
        data: dict[str, Any] = {
            "engine": self.engine,
            "database": self.database,
            "scenario": self.scenario,
            "status": self.status,
            "runs": self.runs,
        }
        if self.reason:
            data["reason"] = self.reason
        if ok:
            data["median"] = median_of(ok)
        return data


def column_key(engine: str, database: str) -> str:
    return f"{engine}@{database}"


DB_LABELS = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mariadb": "MariaDB", "redis": "Redis"}


def column_label(engine: str, database: str) -> str:
    return f"{ENGINES[engine].label} ({DB_LABELS.get(database, database)})"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "jobs/s":
        return f"{value:,.0f}"
    if unit in ("ms", "MiB"):
        return f"{value:,.1f}"
    return f"{value:,.2f}"


# (row label, scenario, metric, unit, higher is better)
def table_rows(sizes: dict[str, Any]) -> list[tuple[str, str, str, str, bool]]:
    s = SCENARIOS
    return [
        (s["enqueue"].label(sizes), "enqueue", "jobs_per_second", "jobs/s", True),
        (s["enqueue-bulk"].label(sizes), "enqueue-bulk", "jobs_per_second", "jobs/s", True),
        (s["drain-c1"].label(sizes), "drain-c1", "jobs_per_second", "jobs/s", True),
        (s["drain-c4"].label(sizes), "drain-c4", "jobs_per_second", "jobs/s", True),
        (
            f"{s['drain-c1'].label(sizes)}, first start → last finish",
            "drain-c1",
            "window_jobs_per_second",
            "jobs/s",
            True,
        ),
        (
            f"{s['drain-c4'].label(sizes)}, first start → last finish",
            "drain-c4",
            "window_jobs_per_second",
            "jobs/s",
            True,
        ),
        ("latency p50", "latency", "p50_ms", "ms", False),
        ("latency p95", "latency", "p95_ms", "ms", False),
        ("latency p99", "latency", "p99_ms", "ms", False),
        (
            "peak RSS of one worker process, concurrency 1",
            "drain-c1",
            "peak_rss_worker_mb",
            "MiB",
            False,
        ),
        (
            "peak RSS of one worker process, concurrency 4",
            "drain-c4",
            "peak_rss_worker_mb",
            "MiB",
            False,
        ),
        (
            "peak RSS of all worker processes, concurrency 4",
            "drain-c4",
            "peak_rss_total_mb",
            "MiB",
            False,
        ),
        (s["drain-history"].label(sizes), "drain-history", "jobs_per_second", "jobs/s", True),
        (s["drain-backlog"].label(sizes), "drain-backlog", "jobs_per_second", "jobs/s", True),
    ]


STATUS_CELL = {
    "failed": "failed",
    "n/a": "n/a",
    "not available": "not available",
    "skipped": "skipped",
}


class Report:
    def __init__(self, records: dict[tuple[str, str, str], Record], meta: dict[str, Any]) -> None:
        self.records = records
        self.meta = meta

    def value(self, engine: str, database: str, scenario: str, metric: str) -> float | None:
        rec = self.records.get((engine, database, scenario))
        if rec is None or rec.status != "ok":
            return None
        median = rec.as_json().get("median", {})
        value = median.get(metric)
        return float(value) if isinstance(value, int | float) else None

    def cell(self, engine: str, database: str, scenario: str, metric: str, unit: str) -> str:
        rec = self.records.get((engine, database, scenario))
        if rec is None:
            return "-"
        if rec.status != "ok":
            return STATUS_CELL.get(rec.status, rec.status)
        return fmt(self.value(engine, database, scenario, metric), unit)

    def columns(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for engine, database, _ in self.records:
            if (engine, database) not in seen:
                seen.append((engine, database))
        order = list(ENGINES)
        dbs = ["postgresql", "sqlite", "mariadb", "redis"]
        return sorted(seen, key=lambda c: (order.index(c[0]), dbs.index(c[1])))

    def ours_reference(self) -> tuple[str, str] | None:
        cols = self.columns()
        for candidate in [("ours", "postgresql"), *[c for c in cols if c[0] == "ours"]]:
            if candidate in cols:
                return candidate
        return None

    def ratios(self) -> list[tuple[str, str, dict[str, float | None]]]:
        """(row label, unit-ish hint, {peer column: ours/peer})."""
        ref = self.ours_reference()
        if ref is None:
            return []
        peers = [c for c in self.columns() if ENGINES[c[0]].peer]
        rows = []
        for label, scenario, metric, _unit, higher in table_rows(self.meta["sizes"]):
            ours = self.value(ref[0], ref[1], scenario, metric)
            ratios: dict[str, float | None] = {}
            for engine, database in peers:
                peer = self.value(engine, database, scenario, metric)
                ratios[column_key(engine, database)] = (
                    ours / peer if ours is not None and peer else None
                )
            rows.append((label, "higher is better" if higher else "lower is better", ratios))
        return rows

    def markdown(self) -> str:
        meta = self.meta
        sizes = meta["sizes"]
        cols = self.columns()
        out: list[str] = []
        out.append("# Benchmark results\n")
        out.append(f"Generated {meta['generated_at']} by `{meta['command']}`.\n")
        m = meta["machine"]
        out.append(
            f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}. "
            + ", ".join(f"{DB_LABELS.get(k, k)} {v}" for k, v in meta["servers"].items() if v)
            + ".\n"
        )
        out.append(
            f"Each number is the median of {meta['repeat']} run(s), each on a fresh database. "
            "On a small or shared machine the numbers are noisy: compare engines measured in "
            "the same run, not runs on different machines.\n"
        )
        out.append("## Results\n")
        header = ["measurement", *[column_label(e, d) for e, d in cols]]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for label, scenario, metric, unit, higher in table_rows(sizes):
            if not any((e, d, scenario) in self.records for e, d in cols):
                continue
            arrow = "↑" if higher else "↓"
            cells = [self.cell(e, d, scenario, metric, unit) for e, d in cols]
            out.append(f"| {label} ({unit}, {arrow}) | " + " | ".join(cells) + " |")
        out.append("")
        out.append(
            "↑ higher is better, ↓ lower is better. Drain throughput = jobs / (the last job's "
            "finish time as the engine recorded it - the moment just before the first worker "
            "process was started): it includes worker start-up, not shutdown. The rows "
            '"first start → last finish" divide by the time from the first job\'s start to the '
            "last job's finish instead: the steady pace, without start-up (which dominates "
            "small runs).\n"
        )

        ratio_rows = self.ratios()
        peers = [c for c in cols if ENGINES[c[0]].peer]
        ref = self.ours_reference()
        if ratio_rows and peers and ref:
            out.append(f"## Ratios ours / peer ({column_label(*ref)} ÷ peer)\n")
            header = ["measurement", *[column_label(e, d) for e, d in peers]]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            for label, hint, ratios in ratio_rows:
                if all(v is None for v in ratios.values()):
                    continue
                cells = [
                    f"{ratios[column_key(e, d)]:.2f}" if ratios[column_key(e, d)] else "-"
                    for e, d in peers
                ]
                out.append(f"| {label} ({hint}) | " + " | ".join(cells) + " |")
            out.append("")
            out.append(
                "Throughput: above 1 means ours is faster. Latency and memory: below 1 means "
                "ours is lower.\n"
            )

        scaling = []
        for engine, database in cols:
            plain = self.value(engine, database, "drain-c4", "jobs_per_second")
            history = self.value(engine, database, "drain-history", "jobs_per_second")
            backlog = self.value(engine, database, "drain-backlog", "jobs_per_second")
            if plain and (history or backlog):
                scaling.append((engine, database, plain, history, backlog))
        if scaling:
            out.append("## Scaling (drain throughput at concurrency 4 against the plain case)\n")
            out.append(
                f"| engine | plain, {_n(sizes['jobs'])} queued | with {_n(sizes['history'])} "
                f"finished rows | ratio | {_n(sizes['backlog'])} queued | ratio |"
            )
            out.append("|---|---|---|---|---|---|")
            for engine, database, plain, history, backlog in scaling:
                h = fmt(history, "jobs/s") if history else "-"
                hr = f"{history / plain:.2f}" if history else "-"
                b = fmt(backlog, "jobs/s") if backlog else "-"
                br = f"{backlog / plain:.2f}" if backlog else "-"
                out.append(
                    f"| {column_label(engine, database)} | {fmt(plain, 'jobs/s')} | {h} | {hr} "
                    f"| {b} | {br} |"
                )
            out.append("")

        per_job = []
        for engine, database in cols:
            rec = self.records.get((engine, database, "drain-c4"))
            if rec and rec.status == "ok":
                db = rec.as_json().get("median", {}).get("db_per_job")
                if db:
                    per_job.append((engine, database, db))
        if per_job:
            out.append("## Database work per job (drain, concurrency 4, from pg_stat_database)\n")
            columns = "transactions | rows inserted | rows updated | rows deleted | rows read"
            out.append(f"| engine | {columns} |")
            out.append("|---|---|---|---|---|---|")
            keys = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "tup_returned")
            for engine, database, db in per_job:
                cells = [f"{db.get(f'{k}_per_job', 0):.2f}" for k in keys]
                out.append(f"| {column_label(engine, database)} | " + " | ".join(cells) + " |")
            out.append("")
            out.append(
                "Includes everything the workers did in that database while draining (heartbeats, "
                "registration, listeners), divided by the number of jobs.\n"
            )

        missing = [r for r in self.records.values() if r.status not in ("ok", "pending")]
        if missing:
            out.append("## Not measured\n")
            for rec in missing:
                why = rec.reason.splitlines()[0][:300] if rec.reason else ""
                out.append(
                    f"- {column_label(rec.engine, rec.database)}, `{rec.scenario}`: "
                    f"**{rec.status}**{' — ' + why if why else ''}"
                )
            out.append("")

        out.append("## Configurations\n")
        shown = []
        for engine, _ in cols:
            if engine in shown:
                continue
            shown.append(engine)
            info = meta["engines"].get(engine, {})
            versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items())
            out.append(
                f"- **{ENGINES[engine].label}** ({versions}): {ENGINES[engine].configuration}"
            )
        out.append("")
        out.append("## Sizes\n")
        out.append(
            f"- enqueue and drain: {_n(sizes['jobs'])} jobs; latency: {_n(sizes['latency_jobs'])} "
            f"jobs {sizes['interval'] * 1000:g} ms apart; history: {_n(sizes['history'])} finished "
            f"rows; backlog: {_n(sizes['backlog'])} queued jobs; time limit per measurement: "
            f"{meta['timeout']:.0f} s.\n"
        )
        out.append("See docs/performance.md for the method.\n")
        return "\n".join(out)


# ---------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark django-resilient-queue (and its peers with --peers).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--peers", action="store_true", help="also run every peer engine")
    parser.add_argument(
        "--engines",
        help=f"comma-separated, from: {', '.join(ENGINES)} (default: ours, ours+protection"
        " and, with --peers, the peers)",
    )
    parser.add_argument(
        "--databases",
        default="postgresql,sqlite,mariadb",
        help="for engines that support several (ours): postgresql,sqlite,mariadb; peers "
        "needing PostgreSQL run only when postgresql is listed; Celery always uses Redis",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=", ".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="small sizes, --repeat 1: a smoke run")
    parser.add_argument("--jobs", type=int, help="jobs per enqueue/drain measurement (10000)")
    parser.add_argument("--latency-jobs", type=int, help="jobs in the latency test (200)")
    parser.add_argument("--interval", type=float, help="seconds between latency jobs (0.02)")
    parser.add_argument("--history", type=int, help="finished rows for drain-history (1000000)")
    parser.add_argument("--backlog", type=int, help="queued jobs for drain-backlog (100000)")
    parser.add_argument("--repeat", type=int, help="runs per measurement; the median is kept (3)")
    parser.add_argument("--timeout", type=float, help="seconds per measurement (900; --quick 240)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where latest.json/md go")
    args = parser.parse_args(argv)
    sizes = dict(QUICK_SIZES if args.quick else FULL_SIZES)
    for key in ("jobs", "latency_jobs", "interval", "history", "backlog"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    args.sizes = sizes
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.timeout = args.timeout or (240.0 if args.quick else 900.0)
    if args.engines:
        names = [ALIASES.get(n.strip(), n.strip()) for n in args.engines.split(",") if n.strip()]
    else:
        names = ["ours", "ours+protection", *(PEERS if args.peers else [])]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; choose from {list(ENGINES)}")
    args.engine_keys = names
    args.database_keys = [d.strip() for d in args.databases.split(",") if d.strip()]
    bad = [d for d in args.database_keys if d not in ("postgresql", "sqlite", "mariadb")]
    if bad:
        parser.error(f"unknown database(s) {bad}; choose from postgresql, sqlite, mariadb")
    args.scenario_keys = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    bad = [s for s in args.scenario_keys if s not in SCENARIOS]
    if bad:
        parser.error(f"unknown scenario(s) {bad}; choose from {list(SCENARIOS)}")
    return args


class Runner:
    """Plans the measurements, provides fresh databases, runs the adapters, keeps records."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = RESULTS / "tmp" / f"run-{RUN_ID}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.servers: dict[str, Server] = {
            "postgresql": PostgresServer(
                os.environ.get(
                    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
                )
            ),
            "mariadb": MariaDBServer(
                os.environ.get("BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/mysql")
            ),
            "sqlite": SQLiteServer(self.work / "sqlite"),
            "redis": RedisServer(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")),
        }
        self.plan: list[tuple[Engine, str]] = [
            (ENGINES[key], database)
            for key in args.engine_keys
            for database in ENGINES[key].databases
            if database == "redis" or database in args.database_keys
        ]
        self.records: dict[tuple[str, str, str], Record] = {
            (engine.key, database, scenario): Record(engine.key, database, scenario)
            for engine, database in self.plan
            for scenario in args.scenario_keys
        }
        self.pythons: dict[str, str] = {}
        self.versions: dict[str, dict[str, str]] = {}
        self.templates: dict[tuple[str, str], str] = {}
        self.created: list[tuple[Server, str]] = []
        self.counter = 0

    # -- set-up ---------------------------------------------------------------------
    def skip_all(self, engine: str, database: str | None, status: str, reason: str) -> None:
        """Give every pending measurement of ``engine`` (on ``database``) this outcome."""
        for rec in self.records.values():
            pending = rec.status == "pending"
            if pending and rec.engine == engine and database in (None, rec.database):
                rec.status, rec.reason = status, scrub(reason)

    def prepare(self) -> None:
        for database in sorted({d for _, d in self.plan}):
            problem = self.servers[database].probe()
            if problem:
                print(f"skipping {database}: {problem}")
                for engine, db in self.plan:
                    if db == database:
                        self.skip_all(engine.key, db, "skipped", problem)
        for rec in self.records.values():
            reason = ENGINES[rec.engine].unsupported.get(rec.scenario)
            if reason and rec.status == "pending":
                rec.status, rec.reason = "n/a", reason
        for engine in {e.key: e for e, _ in self.plan}.values():
            try:
                self.pythons[engine.key] = ensure_venv(engine, self.work)
                self.versions[engine.key] = package_versions(
                    self.pythons[engine.key], engine.packages
                )
            except Exception as exc:
                print(f"{engine.key}: cannot install: {exc}")
                self.skip_all(engine.key, None, "failed", f"installing the engine failed: {exc}")

    # -- databases ------------------------------------------------------------------
    def template_for(self, engine: Engine, database: str) -> str | None:
        """One migrated template database per engine and server (PostgreSQL, SQLite)."""
        server = self.servers[database]
        if not server.templates:
            return None
        owner = engine.template_of or engine.key
        if (owner, database) not in self.templates:
            name = f"{PREFIX}tpl_{owner.replace('-', '_').replace('+', '_')}"
            url, extra = server.create(name)
            self.created.append((server, name))
            log_path = self.work / f"prepare-{owner}-{database}.log"
            python = self.pythons[engine.key]
            result = run_adapter(
                python, ENGINES[owner], "prepare", url, extra, 600, self.work, log_path
            )
            if result.get("status") != "ok":
                raise RuntimeError(result.get("error", "prepare failed"))
            self.templates[(owner, database)] = name
        return self.templates[(owner, database)]

    def measure(self, engine: Engine, database: str, scenario: Scenario, log_path: Path) -> dict:
        """One measurement on a fresh database, dropped afterwards."""
        server = self.servers[database]
        template = self.template_for(engine, database)
        self.counter += 1
        name = f"{PREFIX}{self.counter}"
        python = self.pythons[engine.key]
        try:
            url, extra = server.create(name, template)
            self.created.append((server, name))
            if not server.templates and server.kind != "redis":
                prep = run_adapter(python, engine, "prepare", url, extra, 600, self.work, log_path)
                if prep.get("status") != "ok":
                    raise RuntimeError(prep.get("error", "prepare failed"))
            began = time.monotonic()
            extra = extra + scenario.args(self.args.sizes)
            result = run_adapter(
                python, engine, scenario.action, url, extra, self.args.timeout, self.work, log_path
            )
            result["wall_seconds"] = round(time.monotonic() - began, 2)
            return result
        finally:
            with contextlib.suppress(Exception):
                server.drop(name)
                self.created.remove((server, name))

    def cleanup(self) -> None:
        for server, name in reversed(self.created):
            with contextlib.suppress(Exception):
                server.drop(name)
        self.created.clear()

    # -- the loop -------------------------------------------------------------------
    def run(self) -> None:
        """Repeats outermost, so that a slow spell of a shared machine hits every engine."""
        total = sum(1 for r in self.records.values() if r.status == "pending") * self.args.repeat
        done = 0
        for repeat in range(self.args.repeat):
            for engine, database in self.plan:
                for key in self.args.scenario_keys:
                    rec = self.records[(engine.key, database, key)]
                    if rec.status not in ("pending", "ok"):
                        continue
                    done += 1
                    tag = f"[{done}/{total}] {engine.key} @ {database} {key} #{repeat + 1}"
                    log_path = self.work / f"{engine.key}-{database}-{key}-{repeat + 1}.log"
                    try:
                        result = self.measure(engine, database, SCENARIOS[key], log_path)
                    except Exception as exc:
                        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                    self.record(rec, SCENARIOS[key], result, tag, log_path)

    def record(
        self, rec: Record, scenario: Scenario, result: dict, tag: str, log_path: Path
    ) -> None:
        result = scrub(result)
        status = result.get("status", "failed")
        rec.runs.append(result)
        if status == "ok":
            rec.status = "ok"
            shown = f"{fmt(result.get(scenario.metric), scenario.unit)} {scenario.unit}"
            if scenario.action == "latency":
                shown += f" (p95 {result.get('p95_ms', 0):.1f}, p99 {result.get('p99_ms', 0):.1f})"
            print(f"{tag}: {shown}")
        elif status == "not available":
            self.skip_all(rec.engine, None, "not available", result.get("reason", ""))
            rec.status, rec.reason = "not available", result.get("reason", "")
            print(f"{tag}: not available: {rec.reason}")
        elif status == "n/a":
            rec.status, rec.reason = "n/a", result.get("reason", "")
            print(f"{tag}: n/a: {rec.reason}")
        else:
            # A failure is not retried in later repeats: the run stays bounded.
            rec.status, rec.reason = "failed", result.get("error", "failed")
            first_line = rec.reason.splitlines()[0][:200] if rec.reason else ""
            print(f"{tag}: FAILED: {first_line} (log: {log_path.relative_to(REPO)})")

    def meta(self, argv: list[str], duration: float) -> dict[str, Any]:
        used = {d for _, d in self.plan}
        return {
            "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["python benchmarks/run.py", *argv]),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(terse=True),
                "python": platform.python_version(),
            },
            "servers": {k: getattr(s, "version", "") for k, s in self.servers.items() if k in used},
            "sizes": self.args.sizes,
            "repeat": self.args.repeat,
            "timeout": self.args.timeout,
            "duration_seconds": round(duration, 1),
            "engines": {
                key: {
                    "label": ENGINES[key].label,
                    "configuration": ENGINES[key].configuration,
                    "versions": self.versions.get(key, {}),
                }
                for key in self.args.engine_keys
            },
        }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    runner = Runner(args)
    started = time.monotonic()
    try:
        runner.prepare()
        runner.run()
    except KeyboardInterrupt:
        print("interrupted: writing what was measured")
    finally:
        runner.cleanup()
    for rec in runner.records.values():
        if rec.status == "pending":
            rec.status, rec.reason = "skipped", "not reached"
    report = Report(runner.records, runner.meta(argv, time.monotonic() - started))
    args.output.mkdir(parents=True, exist_ok=True)
    payload = {"meta": report.meta, "results": [r.as_json() for r in runner.records.values()]}
    (args.output / "latest.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (args.output / "latest.md").write_text(report.markdown())
    print()
    print(f"wrote {args.output / 'latest.json'} and {args.output / 'latest.md'}")
    print_summary(report)
    # A peer that fails is reported, not an error; a failure of ours is.
    ours_failed = [
        r for r in runner.records.values() if r.status == "failed" and not ENGINES[r.engine].peer
    ]
    return 1 if ours_failed else 0


def print_summary(report: Report) -> None:
    cols = report.columns()
    rows = table_rows(report.meta["sizes"])
    print()
    for label, scenario, metric, unit, _ in rows:
        cells = [
            f"{column_label(e, d)}={report.cell(e, d, scenario, metric, unit)}"
            for e, d in cols
            if (e, d, scenario) in report.records
        ]
        if cells:
            print(f"{label} ({unit}): " + "; ".join(cells))
    ratio_rows = report.ratios()
    ref = report.ours_reference()
    if ratio_rows and ref and any(ENGINES[e].peer for e, _ in cols):
        print()
        print(f"ratios ours/peer ({column_label(*ref)} ÷ peer):")
        for label, hint, ratios in ratio_rows:
            shown = [
                f"{column_label(*k.split('@'))}={v:.2f}" for k, v in ratios.items() if v is not None
            ]
            if shown:
                print(f"  {label} ({hint}): " + "; ".join(shown))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
