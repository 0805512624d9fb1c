"""The claim's gates: which keys to skip now, and admission of what was claimed.

A claim skips the jobs of every circuit breaker that is not closed when it runs (a
subquery of the claim itself, so no worker claims for an open breaker, however fresh
its view) except the keys due for a half-open trial, and the keys known to be full
(one snapshot, refreshed at most every SNAPSHOT_TTL seconds and at once after a
refusal), so held-back jobs never stand in front of runnable ones. What it claims is
then admitted inside the claim's transaction: trials one by one, concurrency places of
every key together, rate starts key by key, which is what makes the limits hold
across workers; a refused job is put back as if never claimed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import connections, router
from django.db.models import Q, Subquery

from .. import registry
from ..db.base import ClaimFilter
from ..definition import JobDefinition
from ..models import BreakerState, CircuitBreaker, Gate, GateKind, Job
from ..protection import breaker, limits

SNAPSHOT_TTL = 0.25
SATURATED_RETRY = 0.02


@dataclass(frozen=True)
class Exclusions:
    """What a claim must skip now."""

    # Some registered job has a breaker: skip every breaker key not closed at claim time...
    guard_breakers: bool = False
    # ...except these, which may let a half-open trial through now.
    breaker_trials: frozenset[str] = frozenset()
    concurrency_keys: frozenset[str] = frozenset()
    rate_keys: frozenset[str] = frozenset()
    tasks: frozenset[str] = frozenset()
    next_change: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.guard_breakers or self.concurrency_keys or self.rate_keys or self.tasks)

    def q(self) -> Q:
        """Return the ORM filter that keeps only jobs not held back."""
        query = Q()
        if self.guard_breakers:
            troubled = CircuitBreaker.objects.exclude(state=BreakerState.CLOSED).values("key")
            query &= (
                Q(breaker_key__isnull=True)
                | Q(breaker_key__in=self.breaker_trials)
                | ~Q(breaker_key__in=Subquery(troubled))
            )
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
        if self.guard_breakers:
            quote = connections[router.db_for_read(CircuitBreaker)].ops.quote_name
            table = quote(CircuitBreaker._meta.db_table)
            trials = ""
            if self.breaker_trials:
                trials = f" OR breaker_key IN ({', '.join(['%s'] * len(self.breaker_trials))})"
                params.extend(sorted(self.breaker_trials))
            parts.append(
                f" AND (breaker_key IS NULL{trials} OR breaker_key NOT IN "
                f"(SELECT {quote('key')} FROM {table} WHERE {quote('state')} <> %s))"
            )
            params.append(BreakerState.CLOSED)
        for column, values in (
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
        return replace(self._snapshot, tasks=tasks) if tasks else self._snapshot

    def admission_needed(self) -> bool:
        """True when admitting what a claim brings back may take or refuse anything: a
        limit is configured, or a breaker may let a trial through. Otherwise the claim's
        own filter is the whole gate, and the claim needs no transaction around it."""
        return registry.has_limited_definitions() or bool(self._snapshot.breaker_trials)

    def invalidate(self) -> None:
        """Take a fresh snapshot at the next claim (after a refusal)."""
        self._taken_at = 0.0

    @staticmethod
    def _take_snapshot(now: datetime) -> Exclusions:
        trials: set[str] = set()
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
                    changes.append(reopen_at)
                    continue
            elif row["half_open_trials"] >= row["half_open_max"]:
                stale_at = row["updated_at"] + breaker.stale_trial_after(row["reset_timeout"])
                if stale_at > now:  # past it, admission recovers the lost trial places
                    changes.append(stale_at)
                    continue
            trials.add(row["key"])
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
            guard_breakers=registry.has_breaker_definitions(),
            breaker_trials=frozenset(trials),
            concurrency_keys=frozenset(concurrency),
            rate_keys=frozenset(rate),
            next_change=min(changes) if changes else None,
        )

    def admit(self, jobs: list[Job], now: datetime, *, sequential: bool = False) -> list[Job]:
        """Take the claimed jobs' gate places; return the jobs that may NOT run.

        ``sequential``: this worker runs the jobs one after another (claimed ahead), so it
        needs one concurrency place per key, held by the last of them to run, however many
        it claimed; otherwise each job takes its own place. The cost depends on the keys,
        not on the number of jobs: no query for breakers that were closed when the claim
        ran, one or two statements for every concurrency key together (and one to mark
        the runs that hold the places), two per rate key.
        """
        definitions = {
            job.task: definition
            for job in jobs
            if (definition := registry.find(job.task)) is not None
        }
        trials = self._snapshot.breaker_trials
        refused = {
            job.pk
            for job in jobs
            if job.breaker_key in trials
            and job.task in definitions
            and definitions[job.task].breaker_config is not None
            and not breaker.admit(job, now)
        }
        groups = _group(jobs, refused, "concurrency_key", definitions, "concurrency_limit")
        wants = {
            key: (
                definitions[group[0].task].concurrency_limit or 1,
                1 if sequential else len(group),
            )
            for key, group in groups
        }
        # The runs that would hold the places if every key gets all it wants.
        holders = {key: [job.pk for job in _holding(group, sequential)] for key, group in groups}

        rate_groups = _group(jobs, refused, "rate_limit_key", definitions, "rate")
        fused = limits.take_places_and_lock_rates(wants, holders, [key for key, _ in rate_groups])
        taken, rate_rows = fused if fused is not None else ({}, {})
        premarked = {pk for key in taken for pk in holders[key]}
        rest = {key: want for key, want in wants.items() if key not in taken}
        if rest:
            taken.update(limits.acquire_concurrency(rest))
        for key, group in groups:
            places = taken.get(key, 0)
            if not sequential:
                refused.update(job.pk for job in group[places:])
            elif not places:
                refused.update(job.pk for job in group)
        for key, group in rate_groups:
            group = [job for job in group if job.pk not in refused]
            rate = definitions[group[0].task].rate if group else None
            if rate is None:
                continue
            granted = limits.acquire_rate(key, rate, now, len(group), locked=rate_rows.get(key))
            refused.update(job.pk for job in group[granted:])
        self._hand_places_to(jobs, refused, taken, sequential, premarked)
        _give_back([job for job in jobs if job.pk in refused])
        if refused:
            self.invalidate()
        return [job for job in jobs if job.pk in refused]

    @staticmethod
    def _hand_places_to(
        jobs: list[Job],
        refused: set[int],
        taken: dict[str, int],
        sequential: bool,
        premarked: set[int],
    ) -> None:
        """Mark the admitted runs that hold the places taken (unless marked already); give
        back places nobody holds. Refused runs are unmarked when they are put back."""
        by_key: dict[str, list[Job]] = {}
        for job in jobs:
            if job.pk not in refused and job.concurrency_key in taken:
                by_key.setdefault(job.concurrency_key, []).append(job)
        holders: list[Job] = []
        unused: dict[str, int] = {}
        for key, places in taken.items():
            admitted = by_key.get(key, [])
            held = _holding(admitted, sequential)
            holders.extend(held)
            unused[key] = places - len(held)
        for job in holders:
            job.holds_place = True
        unmarked = [job.pk for job in holders if job.pk not in premarked]
        if unmarked:
            Job.objects.filter(pk__in=unmarked).update(holds_place=True)
        limits.release_concurrency(unused)


def _holding(jobs: list[Job], sequential: bool) -> list[Job]:
    """The runs of one key that hold its places: each job, or when they run one after
    another (in claim order), the last of them, holding the place for those before it."""
    return jobs[-1:] if sequential else jobs


def _group(
    jobs: list[Job],
    refused: set[int],
    column: str,
    definitions: dict[str, JobDefinition],
    option: str,
) -> list[tuple[str, list[Job]]]:
    """Jobs not refused with a key in ``column`` whose definition sets ``option``, by key,
    in claim order."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        key = getattr(job, column)
        definition = definitions.get(job.task)
        if key and job.pk not in refused and definition and getattr(definition, option):
            groups.setdefault(key, []).append(job)
    return list(groups.items())


def _give_back(refused: list[Job]) -> None:
    """Undo the trial places refused jobs took before a later gate said no."""
    for job in refused:
        if job.breaker_key and breaker.is_trial(job):
            breaker.unadmit(job)
