"""The measurement protocol every engine adapter follows.

An adapter is a small script that runs inside its engine's virtual environment.
``run.py`` starts it once per measurement, on a fresh database, as

    python adapter.py ACTION --db-url URL --workdir DIR [--jobs N] [--concurrency C] ...

and reads one line ``BENCH-RESULT {json}`` from its standard output. The actions:

``prepare``
    install the engine's schema in an empty database (a template for later copies).
``enqueue --mode single|bulk``
    time N enqueues: one call per job (each its own transaction, as a web request
    would do it), or the engine's bulk API.
``drain --concurrency C [--history H]``
    queue N no-op jobs with the bulk API (not timed), optionally add H finished
    rows first, start the workers and time from just before the worker process is
    started to the last job finished, as the engine itself recorded it.
``latency --interval S``
    start one idle worker, enqueue N jobs S seconds apart; each job records the
    time it started; latency = start time - the time taken just before enqueue.

Only the standard library and psutil are used here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

RESULT_PREFIX = "BENCH-RESULT "
LATENCY_FILE_ENV = "BENCH_LATENCY_FILE"
WARMUP_MARK = 0.0  # t_enqueue of the warm-up job: proves the worker is up, never counted


# -- database URLs ---------------------------------------------------------------
@dataclass(frozen=True)
class DbUrl:
    """A parsed ``scheme://user:password@host:port/name`` URL."""

    scheme: str
    host: str
    port: int | None
    user: str
    password: str
    name: str
    query: dict[str, str] = field(default_factory=dict)

    @property
    def vendor(self) -> str:
        """postgresql, mysql, sqlite or redis."""
        return {
            "postgres": "postgresql",
            "postgresql": "postgresql",
            "mysql": "mysql",
            "mariadb": "mysql",
            "sqlite": "sqlite",
            "redis": "redis",
        }[self.scheme]

    def conninfo(self) -> str:
        """A libpq connection string (PostgreSQL only)."""
        parts = [f"host={self.host}", f"dbname={self.name}", f"user={self.user}"]
        if self.port:
            parts.append(f"port={self.port}")
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def with_name(self, name: str) -> str:
        """The same server URL pointing at database ``name``."""
        auth = self.user + (f":{self.password}" if self.password else "")
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{auth}@{self.host}{port}/{name}"


def parse_url(url: str) -> DbUrl:
    """Parse a database URL; for ``sqlite:////abs/path`` the name is the file path."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return DbUrl("sqlite", "", None, "", "", unquote(parts.path))
    return DbUrl(
        scheme=parts.scheme,
        host=parts.hostname or "127.0.0.1",
        port=parts.port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        name=unquote(parts.path.lstrip("/")),
        query=dict(parse_qsl(parts.query)),
    )


def django_database(url: str, **extra: Any) -> dict[str, Any]:
    """A Django ``DATABASES`` entry for ``url``."""
    db = parse_url(url)
    if db.vendor == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": db.name,
            "OPTIONS": {"timeout": 30},
            **extra,
        }
    engine = {
        "postgresql": "django.db.backends.postgresql",
        "mysql": "django.db.backends.mysql",
    }[db.vendor]
    entry: dict[str, Any] = {
        "ENGINE": engine,
        "NAME": db.name,
        "USER": db.user,
        "PASSWORD": db.password,
        "HOST": db.host,
        "PORT": str(db.port or ""),
        **extra,
    }
    if db.vendor == "mysql":
        entry.setdefault("OPTIONS", {})["charset"] = "utf8mb4"
    return entry


# -- statistics ------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (the same definition as numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max of a list of latencies in milliseconds."""
    return {
        "p50_ms": percentile(latencies_ms, 50),
        "p95_ms": percentile(latencies_ms, 95),
        "p99_ms": percentile(latencies_ms, 99),
        "mean_ms": sum(latencies_ms) / len(latencies_ms) if latencies_ms else math.nan,
        "max_ms": max(latencies_ms) if latencies_ms else math.nan,
        "samples": len(latencies_ms),
    }


