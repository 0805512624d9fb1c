"""The claim's gates: which keys to skip now, and admission of what was claimed.

A claim first excludes the keys known to be blocked (one snapshot, refreshed at most
every SNAPSHOT_TTL seconds and at once after a refusal), so held-back jobs never
stand in front of runnable ones. What it then claims is admitted key by key with
conditional updates, inside the claim's transaction, which is what makes the limits
hold across workers; a refused job is put back as if never claimed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from .. import registry
from ..db.base import ClaimFilter
from ..definition import JobDefinition
from ..models import BreakerState, CircuitBreaker, Gate, GateKind, Job
from . import breaker, limits

SNAPSHOT_TTL = 0.25
SATURATED_RETRY = 0.02


@dataclass(frozen=True)
class Exclusions:
    """Keys and tasks a claim must skip now."""

    breaker_keys: frozenset[str] = frozenset()
    concurrency_keys: frozenset[str] = frozenset()
    rate_keys: frozenset[str] = frozenset()
    tasks: frozenset[str] = frozenset()
    next_change: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.breaker_keys or self.concurrency_keys or self.rate_keys or self.tasks)

    def q(self) -> Q:
        """Return the ORM filter that keeps only jobs not held back."""
        query = Q()
        if self.breaker_keys:
            query &= Q(breaker_key__isnull=True) | ~Q(breaker_key__in=self.breaker_keys)
        if self.concurrency_keys:
            query &= Q(concurrency_key__isnull=True) | ~Q(concurrency_key__in=self.concurrency_keys)
        if self.rate_keys:
            query &= Q(rate_limit_key__isnull=True) | ~Q(rate_limit_key__in=self.rate_keys)
        if self.tasks:
            query &= ~Q(task__in=self.tasks, solo=False)
        return query

    def sql(self) -> tuple[str, list[object]]:
        """Return the same filter as SQL (AND-prefixed) with its parameters."""
        parts: list[str] = []
        params: list[object] = []
        for column, values in (
            ("breaker_key", self.breaker_keys),
            ("concurrency_key", self.concurrency_keys),
            ("rate_limit_key", self.rate_keys),
        ):
            if values:
                marks = ", ".join(["%s"] * len(values))
                parts.append(f" AND ({column} IS NULL OR {column} NOT IN ({marks}))")
                params.extend(sorted(values))
        if self.tasks:
            marks = ", ".join(["%s"] * len(self.tasks))
            parts.append(f" AND NOT (task IN ({marks}) AND solo = %s)")
            params.extend([*sorted(self.tasks), False])
        return "".join(parts), params

    def claim_filter(self, only_task: str | None = None) -> ClaimFilter:
        """Return this as the filter a dialect's claim understands."""
        sql, params = self.sql()
        return ClaimFilter(q=self.q(), sql=sql, params=tuple(params), only_task=only_task)


