"""The scenarios: what each measures, its adapter arguments, and the run sizes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scenario:
    key: str
    action: str
    label: Callable[[dict[str, Any]], str]
    args: Callable[[dict[str, Any]], list[str]]
    metric: str
    unit: str
    higher_is_better: bool = True


def num(value: int) -> str:
    """A count with thousands separators: 10,000."""
    return f"{value:,}"


SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in [
        Scenario(
            "enqueue",
            "enqueue",
            lambda z: f"enqueue {num(z['jobs'])} jobs, one call each",
            lambda z: ["--mode", "single", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "enqueue-bulk",
            "enqueue",
            lambda z: f"enqueue {num(z['jobs'])} jobs, bulk API",
            lambda z: ["--mode", "bulk", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "drain-c1",
            "drain",
            lambda z: f"drain {num(z['jobs'])} no-op jobs, concurrency 1",
            lambda z: ["--concurrency", "1", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "drain-c4",
            "drain",
            lambda z: f"drain {num(z['jobs'])} no-op jobs, concurrency 4",
            lambda z: ["--concurrency", "4", "--jobs", str(z["jobs"])],
            "jobs_per_second",
            "jobs/s",
        ),
        Scenario(
            "latency",
            "latency",
            lambda z: (
                f"enqueue → start latency, {num(z['latency_jobs'])} jobs "
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
                f"drain {num(z['jobs'])} jobs, concurrency 4, "
                f"{num(z['history'])} finished rows in the table"
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
            lambda z: f"drain {num(z['backlog'])} queued jobs, concurrency 4",
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
