"""Aggregation and reports: medians, the tables, latest.json and latest.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from .engines import ENGINES
from .scenarios import SCENARIOS, num


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
                f"| engine | plain, {num(sizes['jobs'])} queued | with {num(sizes['history'])} "
                f"finished rows | ratio | {num(sizes['backlog'])} queued | ratio |"
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
            f"- enqueue and drain: {num(sizes['jobs'])} jobs; latency: "
            f"{num(sizes['latency_jobs'])} jobs {sizes['interval'] * 1000:g} ms apart; "
            f"history: {num(sizes['history'])} finished rows; backlog: "
            f"{num(sizes['backlog'])} queued jobs; time limit per measurement: "
            f"{meta['timeout']:.0f} s.\n"
        )
        out.append("See docs/performance.md for the method.\n")
        return "\n".join(out)
