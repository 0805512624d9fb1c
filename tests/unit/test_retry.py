"""Backoff math and retry policies (pure functions)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from django_resilient_queue import Backoff, Retry


def test_exponential_without_jitter_doubles_and_caps() -> None:
    backoff = Backoff.exponential(base=2, min_delay=1, max_delay=10, jitter=False)
    assert [backoff.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_exponential_jitter_stays_within_half_and_full_ceiling() -> None:
    backoff = Backoff.exponential(base=3, min_delay=2, max_delay=100)
    rng = random.Random(7)
    for n in range(1, 8):
        ceiling = min(100, 2 * 3 ** (n - 1))
        delays = [backoff.delay(n, rng) for _ in range(200)]
        assert all(max(2, ceiling / 2) <= d <= ceiling for d in delays), n
        if ceiling > 2:
            assert len({round(d, 6) for d in delays}) > 1  # it really is jittered


def test_fixed_linear_custom() -> None:
    assert [Backoff.fixed(7).delay(n) for n in (1, 5)] == [7, 7]
    assert [Backoff.linear(step=5, max_delay=12).delay(n) for n in (1, 2, 3)] == [5, 10, 12]
    assert [Backoff.custom([60, 300, 1800]).delay(n) for n in (1, 2, 3, 4)] == [60, 300, 1800, 1800]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Backoff.exponential(base=0.5),
        lambda: Backoff.fixed(-1),
        lambda: Backoff.linear(step=-1),
        lambda: Backoff.custom([]),
        lambda: Retry(max_attempts=0),
        lambda: Retry(give_up_after=timedelta(0)),
    ],
)
def test_bad_policies_are_refused(build) -> None:
    with pytest.raises(ValueError):
        build()
