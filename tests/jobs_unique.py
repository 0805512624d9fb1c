"""A unique job for the uniqueness tests."""

from __future__ import annotations

from datetime import timedelta

from django_resilient_queue import job


@job(unique_for=timedelta(minutes=5), unique_key=lambda user_id, **_: str(user_id))
def unique_by_user(user_id: int, note: str = "") -> int:
    """At most one per user while queued or running, and for five minutes after enqueue."""
    return user_id
