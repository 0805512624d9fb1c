"""System checks report bad settings with their own ids, never a crash."""

from __future__ import annotations

import pytest

from django_resilient_queue import Retry
from django_resilient_queue.checks import check_settings


def ids(settings_value) -> list[str]:
    from django.test import override_settings

    with override_settings(RESILIENT_QUEUE=settings_value):
        return [e.id for e in check_settings()]


def test_defaults_pass() -> None:
    assert ids({}) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], "resilient_queue.E001"),
        ({"NOPE": 1}, "resilient_queue.E002"),
        ({"POLL_INTERVAL": 0}, "resilient_queue.E003"),
        ({"MAX_STALLS": 0}, "resilient_queue.E003"),
        ({"LEASE_SECONDS": 5, "HEARTBEAT_SECONDS": 10}, "resilient_queue.E004"),
        ({"RETRY": {"max_attempts": 3}}, "resilient_queue.E005"),
        ({"FAILURE_POLICIES": {"SLOW": Retry()}}, "resilient_queue.E006"),
        ({"QUEUES": {"a": {"max_depth": -1}}}, "resilient_queue.E007"),
        ({"JOB_MODULES": ["no.such.module"]}, "resilient_queue.E008"),
        ({"SCHEDULES": {"x": {"task": "t"}}}, "resilient_queue.E009"),
        ({"SCHEDULES": {"x": {"task": "t", "cron": "61 * * * *"}}}, "resilient_queue.E010"),
        ({"RETENTION": {"succeeded": -1}}, "resilient_queue.E011"),
        ({"ALERTS": {"CHANNELS": [{"type": "pager"}]}}, "resilient_queue.E012"),
        ({"EXCEPTION_CATEGORIES": {"x.Y": "SLOW"}}, "resilient_queue.E014"),
        ({"PRIORITY_AGING": {"interval": 0, "step": 10}}, "resilient_queue.E015"),
        ({"PRIORITY_AGING": {"every": 10}}, "resilient_queue.E015"),
        ({"QUEUES": {"a": {"max_depth": 10, "emergency_threshold": 2}}}, "resilient_queue.E007"),
        ({"QUEUES": {"a": {"max_dept": 10}}}, "resilient_queue.E007"),
        ({"MAX_STALLS": True}, "resilient_queue.E003"),
    ],
)
def test_bad_settings(value, expected: str) -> None:
    assert expected in ids(value)


# The check command runs the model checks, which read the database's features.
@pytest.mark.django_db
def test_check_command_exits_non_zero_on_bad_setting() -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.test import override_settings

    with (
        override_settings(RESILIENT_QUEUE={"POLL_INTERVAL": "fast"}),
        pytest.raises(SystemCheckError),
    ):
        call_command("check")


def _names_a_missing_callback() -> None:
    """Decorated inside the test below, then forgotten again."""


def test_a_callback_name_that_is_no_registered_job_is_e020() -> None:
    from django_resilient_queue import job, registry
    from django_resilient_queue.checks import check_callbacks

    assert check_callbacks() == []
    definition = job(on_failure="tests.jobs.no_such_job")(_names_a_missing_callback)
    try:
        [error] = check_callbacks()
        assert error.id == "resilient_queue.E020"
        assert "on_failure='tests.jobs.no_such_job'" in error.msg
        assert definition.name in error.msg
    finally:
        registry._definitions.pop(definition.name)
    assert check_callbacks() == []


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        ({"transaction_mode": "IMMEDIATE", "timeout": 20}, False),
        ({"timeout": 20}, True),
        ({"transaction_mode": "IMMEDIATE", "timeout": 1}, True),
    ],
)
@pytest.mark.databases("sqlite")
def test_sqlite_without_the_recommended_options_is_w001(options: dict, warned: bool) -> None:
    from django.db import connections

    from django_resilient_queue.checks import check_sqlite_options

    connection = connections["default"]
    saved = connection.settings_dict.get("OPTIONS")
    connection.settings_dict["OPTIONS"] = options
    try:
        found = [m.id for m in check_sqlite_options(databases=["default"])]
    finally:
        connection.settings_dict["OPTIONS"] = saved
    assert found == (["resilient_queue.W001"] if warned else [])


@pytest.mark.parametrize(
    ("value", "accessor", "named"),
    [
        ({"LEASE_SECONDS": "soon"}, "lease_seconds", "LEASE_SECONDS"),
        ({"HEARTBEAT_SECONDS": -1}, "heartbeat_seconds", "HEARTBEAT_SECONDS"),
        ({"MAX_STALLS": True}, "max_stalls", "MAX_STALLS"),
        ({"GRACEFUL_TIMEOUT": -5}, "graceful_timeout", "GRACEFUL_TIMEOUT"),
        ({"RETRY": {"max_attempts": 3}}, "default_retry", "RETRY"),
        ({"DEFAULT_QUEUE": ""}, "default_queue", "DEFAULT_QUEUE"),
        ([("LEASE_SECONDS", 5)], "lease_seconds", "RESILIENT_QUEUE must be a dict"),
        ({"FAILURE_POLICIES": {"NETWORK": 3}}, "failure_policies", "FAILURE_POLICIES"),
        ({"FAILURE_POLICIES": {"SLOW": Retry()}}, "failure_policies", "FAILURE_POLICIES"),
        ({"EXCEPTION_CATEGORIES": {"x.Y": "SLOW"}}, "exception_categories", "EXCEPTION_"),
        ({"RETENTION": {"succeeded": True}}, "retention_days", "RETENTION"),
        ({"METRICS_TOKEN": 12345}, "metrics_token", "METRICS_TOKEN"),
    ],
)
def test_a_bad_value_reached_at_run_time_raises_naming_its_key(
    value: object, accessor: str, named: str
) -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from django_resilient_queue import conf

    with override_settings(RESILIENT_QUEUE=value), pytest.raises(ImproperlyConfigured) as caught:
        getattr(conf, accessor)()
    assert named in str(caught.value)
    assert "12345" not in str(caught.value)
    assert "soon" not in str(caught.value)  # the value itself is never echoed
