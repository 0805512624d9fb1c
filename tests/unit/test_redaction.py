"""redact_arguments hides redacted argument names and dict keys at any depth."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_resilient_queue.redaction import (
    MASK,
    check_redact_setting,
    redact_arguments,
    redact_for_payload,
    redact_text,
)
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


@override_settings(RESILIENT_QUEUE={"REDACT": ["password"]})
def test_error_texts_lose_the_redacted_values_only() -> None:
    text = "login failed for ann with hunter22 (nested: s3cret-key)"
    masked = redact_text(
        jobs.add.name, ["ann", "hunter22"], {"extra": {"password": "s3cret-key"}}, text
    )
    # jobs.add(a, b): only REDACT names count; "b" is not redacted here, "password" is.
    assert masked == "login failed for ann with hunter22 (nested: ***)"


@override_settings(RESILIENT_QUEUE={"REDACT": ["b"]})
def test_positional_values_are_masked_in_text_short_ones_are_not() -> None:
    assert redact_text(jobs.add.name, [1, 98765], {}, "1 + 98765 failed") == "1 + *** failed"


@override_settings(RESILIENT_QUEUE={"REDACT": ["token"]})
def test_a_payload_loses_redacted_keys_and_their_values_in_strings() -> None:
    payload = {
        "message": "webhook refused token abcd-1234",
        "context": {"token": "abcd-1234", "queue": "emails"},
        "items": [{"Token": "zzzz-9"}],
    }
    assert redact_for_payload(payload) == {
        "message": "webhook refused token ***",
        "context": {"token": MASK, "queue": "emails"},
        "items": [{"Token": MASK}],
    }


@override_settings(RESILIENT_QUEUE={"REDACT": ["b"]})
def test_a_payload_about_a_job_loses_its_redacted_argument_values() -> None:
    shown = redact_for_payload(
        {"error": "cannot add 31337"}, task=jobs.add.name, args=[1, 31337], kwargs={}
    )
    assert shown == {"error": "cannot add ***"}


def test_without_redact_names_the_payload_is_returned_as_is() -> None:
    payload = {"token": "x"}
    assert redact_for_payload(payload) is payload
