"""The dashboard's throughput history: rates from running totals, per minute or per step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from django_resilient_queue.services.stats import throughput_history
from tests.factories import QueueSampleFactory

pytestmark = pytest.mark.django_db

UNTIL = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
RATE = 10  # succeeded jobs per minute, 1 failed


def sample_every_minute(minutes: int, *, skip: range = range(0)) -> None:
    """A sample each minute (two per minute: the larger total is the minute's) at RATE."""
    for back in range(minutes, -1, -1):
        if back in skip:
            continue  # the sampler was stopped
        elapsed = minutes - back
        for seconds in (5, 35):
            QueueSampleFactory(
                taken_at=minutes_before_until(back) + timedelta(seconds=seconds - 60),
                succeeded_total=elapsed * RATE + (RATE // 2 if seconds == 35 else 0),
                failed_total=elapsed,
            )


def minutes_before_until(back: int) -> datetime:
    return UNTIL - timedelta(minutes=back)


def test_per_minute_rates_and_a_gap_is_a_gap_not_a_spike() -> None:
    sample_every_minute(60, skip=range(20, 25))
    history = throughput_history(UNTIL - timedelta(hours=1), UNTIL)
    rates = [rate for _, rate in history["succeeded"]]
    assert rates and all(rate == pytest.approx(RATE) for rate in rates)
    assert all(rate == pytest.approx(1) for _, rate in history["failed"])
    minutes = [at for at, _ in history["succeeded"]]
    assert len(minutes) == 60 - 5  # the five minutes without samples have no point


def test_ten_minute_steps_read_fewer_samples_and_give_the_same_rate() -> None:
    sample_every_minute(180)
    history = throughput_history(UNTIL - timedelta(hours=2), UNTIL, step_minutes=10)
    minutes = [at for at, _ in history["succeeded"]]
    assert len(minutes) == 12 and all(at.minute % 10 == 0 for at in minutes)
    assert all(rate == pytest.approx(RATE) for _, rate in history["succeeded"])
    assert all(rate == pytest.approx(1) for _, rate in history["failed"])


def test_totals_that_restart_never_give_a_negative_rate() -> None:
    QueueSampleFactory(taken_at=UNTIL - timedelta(minutes=3), succeeded_total=500)
    QueueSampleFactory(taken_at=UNTIL - timedelta(minutes=2), succeeded_total=3)
    QueueSampleFactory(taken_at=UNTIL - timedelta(minutes=1), succeeded_total=13)
    history = throughput_history(UNTIL - timedelta(minutes=5), UNTIL)
    assert [rate for _, rate in history["succeeded"]] == [0, 10]
