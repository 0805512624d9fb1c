"""Put every exception in a FailureCategory and pick the retry policy for it."""

from __future__ import annotations

import enum
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .exceptions import BusinessError
from .retry import Backoff, Retry


class FailureCategory(enum.StrEnum):
    """Why a run failed; each category has its own retry policy."""

    TIMEOUT = "TIMEOUT"
    NETWORK = "NETWORK"
    DATABASE = "DATABASE"
    VALIDATION = "VALIDATION"
    RESOURCE = "RESOURCE"
    BUSINESS = "BUSINESS"
    UNKNOWN = "UNKNOWN"


Classifier = Callable[[BaseException], "FailureCategory | str | None"]

# Names of the common HTTP client errors, matched by class name along the MRO so
# that requests/httpx/urllib3/aiohttp need not be installed to be recognised.
_NETWORK_ERROR_NAMES = frozenset(
    {
        "requests.exceptions.ConnectionError",
        "requests.exceptions.Timeout",
        "requests.exceptions.RequestException",
        "httpx.TransportError",
        "httpx.NetworkError",
        "urllib3.exceptions.HTTPError",
        "aiohttp.client_exceptions.ClientError",
        "urllib.error.URLError",
        "http.client.HTTPException",
    }
)


def _qualified_names(exc: BaseException) -> set[str]:
    return {f"{k.__module__}.{k.__qualname__}" for k in type(exc).__mro__}


def builtin_category(exc: BaseException) -> FailureCategory:
    """Return the built-in category of ``exc`` (the contract's mapping)."""
    from django.core.exceptions import ValidationError
    from django.db import DatabaseError

    if isinstance(exc, BusinessError):
        return FailureCategory.BUSINESS
    if isinstance(exc, TimeoutError | socket.timeout):
        return FailureCategory.TIMEOUT
    if isinstance(exc, DatabaseError):
        return FailureCategory.DATABASE
    names = _qualified_names(exc)
    if "requests.exceptions.Timeout" in names or "httpx.TimeoutException" in names:
        return FailureCategory.TIMEOUT
    if isinstance(exc, ConnectionError | socket.gaierror | socket.herror) or (
        names & _NETWORK_ERROR_NAMES
    ):
        return FailureCategory.NETWORK
    if isinstance(exc, ValidationError | ValueError | TypeError):
        return FailureCategory.VALIDATION
    if isinstance(exc, MemoryError):
        return FailureCategory.RESOURCE
    return FailureCategory.UNKNOWN


def classify(
    exc: BaseException,
    classifier: Classifier | None = None,
    mapping: Mapping[str, FailureCategory] | None = None,
) -> FailureCategory:
    """Return the category of ``exc``: the job's ``classify=``, then ``mapping`` (dotted class
    path -> category, matched along the exception's MRO), then the built-in map."""
    if classifier is not None:
        chosen = classifier(exc)
        if chosen is not None:
            return coerce_category(chosen)
    if mapping:
        for klass in type(exc).__mro__:
            found = mapping.get(f"{klass.__module__}.{klass.__qualname__}")
            if found is not None:
                return found
    return builtin_category(exc)


def coerce_category(value: FailureCategory | str) -> FailureCategory:
    """Accept a member or its name (any case); raise ``ValueError`` otherwise."""
    if isinstance(value, FailureCategory):
        return value
    try:
        return FailureCategory[str(value).upper()]
    except KeyError:
        raise ValueError(f"unknown failure category {value!r}") from None


DEFAULT_POLICIES: Mapping[FailureCategory, Retry | None] = {
    FailureCategory.TIMEOUT: Retry(max_attempts=3, backoff=Backoff.exponential(min_delay=5)),
    FailureCategory.NETWORK: Retry(max_attempts=5, backoff=Backoff.linear(step=5, max_delay=300)),
    FailureCategory.DATABASE: Retry(max_attempts=3, backoff=Backoff.exponential(min_delay=2)),
    FailureCategory.VALIDATION: Retry(max_attempts=1),
    FailureCategory.RESOURCE: Retry(max_attempts=2, backoff=Backoff.fixed(300)),
    FailureCategory.BUSINESS: Retry(max_attempts=1),
    # None: the job's own ``retry`` applies.
    FailureCategory.UNKNOWN: None,
}


@dataclass(frozen=True)
class RetryDecision:
    """Whether to run again and after how many seconds."""

    retry: bool
    delay: float = 0.0


def policy_for(
    category: FailureCategory,
    job_retry: Retry,
    overrides: Mapping[FailureCategory, Retry] | None = None,
) -> Retry:
    """Return the policy that governs ``category``: settings override, default, then the job's."""
    if overrides and category in overrides:
        return overrides[category]
    policy = DEFAULT_POLICIES[category]
    return job_retry if policy is None else policy