@dataclass
class GateKeeper:
    """Per-claimer gate logic; cheap when no registered job uses a gate."""

    _snapshot: Exclusions = field(default_factory=Exclusions)
    _taken_at: float = 0.0

    @staticmethod
    def active() -> bool:
        """True when any registered job has a breaker, a limit or batching."""
        return registry.has_gated_definitions()

    def exclusions(self, now: datetime, batch_not_ready: Iterable[str] = ()) -> Exclusions:
        """Return what to skip now (from a snapshot at most SNAPSHOT_TTL old)."""
        due = self._snapshot.next_change is not None and now >= self._snapshot.next_change
        if due or time.monotonic() - self._taken_at > SNAPSHOT_TTL:
            self._snapshot = self._take_snapshot(now)
            self._taken_at = time.monotonic()
        tasks = frozenset(batch_not_ready)
        if not tasks:
            return self._snapshot
        snap = self._snapshot
        return Exclusions(
            snap.breaker_keys, snap.concurrency_keys, snap.rate_keys, tasks, snap.next_change
        )

    def invalidate(self) -> None:
        """Take a fresh snapshot at the next claim (after a refusal)."""
        self._taken_at = 0.0

    @staticmethod
    def _take_snapshot(now: datetime) -> Exclusions:
        blocked_breakers: set[str] = set()
        changes: list[datetime] = []
        for row in CircuitBreaker.objects.exclude(state=BreakerState.CLOSED).values(
            "key",
            "state",
            "opened_at",
            "reset_timeout",
            "half_open_trials",
            "half_open_max",
            "updated_at",
        ):
            if row["state"] == BreakerState.OPEN:
                reopen_at = (row["opened_at"] or now) + timedelta(seconds=row["reset_timeout"])
                if reopen_at > now:
                    blocked_breakers.add(row["key"])
                    changes.append(reopen_at)
            elif row["half_open_trials"] >= row["half_open_max"]:
                stale_at = row["updated_at"] + breaker.stale_trial_after(row["reset_timeout"])
                if stale_at > now:  # past it, admission recovers the lost trial places
                    blocked_breakers.add(row["key"])
                    changes.append(stale_at)
        concurrency: set[str] = set()
        rate: set[str] = set()
        for gate in Gate.objects.filter(
            Q(kind=GateKind.CONCURRENCY, running__gt=0)
            | Q(kind=GateKind.RATE, blocked_until__gt=now)
        ).values("key", "kind", "running", "limit", "blocked_until"):
            if gate["kind"] == GateKind.RATE:
                rate.add(gate["key"])
                changes.append(gate["blocked_until"] or now)
            elif gate["running"] >= gate["limit"]:
                concurrency.add(gate["key"])
                # A place frees when a job ends, at no known time: look again soon.
                changes.append(now + timedelta(seconds=SATURATED_RETRY))
        return Exclusions(
            frozenset(blocked_breakers),
            frozenset(concurrency),
            frozenset(rate),
            frozenset(),
            min(changes) if changes else None,
        )

    def admit(self, jobs: list[Job], now: datetime) -> list[Job]:
        """Take the claimed jobs' gate places, key by key; return the jobs that may NOT run."""
        definitions = {
            job.task: registry.lookup(job.task) for job in jobs if registry.is_registered(job.task)
        }
        admitted = [job for job in jobs if job.task in definitions]
        refused = _admit_breakers(admitted, definitions, now)
        admitted = [job for job in admitted if job not in refused]
        took_concurrency: list[Job] = []
        for key, group in _group(admitted, "concurrency_key", definitions, "concurrency_limit"):
            limit = definitions[group[0].task].concurrency_limit or 1
            granted = limits.acquire_concurrency(key, limit, len(group))
            took_concurrency.extend(group[:granted])
            refused.extend(group[granted:])
        admitted = [job for job in admitted if job not in refused]
        for key, group in _group(admitted, "rate_limit_key", definitions, "rate"):
            rate = definitions[group[0].task].rate
            assert rate is not None
            granted = limits.acquire_rate(key, rate, now, len(group))
            refused.extend(group[granted:])
        _give_back(refused, took_concurrency)
        if refused:
            self.invalidate()
        return refused


def _group(
    jobs: list[Job], column: str, definitions: dict[str, JobDefinition], option: str
) -> list[tuple[str, list[Job]]]:
    """Jobs with a key in ``column`` whose definition sets ``option``, grouped by key, in order."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        key = getattr(job, column)
        if key and getattr(definitions[job.task], option):
            groups.setdefault(key, []).append(job)
    return list(groups.items())


def _admit_breakers(
    jobs: list[Job], definitions: dict[str, JobDefinition], now: datetime
) -> list[Job]:
    """Refuse jobs whose breaker is open; take trial places of half-open ones (one query when
    every breaker is closed)."""
    keys = {
        job.breaker_key for job in jobs if job.breaker_key and definitions[job.task].breaker_config
    }
    if not keys:
        return []
    troubled = set(
        CircuitBreaker.objects.filter(key__in=keys)
        .exclude(state=BreakerState.CLOSED)
        .values_list("key", flat=True)
    )
    return [job for job in jobs if job.breaker_key in troubled and not breaker.admit(job, now)]


def _give_back(refused: list[Job], took_concurrency: list[Job]) -> None:
    """Undo the places refused jobs took before a later gate said no."""
    counts: dict[str, int] = {}
    for job in refused:
        if job in took_concurrency and job.concurrency_key:
            counts[job.concurrency_key] = counts.get(job.concurrency_key, 0) + 1
        if job.breaker_key and breaker.is_trial(job):
            breaker.unadmit(job)
    limits.release_concurrency(counts)
