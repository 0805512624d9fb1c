"""The benchmark's procrastinate app and tasks."""

from __future__ import annotations

import os

from harness.common import parse_url, record_start
from procrastinate import App, PsycopgConnector

app = App(
    connector=PsycopgConnector(conninfo=parse_url(os.environ["BENCH_DATABASE_URL"]).conninfo())
)


@app.task(name="noop")
async def noop() -> None:
    """Does nothing: the measurement is the queue's own cost."""


@app.task(name="record")
async def record(t_enqueue: float) -> None:
    """Latency probe: write down when it started."""
    record_start(t_enqueue)
