"""@job declarations and argument encoding (no database)."""

from __future__ import annotations

import pytest

from django_resilient_queue import Priority, job
from django_resilient_queue.serialization import encode_arguments
from tests import jobs


def test_task_name_is_the_dotted_path() -> None:
    assert jobs.add.name == "tests.jobs.add"
    assert jobs.high_on_other.queue == "other"
    assert jobs.high_on_other.priority == Priority.HIGH


def test_plain_call_runs_in_process() -> None:
    assert jobs.add(2, 3) == 5
    assert jobs.async_add(2, 3) == 5


def test_using_returns_a_copy() -> None:
    urgent = jobs.add.using(priority=Priority.CRITICAL, queue="urgent")
    assert (urgent.priority, urgent.queue) == (100, "urgent")
    assert jobs.add.priority == 0 and jobs.add.queue is None


@pytest.mark.parametrize("priority", [101, -101])
def test_priority_out_of_range(priority: int) -> None:
    with pytest.raises(ValueError, match="between -100 and 100"):
        jobs.add.using(priority=priority)


def test_nested_functions_cannot_be_jobs() -> None:
    def inner() -> None: ...

    with pytest.raises(TypeError, match="module-level"):
        job(inner)


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        ((object(),), {}, "positional argument 0"),
        ((), {"when": b"2026-01-01"}, "argument 'when'"),
        ((1, {"a": {1, 2}}), {}, "positional argument 1['a']"),
        ((), {"x": float("nan")}, "argument 'x'"),
        (({1: "a"},), {}, "positional argument 0"),
    ],
)
def test_non_json_arguments_raise_type_error_naming_them(args, kwargs, named) -> None:
    with pytest.raises(TypeError) as info:
        encode_arguments("t", args, kwargs)
    assert named in str(info.value)


def test_json_arguments_pass_through() -> None:
    assert encode_arguments("t", (1, "a", [True, None], {"k": 1.5}), {"z": (1, 2)}) == (
        [1, "a", [True, None], {"k": 1.5}],
        {"z": [1, 2]},
    )
