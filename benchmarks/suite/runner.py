"""The run: command line, the measurement loop, and the closing summary."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from .adapters import run_adapter, scrub
from .engines import ALIASES, ENGINES, PEERS, Engine
from .paths import PREFIX, REPO, RESULTS, RUN_ID
from .report import Record, Report, column_label, fmt, table_rows
from .scenarios import FULL_SIZES, QUICK_SIZES, SCENARIOS, Scenario
from .servers import MariaDBServer, PostgresServer, RedisServer, Server, SQLiteServer
from .venvs import ensure_venv, package_versions


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
