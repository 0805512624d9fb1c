"""The ALERTS setting read lazily: channels, cooldown, and each kind's rule with its defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import conf
from ..models.alert import AlertKind, AlertSeverity

SEVERITY_RANK = {str(severity): severity.rank for severity in AlertSeverity}

EVENT_KINDS = (AlertKind.DB_CONNECTION_LOST, AlertKind.BREAKER_OPEN, AlertKind.WORKER_CRASHED)
CONDITION_KINDS = (
    AlertKind.QUEUE_DEPTH_HIGH,
    AlertKind.FAILURE_RATE_HIGH,
    AlertKind.MEMORY_HIGH,
    AlertKind.PROCESSING_TIME_EXCEEDED,
    AlertKind.DEAD_LETTERS_GROWING,
)

# The documented defaults (docs/howto/alerts.md). ``threshold`` and ``window`` mean:
#   QUEUE_DEPTH_HIGH          runnable jobs in one queue (a queue with ``max_depth`` fires at its
#                             backpressure level if that is lower); window unused
#   FAILURE_RATE_HIGH         failed+timeout share of one task's finished attempts in ``window`` s
#   MEMORY_HIGH               a running worker's RSS in MB
#   PROCESSING_TIME_EXCEEDED  a multiple of the task's mean run time; ``window`` is the floor in s
#   DEAD_LETTERS_GROWING      new dead letters of one task in ``window`` s
#   event kinds               ``window``: seconds without a repeat after which it auto-resolves
DEFAULT_RULES: Mapping[str, Mapping[str, Any]] = {
    AlertKind.QUEUE_DEPTH_HIGH: {"threshold": 1000, "window": 60, "severity": AlertSeverity.HIGH},
    AlertKind.FAILURE_RATE_HIGH: {"threshold": 0.2, "window": 300, "severity": AlertSeverity.HIGH},
    AlertKind.DB_CONNECTION_LOST: {"threshold": 0, "window": 900, "severity": AlertSeverity.HIGH},
    AlertKind.BREAKER_OPEN: {"threshold": 0, "window": 0, "severity": AlertSeverity.HIGH},
    AlertKind.WORKER_CRASHED: {"threshold": 0, "window": 900, "severity": AlertSeverity.HIGH},
    AlertKind.MEMORY_HIGH: {"threshold": 1024, "window": 60, "severity": AlertSeverity.MEDIUM},
    AlertKind.PROCESSING_TIME_EXCEEDED: {
        "threshold": 3,
        "window": 60,
        "severity": AlertSeverity.MEDIUM,
    },
    AlertKind.DEAD_LETTERS_GROWING: {
        "threshold": 10,
        "window": 600,
        "severity": AlertSeverity.HIGH,
    },
}
# FAILURE_RATE_HIGH needs this many finished attempts in its window before a rate means anything.
MIN_ATTEMPTS_FOR_RATE = 10


@dataclass(frozen=True)
class Rule:
    """One kind's settings, defaults filled in."""

    kind: str
    threshold: float
    window: float
    severity: str
    enabled: bool
    cooldown: float


def _alerts() -> Mapping[str, Any]:
    value = conf.get("ALERTS") or {}
    return value if isinstance(value, Mapping) else {}


def cooldown() -> float:
    """Return the seconds before one fingerprint notifies again (ALERTS["COOLDOWN"])."""
    return float(_alerts().get("COOLDOWN", 600))


def rule(kind: str) -> Rule:
    """Return the rule of ``kind``: ALERTS["RULES"][kind] over the documented defaults."""
    merged: dict[str, Any] = dict(DEFAULT_RULES.get(kind, DEFAULT_RULES["BREAKER_OPEN"]))
    rules = _alerts().get("RULES") or {}
    override = rules.get(kind) if isinstance(rules, Mapping) else None
    if isinstance(override, Mapping):
        merged.update(override)
    return Rule(
        kind=kind,
        threshold=float(merged["threshold"]),
        window=float(merged["window"]),
        severity=str(merged["severity"]),
        enabled=bool(merged.get("enabled", True)),
        cooldown=float(merged.get("cooldown", cooldown())),
    )


def configured_severity(kind: str) -> str | None:
    """Return the severity a project set for ``kind``, or None to keep the raiser's."""
    rules = _alerts().get("RULES") or {}
    override = rules.get(kind) if isinstance(rules, Mapping) else None
    if isinstance(override, Mapping) and "severity" in override:
        return str(override["severity"])
    return None


def channels() -> list[Mapping[str, Any]]:
    """Return the configured channels, in order (their position names them)."""
    value = _alerts().get("CHANNELS") or []
    return [c for c in value if isinstance(c, Mapping)] if isinstance(value, list | tuple) else []


def reaches(channel: Mapping[str, Any], severity: str) -> bool:
    """True when an alert of ``severity`` is at least the channel's ``min_severity``."""
    floor = SEVERITY_RANK.get(str(channel.get("min_severity", "info")), 4)
    return SEVERITY_RANK.get(severity, 4) <= floor
