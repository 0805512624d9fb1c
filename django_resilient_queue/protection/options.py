"""The options of breakers and rate limits: plain values, importable before Django is set up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..failures import FailureCategory

SICK_DEPENDENCY = frozenset(
    {
        FailureCategory.NETWORK,
        FailureCategory.TIMEOUT,
        FailureCategory.DATABASE,
        FailureCategory.RESOURCE,
    }
)


@dataclass(frozen=True, kw_only=True)
class Breaker:
    """Open after ``failure_threshold`` counted failures within ``window`` seconds; after
    ``reset_timeout`` seconds let ``half_open_max`` trial jobs through."""

    failure_threshold: int = 10
    window: float = 300.0
    reset_timeout: float = 60.0
    half_open_max: int = 1
    counts: frozenset[FailureCategory] = field(default=SICK_DEPENDENCY)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.half_open_max < 1:
            raise ValueError("Breaker needs failure_threshold >= 1 and half_open_max >= 1")
        if self.window <= 0 or self.reset_timeout <= 0:
            raise ValueError("Breaker needs a positive window and reset_timeout")

    def counts_failure(self, category: FailureCategory | None) -> bool:
        """True when a failure of ``category`` says the dependency is sick."""
        return category in self.counts


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` starts in any sliding window of ``window`` seconds."""

    count: int
    window: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse "N/s", "N/m" or "N/h"; raise ValueError with the accepted forms otherwise."""
        match = _RATE.match(text or "")
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"rate_limit {text!r} must look like '100/s', '100/m' or '100/h'")
        return cls(int(match.group(1)), float(_SECONDS[match.group(2)]))