# -- talking to run.py -------------------------------------------------------------
def emit(result: dict[str, Any]) -> None:
    """Hand the measurement back to run.py (the last such line wins)."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    """Progress for humans (stderr, so it never mixes with the result line)."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def adapter_parser(description: str) -> argparse.ArgumentParser:
    """The command line every adapter accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("action", choices=["prepare", "enqueue", "drain", "latency", "worker"])
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--workdir", default=None, help="logs and scratch files")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--mode", choices=["single", "bulk"], default="single")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--history", type=int, default=0, help="finished rows to add first")
    parser.add_argument("--interval", type=float, default=0.02, help="latency: seconds apart")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for workers")
    parser.add_argument("--queue", default="default", help="queue name (a key prefix on Redis)")
    parser.add_argument("--protected", action="store_true", help="ours: the protected job")
    parser.add_argument("--burst", action="store_true", help="worker: exit once idle")
    return parser


def workdir(args: argparse.Namespace) -> Path:
    """The adapter's scratch directory (created)."""
    path = Path(args.workdir or os.getcwd()).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- the job side: record the start time -------------------------------------------
def record_start(t_enqueue: float) -> None:
    """Called first thing by every latency job: append "enqueue-time start-time"."""
    now = time.time()
    path = os.environ.get(LATENCY_FILE_ENV)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{float(t_enqueue):.6f} {now:.6f}\n".encode())
    finally:
        os.close(fd)


def read_latency_file(path: Path) -> list[tuple[float, float]]:
    """The (enqueue time, start time) pairs recorded so far."""
    if not path.exists():
        return []
    pairs: list[tuple[float, float]] = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 2:
            pairs.append((float(fields[0]), float(fields[1])))
    return pairs


# -- worker processes ----------------------------------------------------------------
def start_process(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log_path: Path,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a worker with its output in ``log_path``; it stays in our process group, so
    run.py's timeout (which kills the whole group) takes it down too."""
    handle = open(log_path, "ab")  # noqa: SIM115 (the child owns it)
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        list(cmd), env=full_env, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd
    )


def stop_processes(procs: Iterable[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM, wait up to ``grace``, then SIGKILL what is left (and its children)."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait(timeout=10)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        family = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class RssSampler(threading.Thread):
    """Sample the resident memory of worker process trees every ``period`` seconds.

    A "worker process" is a process that runs jobs: the children of a process that
    forks workers (a supervisor, a prefork pool), or the process itself when it has
    no children. ``peak_worker_mb`` is the highest RSS any one of them reached;
    ``peak_total_mb`` the highest sum over every process of the trees (supervisors
    included).
    """

    def __init__(self, roots: Callable[[], list[int]], period: float = 0.05) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.roots = roots
        self.period = period
        self.stop_event = threading.Event()
        self.peak_worker = 0
        self.peak_total = 0
        self.samples = 0

    def run(self) -> None:
        import psutil

        while not self.stop_event.is_set():
            total = 0
            for pid in self.roots():
                try:
                    root = psutil.Process(pid)
                    children = root.children(recursive=True)
                    root_rss = root.memory_info().rss
                except psutil.Error:
                    continue
                total += root_rss
                leaves = []
                for child in children:
                    try:
                        rss = child.memory_info().rss
                    except psutil.Error:
                        continue
                    total += rss
                    leaves.append(rss)
                worker_rss = max(leaves) if leaves else root_rss
                self.peak_worker = max(self.peak_worker, worker_rss)
            self.peak_total = max(self.peak_total, total)
            self.samples += 1
            self.stop_event.wait(self.period)

    def stop(self) -> dict[str, float]:
        """Stop sampling; return the peaks in MiB."""
        self.stop_event.set()
        self.join(timeout=5)
        return {
            "peak_rss_worker_mb": round(self.peak_worker / 2**20, 1),
            "peak_rss_total_mb": round(self.peak_total / 2**20, 1),
            "rss_samples": self.samples,
        }


# -- PostgreSQL activity counters ------------------------------------------------------
PG_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)


def pg_counters(url: str) -> dict[str, int] | None:
    """This database's cumulative counters from pg_stat_database (None off PostgreSQL)."""
    db = parse_url(url)
    if db.vendor != "postgresql":
        return None
    try:
        import psycopg
    except ImportError:
        return None
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = %s",
            [db.name],
        ).fetchone()
    return dict(zip(PG_COUNTERS, row, strict=True)) if row else None


