"""Job priorities: Django's convention, higher runs first, range -100..100."""

from __future__ import annotations

import enum

MIN_PRIORITY = -100
MAX_PRIORITY = 100


class Priority(enum.IntEnum):
    """Named priorities; any int in -100..100 is accepted too."""

    CRITICAL = 100
    HIGH = 50
    NORMAL = 0
    LOW = -50


def validate_priority(value: int) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` if it is out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"priority must be an int, not {type(value).__name__}")
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValueError(f"priority must be between {MIN_PRIORITY} and {MAX_PRIORITY}, not {value}")
    return int(value)
