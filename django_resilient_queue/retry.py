"""Backoff math and retry policies: pure functions of the attempt number."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

BackoffKind = Literal["exponential", "fixed", "linear", "custom"]


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """How long to wait before attempt n+1; build one with the class methods."""

    kind: BackoffKind
    base: float = 2.0
    min_delay: float = 1.0
    max_delay: float = 3600.0
    step: float = 0.0
    delays: tuple[float, ...] = ()
    jitter: bool = False

    @classmethod
    def exponential(
        cls, base: float = 2, min_delay: float = 1, max_delay: float = 3600, jitter: bool = True
    ) -> Backoff:
        """Wait ``min_delay * base**(n-1)`` seconds, capped at ``max_delay``, with full jitter."""
        if base < 1 or min_delay < 0 or max_delay < min_delay:
            raise ValueError("exponential backoff needs base >= 1 and 0 <= min_delay <= max_delay")
        return cls(
            kind="exponential", base=base, min_delay=min_delay, max_delay=max_delay, jitter=jitter
        )

    @classmethod
    def fixed(cls, delay: float) -> Backoff:
        """Wait the same ``delay`` seconds before every retry."""
        if delay < 0:
            raise ValueError("fixed backoff needs delay >= 0")
        return cls(kind="fixed", min_delay=delay, max_delay=delay)

    @classmethod
    def linear(cls, step: float, max_delay: float = 3600) -> Backoff:
        """Wait ``step * n`` seconds before retry n, capped at ``max_delay``."""
        if step < 0 or max_delay < 0:
            raise ValueError("linear backoff needs step >= 0 and max_delay >= 0")
        return cls(kind="linear", step=step, max_delay=max_delay)

    @classmethod
    def custom(cls, delays: Sequence[float]) -> Backoff:
        """Wait ``delays[n-1]`` seconds before retry n; the last value repeats."""
        values = tuple(float(d) for d in delays)
        if not values or any(d < 0 for d in values):
            raise ValueError("custom backoff needs a non-empty list of delays >= 0")
        return cls(kind="custom", delays=values)

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        """Return the delay in seconds after ``failed_attempts`` (1-based) failed runs."""
        n = max(1, failed_attempts)
        if self.kind == "fixed":
            return self.min_delay
        if self.kind == "linear":
            return float(min(self.step * n, self.max_delay))
        if self.kind == "custom":
            return self.delays[min(n, len(self.delays)) - 1]
        ceiling = min(self.max_delay, self.min_delay * self.base ** (n - 1))
        if not self.jitter:
            return float(ceiling)
        # "Equal jitter": never below half the ceiling, so retries still spread out
        # but a retry storm cannot come back at once.
        half = ceiling / 2
        return max(self.min_delay, half + (rng or random).uniform(0, half))


@dataclass(frozen=True, kw_only=True)
class Retry:
    """How many runs may fail, how long to wait between them, when to give up."""

    max_attempts: int = 3
    backoff: Backoff = field(default_factory=lambda: Backoff.exponential())
    give_up_after: timedelta | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("Retry.max_attempts must be at least 1 (1 means no retry)")
        if self.give_up_after is not None and self.give_up_after.total_seconds() <= 0:
            raise ValueError("Retry.give_up_after must be a positive timedelta")