def per_job(before: dict[str, int] | None, after: dict[str, int] | None, jobs: int) -> dict:
    """Counter deltas divided by the number of jobs."""
    if not before or not after or not jobs:
        return {}
    return {f"{k}_per_job": round((after[k] - before[k]) / jobs, 2) for k in PG_COUNTERS}


# -- the two timed protocols -----------------------------------------------------------
@dataclass
class Finished:
    """What the engine's own records say about the drained jobs."""

    count: int
    last_finished: float | None  # epoch seconds
    first_started: float | None = None


def run_drain(
    *,
    jobs: int,
    launch: Callable[[], list[subprocess.Popen[bytes]]],
    finished: Callable[[], Finished],
    exits_when_done: bool,
    timeout: float,
    logs: list[Path],
    db_url: str | None = None,
) -> dict[str, Any]:
    """Start the workers on ``jobs`` queued jobs and time the drain.

    ``seconds`` = last finished (engine's record) - the moment just before the first
    worker process was started; ``exit_seconds`` = when the last worker process
    exited (engines with a burst/drain mode), for reference.
    """
    counters_before = pg_counters(db_url) if db_url else None
    procs: list[subprocess.Popen[bytes]] = []
    sampler = RssSampler(lambda: [p.pid for p in procs if p.poll() is None])
    t_launch = time.time()
    procs.extend(launch())
    sampler.start()
    deadline = time.monotonic() + timeout
    exit_seconds: float | None = None
    try:
        if exits_when_done:
            for proc in procs:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            exit_seconds = time.time() - t_launch
            bad = [p.returncode for p in procs if p.returncode != 0]
            if bad:
                raise RuntimeError(
                    f"worker exited with {bad}:\n" + "\n".join(tail(p) for p in logs)
                )
            done = finished()
        else:
            while True:
                done = finished()
                if done.count >= jobs:
                    break
                if any(p.poll() is not None for p in procs):
                    raise RuntimeError("a worker died:\n" + "\n".join(tail(p) for p in logs))
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {done.count}/{jobs} jobs finished in {timeout}s")
                time.sleep(0.05)
    except subprocess.TimeoutExpired:
        done = finished()
        raise TimeoutError(
            f"workers still running after {timeout}s ({done.count}/{jobs} finished)"
        ) from None
    finally:
        rss = sampler.stop()
        stop_processes(procs)
    if done.count < jobs or done.last_finished is None:
        raise RuntimeError(f"only {done.count}/{jobs} jobs finished")
    seconds = done.last_finished - t_launch
    result: dict[str, Any] = {
        "jobs": jobs,
        "seconds": round(seconds, 4),
        "jobs_per_second": round(jobs / seconds, 1),
        "exit_seconds": round(exit_seconds, 4) if exit_seconds is not None else None,
        **rss,
    }
    if done.first_started is not None:
        window = done.last_finished - done.first_started
        result["processing_window_seconds"] = round(window, 4)
        result["startup_seconds"] = round(done.first_started - t_launch, 4)
        if window > 0:
            result["window_jobs_per_second"] = round(jobs / window, 1)
    if db_url:
        time.sleep(0.6)  # PostgreSQL flushes backend statistics at most once a second
        result["db_per_job"] = per_job(counters_before, pg_counters(db_url), jobs)
    return result


def run_latency(
    *,
    jobs: int,
    interval: float,
    launch: Callable[[], list[subprocess.Popen[bytes]]],
    enqueue: Callable[[float], None],
    latency_file: Path,
    timeout: float,
    logs: list[Path],
) -> dict[str, Any]:
    """Enqueue ``jobs`` jobs ``interval`` apart to one idle worker; summarise the latencies."""
    latency_file.unlink(missing_ok=True)
    procs = launch()
    try:
        # Warm-up: one job proves the worker is up and its code imported; then idle.
        enqueue(WARMUP_MARK)
        deadline = time.monotonic() + min(timeout, 120)
        while not any(t == WARMUP_MARK for t, _ in read_latency_file(latency_file)):
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("the worker died:\n" + "\n".join(tail(p) for p in logs))
            if time.monotonic() > deadline:
                raise TimeoutError("the worker never ran the warm-up job")
            time.sleep(0.05)
        time.sleep(1.0)
        start = time.monotonic()
        for i in range(jobs):
            pause = start + i * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            enqueue(time.time())
        deadline = time.monotonic() + max(30.0, min(timeout, 120))
        while True:
            pairs = [(t, s) for t, s in read_latency_file(latency_file) if t != WARMUP_MARK]
            if len(pairs) >= jobs:
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("the worker died:\n" + "\n".join(tail(p) for p in logs))
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(pairs)}/{jobs} latency jobs started")
            time.sleep(0.05)
    finally:
        stop_processes(procs)
    latencies = [(s - t) * 1000.0 for t, s in pairs]
    return {"jobs": jobs, "interval_ms": interval * 1000.0, **latency_summary(latencies)}


