"""runworkers' db_worker-style flags: bad values are refused before anything starts."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_resilient_queue.models import Worker
from django_resilient_queue.worker.config import WorkerConfig

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--interval", "0"], "--interval"),
        (["--interval", "-1"], "--interval"),
        (["--interval", "nan"], "--interval"),
        (["--interval", "soon"], "--interval"),
        (["--max-tasks", "0"], "--max-tasks"),
        (["--max-tasks", "two"], "--max-tasks"),
        (["--worker-id", ""], "--worker-id"),
        (["--worker-id", "x" * 201], "--worker-id"),
        (["--queue-name", ","], "--queue"),
        (["--reload", "--burst"], "--reload"),
        (["--reload", "--max-tasks", "3"], "--reload"),
    ],
)
def test_bad_values_are_command_errors(flags: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("runworkers", *flags)
    assert not Worker.objects.exists()  # nothing started


def test_a_worker_id_held_by_a_live_worker_is_refused() -> None:
    Worker.objects.create(name="busy", hostname="elsewhere", pid=7)
    with pytest.raises(CommandError, match="in use by a live worker"):
        call_command("runworkers", "--burst", "--worker-id", "busy")


def test_config_bounds_and_names() -> None:
    config = WorkerConfig(max_tasks=5, max_jobs_per_child=3, poll_interval=0.5)
    assert (config.finite, config.budget(0), config.budget(2), config.budget(9)) == (
        True,
        3,
        1,
        0,
    )
    assert WorkerConfig().budget(100) is None and not WorkerConfig().finite
