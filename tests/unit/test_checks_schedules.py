"""SCHEDULES entries: each bad field has its own check id (E009/E010 shape and cron, E060-E067)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from django_resilient_queue.checks import check_settings
from django_resilient_queue.checks_schedules import check_schedules

GOOD = {"task": "tests.jobs.add", "cron": "0 3 * * *", "args": [1, 2]}


def ids(entry: dict[str, Any]) -> list[str]:
    with override_settings(RESILIENT_QUEUE={"SCHEDULES": {"nightly": entry}}):
        return sorted({e.id for e in [*check_settings(), *check_schedules()]})


def test_a_good_schedule_passes() -> None:
    assert ids(GOOD) == []
    assert ids({**GOOD, "cron": "* * * * * */10", "timezone": "Europe/Paris"}) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cron": "61 * * * *"}, "resilient_queue.E010"),
        ({"cron": "* * * * * * *"}, "resilient_queue.E010"),
        ({"catch_up": "sometimes"}, "resilient_queue.E009"),
        ({"every": 5}, "resilient_queue.E009"),
        ({"timezone": "Mars/Olympus"}, "resilient_queue.E060"),
        ({"task": "no.such.task"}, "resilient_queue.E061"),
        ({"args": {"a": 1}}, "resilient_queue.E062"),
        ({"kwargs": [1]}, "resilient_queue.E062"),
        ({"queue": ""}, "resilient_queue.E063"),
        ({"priority": 500}, "resilient_queue.E064"),
        ({"priority": "high"}, "resilient_queue.E064"),
        ({"enabled": "yes"}, "resilient_queue.E065"),
        ({"args": [object()]}, "resilient_queue.E066"),
        ({"args": [1, 2, 3]}, "resilient_queue.E067"),
    ],
)
def test_each_bad_field_has_its_id(change: dict[str, Any], expected: str) -> None:
    assert ids({**GOOD, **change}) == [expected]


# The check command runs the model checks, which read the database's features.
@pytest.mark.django_db
def test_check_command_reports_a_bad_time_zone() -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with (
        override_settings(RESILIENT_QUEUE={"SCHEDULES": {"x": {**GOOD, "timezone": "Nowhere"}}}),
        pytest.raises(SystemCheckError, match="E060"),
    ):
        call_command("check")
