"""Jobs with breakers, limits and batching, for the protection tests."""

from __future__ import annotations

import os
import time

from django_resilient_queue import Breaker, job
from tests.testapp.models import Execution, Widget


def _run(label: str, seconds: float = 0.0) -> None:
    row = Execution.objects.create(label=label, pid=os.getpid(), started_at=time.time())
    if seconds:
        time.sleep(seconds)
    row.finished_at = time.time()
    row.save(update_fields=["finished_at"])


@job(breaker=Breaker(failure_threshold=3, window=60, reset_timeout=2, half_open_max=1))
def call_dependency(n: int) -> int:
    """Fails with ConnectionError (NETWORK, counted) while a Widget named 'down' exists."""
    _run(f"dependency-{n}")
    if Widget.objects.filter(name="down").exists():
        raise ConnectionError("dependency is down")
    return n


@job(breaker=Breaker(failure_threshold=1, window=60, reset_timeout=1, half_open_max=1))
def always_down(n: int) -> None:
    """A dependency that never comes back: its breaker reopens every second."""
    raise ConnectionError("dependency is down")


@job(rate_limit="10/s")
def rate_limited(n: int) -> int:
    """At most ten starts per second, across every worker."""
    _run(f"rate-{n}")
    return n


@job(concurrency_limit=1, concurrency_key=lambda account, **_: account)
def per_account(account: str, n: int, seconds: float) -> None:
    """One at a time per account, across every worker."""
    _run(f"{account}-{n}", seconds)


@job(batch_size=10, batch_wait=0.5)
def batch_sum(items: list[int | str]) -> list[int]:
    """Called with up to ten items; a 'bad' item fails the whole call."""
    Execution.objects.create(label=f"batch:{len(items)}", pid=os.getpid(), started_at=time.time())
    if "bad" in items:
        raise ValueError("a bad item")
    return [int(i) * 2 for i in items]


@job(rate_limit="1000/s", concurrency_limit=2)
def doubly_limited(n: int) -> int:
    """Behind a rate and a concurrency limit, both keyed by the task's name."""
    return n
