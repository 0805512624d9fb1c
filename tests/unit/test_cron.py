"""Cron math: next tick, ticks between instants, catch-up, seconds field, DST days."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from django_resilient_queue.cron import (
    MAX_CATCH_UP,
    MISSED_AFTER,
    Cron,
    CronError,
    due_ticks,
    validate_expression,
    validate_schedule_fields,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_next_after_is_strictly_later_and_utc() -> None:
    cron = Cron("*/5 * * * *")
    assert cron.next_after(utc(2026, 1, 1, 12, 0)) == utc(2026, 1, 1, 12, 5)
    assert cron.next_after(utc(2026, 1, 1, 12, 4, 59)) == utc(2026, 1, 1, 12, 5)
    assert cron.next_after(utc(2026, 1, 1, 12, 0)).tzinfo == UTC


def test_seconds_field_is_the_sixth() -> None:
    every_ten = Cron("* * * * * */10")
    assert every_ten.next_after(utc(2026, 1, 1, 12, 0, 1)) == utc(2026, 1, 1, 12, 0, 10)
    every_second = Cron("* * * * * *")
    moment = datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert every_second.next_after(moment) == utc(2026, 1, 1, 12, 0, 1)
    assert every_second.latest_at_or_before(moment) == utc(2026, 1, 1, 12, 0, 0)


def test_latest_at_or_before_includes_the_instant_itself() -> None:
    cron = Cron("0 * * * *")
    assert cron.latest_at_or_before(utc(2026, 1, 1, 12, 0)) == utc(2026, 1, 1, 12, 0)
    assert cron.latest_at_or_before(utc(2026, 1, 1, 12, 59)) == utc(2026, 1, 1, 12, 0)


def test_time_zone_moves_the_wall_clock() -> None:
    cron = Cron("0 3 * * *", "Europe/Paris")
    # 03:00 in Paris in winter is 02:00 UTC, in summer 01:00 UTC.
    assert cron.next_after(utc(2026, 1, 10, 0, 0)) == utc(2026, 1, 10, 2, 0)
    assert cron.next_after(utc(2026, 7, 10, 0, 0)) == utc(2026, 7, 10, 1, 0)


def test_ticks_between_is_inclusive_and_bounded() -> None:
    cron = Cron("* * * * *")
    ticks = cron.ticks_between(utc(2026, 1, 1, 12, 0), utc(2026, 1, 1, 12, 3))
    assert ticks == [utc(2026, 1, 1, 12, m) for m in range(4)]
    latest_two = cron.ticks_between(utc(2026, 1, 1, 12, 0), utc(2026, 1, 1, 12, 3), limit=2)
    assert latest_two == [utc(2026, 1, 1, 12, 2), utc(2026, 1, 1, 12, 3)]
    assert cron.ticks_between(utc(2026, 1, 1, 12, 3), utc(2026, 1, 1, 12, 0)) == []


def test_catch_up_latest_all_none_after_downtime() -> None:
    cron = Cron("* * * * *")
    since, now = utc(2026, 1, 1, 12, 0), utc(2026, 1, 1, 12, 9, 30)
    assert due_ticks(cron, since, now, "latest") == [utc(2026, 1, 1, 12, 9)]
    assert due_ticks(cron, since, now, "all") == [utc(2026, 1, 1, 12, m) for m in range(10)]
    # The latest tick is 30 s old: missed, so "none" enqueues nothing.
    assert due_ticks(cron, since, now, "none") == []


def test_catch_up_none_keeps_a_tick_that_is_on_time() -> None:
    cron = Cron("* * * * *")
    now = utc(2026, 1, 1, 12, 9) + MISSED_AFTER / 2
    assert due_ticks(cron, utc(2026, 1, 1, 12, 0), now, "none") == [utc(2026, 1, 1, 12, 9)]


def test_catch_up_all_has_an_upper_bound_of_the_latest_ticks() -> None:
    cron = Cron("* * * * *")
    now = utc(2026, 1, 2, 12, 0)
    ticks = due_ticks(cron, utc(2026, 1, 1, 12, 0), now, "all")  # a day: 1441 due
    assert len(ticks) == MAX_CATCH_UP
    assert ticks[-1] == now and ticks[0] == now - timedelta(minutes=MAX_CATCH_UP - 1)


def test_nothing_due_before_the_next_run() -> None:
    cron = Cron("* * * * *")
    assert due_ticks(cron, utc(2026, 1, 1, 12, 1), utc(2026, 1, 1, 12, 0, 59), "all") == []


def test_bad_catch_up_is_refused() -> None:
    with pytest.raises(CronError):
        due_ticks(Cron("* * * * *"), utc(2026, 1, 1), utc(2026, 1, 2), "sometimes")


# -- daylight saving time: Europe/Paris, 29 March 2026 (02:00 -> 03:00) and
# -- 25 October 2026 (03:00 -> 02:00) ---------------------------------------------


def paris_day_ticks(expression: str, day: datetime) -> list[datetime]:
    """Ticks from local midnight (inclusive) to the next local midnight (exclusive)."""
    cron = Cron(expression, "Europe/Paris")
    zone = ZoneInfo("Europe/Paris")
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start.replace(day=day.day + 1) - timedelta(microseconds=1)
    return cron.ticks_between(start.astimezone(UTC), end.astimezone(UTC), limit=500)


def test_spring_forward_a_0230_job_runs_once_at_0300_summer_time() -> None:
    ticks = paris_day_ticks("30 2 * * *", utc(2026, 3, 29))
    # 02:30 does not exist that night: it runs at 03:00 CEST, 01:00 UTC, once.
    assert ticks == [utc(2026, 3, 29, 1, 0)]


def test_fall_back_a_0230_job_runs_once_at_the_first_0230() -> None:
    ticks = paris_day_ticks("30 2 * * *", utc(2026, 10, 25))
    # 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET): only the first runs.
    assert ticks == [utc(2026, 10, 25, 0, 30)]
    cron = Cron("30 2 * * *", "Europe/Paris")
    assert cron.next_after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)


def test_fall_back_an_hourly_job_runs_in_both_passes_of_the_repeated_hour() -> None:
    ticks = paris_day_ticks("30 * * * *", utc(2026, 10, 25))
    assert utc(2026, 10, 25, 0, 30) in ticks and utc(2026, 10, 25, 1, 30) in ticks
    # One run per real hour: that local day lasts 25 hours.
    assert len(ticks) == 25
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(ticks))


def test_spring_forward_an_hourly_job_runs_once_per_real_hour() -> None:
    ticks = paris_day_ticks("30 * * * *", utc(2026, 3, 29))
    assert len(ticks) == 23
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(ticks))


def test_fall_back_every_second_never_pauses() -> None:
    cron = Cron("* * * * * *", "Europe/Paris")
    # Last second of the first 02:xx pass (CEST) -> first second of the second pass (CET).
    assert cron.next_after(utc(2026, 10, 25, 0, 59, 59)) == utc(2026, 10, 25, 1, 0, 0)
    assert cron.latest_at_or_before(utc(2026, 10, 25, 1, 0, 0)) == utc(2026, 10, 25, 1, 0, 0)


def test_new_york_spring_forward_and_fall_back() -> None:
    cron = Cron("30 2 * * *", "America/New_York")
    # 8 March 2026: 02:00 EST -> 03:00 EDT; the job runs at 03:00 EDT = 07:00 UTC.
    assert cron.next_after(utc(2026, 3, 8, 0, 0)) == utc(2026, 3, 8, 7, 0)
    # 1 November 2026: 02:00 EDT -> 01:00 EST; 02:30 happens once, at 02:30 EST = 07:30 UTC.
    assert cron.next_after(utc(2026, 11, 1, 0, 0)) == utc(2026, 11, 1, 7, 30)


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "61 * * * *", "* * *", "a b c d e", "* * * * * * *"])
def test_bad_expressions_are_refused(bad: str) -> None:
    with pytest.raises(CronError):
        validate_expression(bad)


@pytest.mark.parametrize("good", ["0 3 * * *", "* * * * * *", "*/5 * * * * 30", "@daily"])
def test_good_expressions_are_accepted(good: str) -> None:
    assert validate_expression(good)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(CronError, match="time zone"):
        Cron("* * * * *", "Mars/Olympus")


def test_validate_schedule_fields_names_each_bad_field() -> None:
    errors = validate_schedule_fields(
        task="tests.jobs.nothing",
        cron="nope",
        timezone="Nowhere/Land",
        args={"a": 1},
        kwargs=[1],
        queue="",
        priority=500,
        catch_up="sometimes",
        enabled="yes",
        known_task=lambda name: False,
    )
    assert set(errors) == {
        "task",
        "cron",
        "timezone",
        "args",
        "kwargs",
        "queue",
        "priority",
        "catch_up",
        "enabled",
    }
    assert validate_schedule_fields(task="a.b", cron="* * * * *") == {}


def test_job_cron_option_is_validated_when_declared() -> None:
    from django_resilient_queue.definition import JobDefinition

    with pytest.raises(CronError, match=r"tests\.nightly"):
        JobDefinition(func=print, name="tests.nightly", cron="61 * * * *")
    assert JobDefinition(func=print, name="tests.nightly", cron="0 3 * * *").cron == "0 3 * * *"
