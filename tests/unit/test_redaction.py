"""redact_arguments hides redacted argument names and dict keys at any depth."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_resilient_queue.redaction import MASK, check_redact_setting, redact_arguments
from tests import jobs


@override_settings(RESILIENT_QUEUE={"REDACT": ["b", "password"]})
def test_positional_and_keyword_arguments_and_nested_keys_are_masked() -> None:
    args, kwargs = redact_arguments(
        jobs.add.name, [1, 2], {"extra": [{"Password": "s3cret", "user": "ann"}]}
    )
    assert args == [1, MASK]
    assert kwargs == {"extra": [{"Password": MASK, "user": "ann"}]}


@override_settings(RESILIENT_QUEUE={"REDACT": ["token"]})
def test_unknown_task_still_masks_keyword_names() -> None:
    args, kwargs = redact_arguments("gone.task", ["x"], {"token": "t", "other": {"token": 1}})
    assert args == ["x"]
    assert kwargs == {"token": MASK, "other": {"token": MASK}}


def test_nothing_to_redact_returns_values_unchanged() -> None:
    args, kwargs = [1, 2], {"a": 1}
    assert redact_arguments(jobs.add.name, args, kwargs) == (args, kwargs)


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        (["password"], []),
        ("password", ["resilient_queue.E050"]),
        (["ok", "", 3], ["resilient_queue.E051", "resilient_queue.E051"]),
    ],
)
def test_redact_setting_check(value: object, ids: list[str]) -> None:
    with override_settings(RESILIENT_QUEUE={"REDACT": value}):
        assert [m.id for m in check_redact_setting()] == ids
