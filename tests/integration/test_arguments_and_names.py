"""Enqueue binds every call to the signature; task names are never shared."""

from __future__ import annotations

import pytest

from django_resilient_queue import job
from django_resilient_queue.exceptions import DuplicateTask
from django_resilient_queue.models import Job
from tests import jobs


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1,), {}, "missing a required argument: 'b'"),
        ((1, 2, 3), {}, "too many positional arguments"),
        ((1, 2), {"c": 3}, "unexpected keyword argument 'c'"),
        ((1,), {"a": 2}, "multiple values for argument 'a'"),
    ],
)
def test_a_call_that_does_not_fit_the_signature_writes_nothing(
    args: tuple[int, ...], kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(TypeError, match=message) as error:
        jobs.add.enqueue(*args, **kwargs)
    assert "tests.jobs.add" in str(error.value)
    if not kwargs:
        with pytest.raises(TypeError, match=message):
            jobs.add.enqueue_many([args])
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_context_job_is_bound_without_its_context() -> None:
    jobs.record.enqueue("label")
    with pytest.raises(TypeError):
        jobs.record.enqueue()
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_enqueue_many_refuses_the_whole_call_when_one_set_is_wrong() -> None:
    with pytest.raises(TypeError):
        jobs.add.enqueue_many([(1, 2), (3,)])
    assert not Job.objects.exists()


def test_a_lambda_is_refused_as_a_job() -> None:
    with pytest.raises(TypeError, match="<lambda>"):
        job(lambda: None)


def test_a_second_function_under_a_taken_name_is_refused_naming_both() -> None:
    namespace: dict[str, object] = {"__name__": "tests.jobs"}
    source = "def add(a, b):\n    return a - b\n"
    with pytest.raises(DuplicateTask) as error:
        exec(compile(source, "<other definition>", "exec"), namespace)
        job(namespace["add"])  # type: ignore[arg-type]
    assert "tests.jobs.add" in str(error.value)
    assert "tests/jobs.py" in str(error.value) and "<other definition>" in str(error.value)
    assert jobs.add(2, 3) == 5  # the first definition stays registered