def timed(func: Callable[[], Any]) -> float:
    """Seconds ``func()`` took."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


Action = Callable[[argparse.Namespace], "dict[str, Any] | None"]


def adapter_main(
    description: str,
    actions: Mapping[str, Action],
    *,
    session: Callable[[argparse.Namespace], contextlib.AbstractContextManager[Any]] | None = None,
) -> None:
    """The one ``main`` of every adapter: parse the command line, run the action it names
    inside the engine's ``session`` (setup and clean-up around every action), and print
    the result line run.py reads. An action the engine lacks is a failed result."""
    args = adapter_parser(description).parse_args()

    def run() -> dict[str, Any] | None:
        action = actions.get(args.action)
        if action is None:
            raise ValueError(f"this adapter has no action {args.action!r}")
        with session(args) if session else contextlib.nullcontext():
            return action(args)

    main_guard(run)


def main_guard(func: Callable[[], dict[str, Any] | None]) -> None:
    """Run an adapter action; report any exception as a failed result line."""
    try:
        result = func()
    except Exception as exc:  # an adapter must always answer
        import traceback

        traceback.print_exc()
        emit({"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        sys.exit(1)
    result = result or {}
    result.setdefault("status", "ok")
    emit(result)


# -- bulk-loading rows -------------------------------------------------------------
def copy_row_sql(
    vendor: str,
    table: str,
    columns: Sequence[str],
    copies: int,
    where: str,
    overrides: dict[str, str] | None = None,
) -> str:
    """``INSERT INTO table (columns) SELECT ... FROM table, <series of copies rows> WHERE ...``:
    ``copies`` copies of the row ``where`` selects, in one statement. ``overrides`` maps a
    column to the SQL expression to use instead of the copied value."""
    overrides = overrides or {}
    select = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    insert = f"INSERT INTO {table} ({', '.join(columns)}) "
    if vendor == "postgresql":
        return (
            f"{insert}SELECT {select} FROM {table} t, generate_series(1, {copies}) g WHERE {where}"
        )
    if vendor == "mysql":
        # MariaDB's Sequence engine: seq_1_to_N is a virtual table of N rows.
        return f"{insert}SELECT {select} FROM {table} t, seq_1_to_{copies} g WHERE {where}"
    return (
        f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {copies}) "
        f"{insert}SELECT {select} FROM {table} t, g WHERE {where}"
    )


def run_one_worker_latency(
    args: argparse.Namespace,
    cmd: list[str],
    env: dict[str, str],
    enqueue: Callable[[float], None],
    cwd: Path | None = None,
) -> dict[str, Any]:
    """The latency action every adapter shares: one idle worker ``cmd`` (with ``env`` plus the
    latency file's path), jobs enqueued by ``enqueue(t_enqueue)``."""
    work = workdir(args)
    latency_file = work / f"latency-{os.getpid()}.txt"
    logs = [work / f"worker-{os.getpid()}.log"]
    worker_env = {**env, LATENCY_FILE_ENV: str(latency_file)}

    def launch() -> list[subprocess.Popen[bytes]]:
        return [start_process(cmd, env=worker_env, log_path=logs[0], cwd=cwd)]

    return run_latency(
        jobs=args.jobs,
        interval=args.interval,
        launch=launch,
        enqueue=enqueue,
        latency_file=latency_file,
        timeout=args.timeout,
        logs=logs,
    )
