"""The pure half of rate and concurrency limits: what fits, and the sliding window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django_resilient_queue.protection.limits import (
    BUCKETS,
    _blocked_until,
    places_that_fit,
    record_starts,
)
from django_resilient_queue.protection.options import RateLimit

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
TEN_PER_MINUTE = RateLimit(10, 60.0)


def test_places_fit_up_to_each_limit_and_a_full_key_gets_none() -> None:
    wanted = {"a": (5, 3), "b": (2, 4), "c": (1, 1), "unknown": (9, 9)}
    running = {"a": 1, "b": 0, "c": 1}
    assert places_that_fit(wanted, running) == {"a": 3, "b": 2}


def test_starts_are_recorded_in_buckets_and_refused_past_the_count() -> None:
    starts, granted = record_starts([], TEN_PER_MINUTE, NOW, 4)
    assert granted == 4 and sum(n for _, n in starts) == 4
    # In the same bucket: one entry grows instead of a new one.
    starts, granted = record_starts(starts, TEN_PER_MINUTE, NOW, 4)
    assert granted == 4 and len(starts) == 1
    starts, granted = record_starts(starts, TEN_PER_MINUTE, NOW, 4)
    assert granted == 2  # 10 in the window: only two more fit
    _, granted = record_starts(starts, TEN_PER_MINUTE, NOW + timedelta(seconds=30), 1)
    assert granted == 0


def test_a_bucket_leaves_the_window_only_once_all_of_it_has_left() -> None:
    starts, _ = record_starts([], TEN_PER_MINUTE, NOW, 10)
    width = TEN_PER_MINUTE.window / BUCKETS
    just_before = NOW + timedelta(seconds=TEN_PER_MINUTE.window)
    assert record_starts(starts, TEN_PER_MINUTE, just_before, 1)[1] == 0
    after = just_before + timedelta(seconds=width)
    assert record_starts(starts, TEN_PER_MINUTE, after, 3)[1] == 3


def test_blocked_until_is_when_the_oldest_needed_bucket_leaves() -> None:
    starts, _ = record_starts([], TEN_PER_MINUTE, NOW, 10)
    blocked = _blocked_until(starts, TEN_PER_MINUTE, NOW, NOW.timestamp())
    assert blocked is not None
    width = TEN_PER_MINUTE.window / BUCKETS
    bucket = NOW.timestamp() - NOW.timestamp() % width
    assert abs(blocked.timestamp() - (bucket + width + TEN_PER_MINUTE.window)) < 1e-6
    not_full, _ = record_starts([], TEN_PER_MINUTE, NOW, 3)
    assert _blocked_until(not_full, TEN_PER_MINUTE, NOW, NOW.timestamp()) is None
