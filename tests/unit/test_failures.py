"""Classification of exceptions into failure categories."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError

from django_resilient_queue import BusinessError, FailureCategory
from django_resilient_queue.failures import DEFAULT_POLICIES, classify, coerce_category, policy_for
from django_resilient_queue.retry import Retry


class FakeHTTPError(Exception):
    """Stands for requests.exceptions.ConnectionError without installing requests."""


FakeHTTPError.__module__ = "requests.exceptions"
FakeHTTPError.__qualname__ = "ConnectionError"


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (TimeoutError(), FailureCategory.TIMEOUT),
        (TimeoutError(), FailureCategory.TIMEOUT),
        (ConnectionRefusedError(), FailureCategory.NETWORK),
        (socket.gaierror(), FailureCategory.NETWORK),
        (FakeHTTPError(), FailureCategory.NETWORK),
        (OperationalError(), FailureCategory.DATABASE),
        (ValidationError("x"), FailureCategory.VALIDATION),
        (ValueError(), FailureCategory.VALIDATION),
        (TypeError(), FailureCategory.VALIDATION),
        (MemoryError(), FailureCategory.RESOURCE),
        (BusinessError(), FailureCategory.BUSINESS),
        (RuntimeError(), FailureCategory.UNKNOWN),
    ],
)
def test_builtin_mapping(exc: BaseException, category: FailureCategory) -> None:
    assert classify(exc) is category


def test_per_job_classifier_wins_and_may_defer() -> None:
    def classifier(exc: BaseException) -> str | None:
        return "network" if isinstance(exc, KeyError) else None

    assert classify(KeyError("x"), classifier) is FailureCategory.NETWORK
    assert classify(ValueError(), classifier) is FailureCategory.VALIDATION


def test_policies_default_override_and_unknown_uses_job_retry() -> None:
    job_retry = Retry(max_attempts=9)
    assert policy_for(FailureCategory.UNKNOWN, job_retry) is job_retry
    assert policy_for(FailureCategory.VALIDATION, job_retry).max_attempts == 1
    assert policy_for(FailureCategory.NETWORK, job_retry).max_attempts == 5
    override = Retry(max_attempts=2)
    assert (
        policy_for(FailureCategory.NETWORK, job_retry, {FailureCategory.NETWORK: override})
        is override
    )
    assert set(DEFAULT_POLICIES) == set(FailureCategory)


def test_coerce_category() -> None:
    assert coerce_category("timeout") is FailureCategory.TIMEOUT
    with pytest.raises(ValueError, match="unknown failure category"):
        coerce_category("SLOW")
