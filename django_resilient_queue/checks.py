"""System checks for ``RESILIENT_QUEUE``: every bad setting is an error with its own id."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from . import conf
from .cron import CronError, validate_expression
from .failures import coerce_category
from .models.alert import AlertKind, AlertSeverity
from .retry import Retry

POSITIVE_NUMBERS = ("POLL_INTERVAL", "LEASE_SECONDS", "HEARTBEAT_SECONDS", "DEFAULT_TIMEOUT")
QUEUE_OPTIONS = {"max_depth", "backpressure_threshold", "emergency_threshold", "max_defer"}
SCHEDULE_KEYS = {
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


def _error(msg: str, number: int, hint: str | None = None) -> Error:
    return Error(msg, hint=hint, id=f"resilient_queue.E{number:03d}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_numbers(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    for name in POSITIVE_NUMBERS:
        if name in raw and not (_is_number(raw[name]) and raw[name] > 0):
            yield _error(f"RESILIENT_QUEUE[{name!r}] must be a positive number.", 3)
    for name in ("MAX_STALLS",):
        value = raw.get(name, 1)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            yield _error(f"RESILIENT_QUEUE[{name!r}] must be an int >= 1.", 3)
    if "GRACEFUL_TIMEOUT" in raw and not (
        _is_number(raw["GRACEFUL_TIMEOUT"]) and raw["GRACEFUL_TIMEOUT"] >= 0
    ):
        yield _error("RESILIENT_QUEUE['GRACEFUL_TIMEOUT'] must be a number >= 0.", 3)
    lease, beat = conf.get("LEASE_SECONDS"), conf.get("HEARTBEAT_SECONDS")
    if _is_number(lease) and _is_number(beat) and beat >= lease:
        yield _error(
            "RESILIENT_QUEUE['HEARTBEAT_SECONDS'] must be shorter than LEASE_SECONDS.",
            4,
            hint="A lease must be renewed before it expires; use a third of it or less.",
        )


def _check_policies(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    if "RETRY" in raw and not isinstance(raw["RETRY"], Retry):
        yield _error("RESILIENT_QUEUE['RETRY'] must be a Retry(...) instance.", 5)
    policies = raw.get("FAILURE_POLICIES", {})
    if not isinstance(policies, Mapping):
        yield _error("RESILIENT_QUEUE['FAILURE_POLICIES'] must be a dict.", 6)
        return
    mapping = raw.get("EXCEPTION_CATEGORIES", {})
    if not isinstance(mapping, Mapping):
        yield _error("RESILIENT_QUEUE['EXCEPTION_CATEGORIES'] must be a dict.", 14)
    else:
        for path, category in mapping.items():
            try:
                coerce_category(category)
            except ValueError:
                yield _error(f"EXCEPTION_CATEGORIES[{path!r}]: unknown category {category!r}.", 14)
    for key, value in policies.items():
        try:
            coerce_category(key)
        except ValueError:
            yield _error(f"FAILURE_POLICIES has an unknown category {key!r}.", 6)
        if not isinstance(value, Retry):
            yield _error(f"FAILURE_POLICIES[{key!r}] must be a Retry(...) instance.", 6)


def _check_queues(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    queues = raw.get("QUEUES", {})
    if not isinstance(queues, Mapping):
        yield _error("RESILIENT_QUEUE['QUEUES'] must be a dict of queue name -> options.", 7)
        return
    for name, options in queues.items():
        if not isinstance(options, Mapping):
            yield _error(f"QUEUES[{name!r}] must be a dict of options.", 7)
            continue
        depth = options.get("max_depth")
        if depth is not None and not (
            isinstance(depth, int) and not isinstance(depth, bool) and depth > 0
        ):
            yield _error(f"QUEUES[{name!r}]['max_depth'] must be a positive int.", 7)
        unknown = set(options) - QUEUE_OPTIONS
        if unknown:
            yield _error(f"QUEUES[{name!r}] has unknown options {sorted(unknown)}.", 7)
        low = options.get("backpressure_threshold", 0.8)
        high = options.get("emergency_threshold", 0.95)
        if not (_is_number(low) and _is_number(high) and 0 < low <= high <= 1):
            yield _error(
                f"QUEUES[{name!r}]: need 0 < backpressure_threshold <= emergency_threshold <= 1.", 7
            )
        defer = options.get("max_defer", 60)
        if not (_is_number(defer) and defer >= 0):
            yield _error(f"QUEUES[{name!r}]['max_defer'] must be a number of seconds >= 0.", 7)
    if "DEFAULT_QUEUE" in raw and not (
        isinstance(raw["DEFAULT_QUEUE"], str) and raw["DEFAULT_QUEUE"]
    ):
        yield _error("RESILIENT_QUEUE['DEFAULT_QUEUE'] must be a non-empty string.", 7)


def _check_aging(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    aging = raw.get("PRIORITY_AGING", {"interval": 300, "step": 10})
    if not isinstance(aging, Mapping) or set(aging) - {"interval", "step"}:
        yield _error("RESILIENT_QUEUE['PRIORITY_AGING'] must be {'interval': s, 'step': n}.", 15)
        return
    interval, step = aging.get("interval", 300), aging.get("step", 10)
    if not (_is_number(interval) and interval > 0):
        yield _error("PRIORITY_AGING['interval'] must be a positive number of seconds.", 15)
    if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        yield _error("PRIORITY_AGING['step'] must be an int >= 0 (0 turns aging off).", 15)


def _check_job_modules(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    modules = raw.get("JOB_MODULES", [])
    if not isinstance(modules, list | tuple):
        yield _error("RESILIENT_QUEUE['JOB_MODULES'] must be a list of dotted module paths.", 8)
        return
    for path in modules:
        try:
            importlib.import_module(path)
        except ImportError as exc:
            yield _error(f"JOB_MODULES: cannot import {path!r}: {exc}", 8)


def _check_schedules(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    schedules = raw.get("SCHEDULES", {})
    if not isinstance(schedules, Mapping):
        yield _error("RESILIENT_QUEUE['SCHEDULES'] must be a dict of name -> schedule.", 9)
        return
    for name, spec in schedules.items():
        if not isinstance(spec, Mapping) or "task" not in spec or "cron" not in spec:
            yield _error(f"SCHEDULES[{name!r}] must be a dict with 'task' and 'cron'.", 9)
            continue
        unknown = set(spec) - SCHEDULE_KEYS
        if unknown:
            yield _error(f"SCHEDULES[{name!r}] has unknown keys {sorted(unknown)}.", 9)
        try:
            validate_expression(spec["cron"])
        except CronError as exc:
            yield _error(f"SCHEDULES[{name!r}]['cron']: {exc}.", 10)
        if spec.get("catch_up", "latest") not in ("latest", "all", "none"):
            yield _error(f"SCHEDULES[{name!r}]['catch_up'] must be latest, all or none.", 9)


def _check_retention(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    retention = raw.get("RETENTION", {})
    if not isinstance(retention, Mapping) or any(
        key not in ("succeeded", "failed", "cancelled")
        or isinstance(v, bool)  # True is an int to Python, never a number of days here
        or not (isinstance(v, int) and v >= 0)
        for key, v in retention.items()
    ):
        yield _error(
            "RESILIENT_QUEUE['RETENTION'] must map succeeded/failed/cancelled to days (int >= 0).",
            11,
        )


ALERT_KINDS = tuple(AlertKind.values)
SEVERITIES = tuple(AlertSeverity.values)
# Keys each channel type accepts; "required" ones must be present.
CHANNEL_KEYS: Mapping[str, tuple[set[str], set[str]]] = {
    "email": ({"to"}, {"type", "to", "min_severity", "from_email", "timeout", "using"}),
    "slack": ({"url"}, {"type", "url", "min_severity", "timeout"}),
    "webhook": ({"url"}, {"type", "url", "secret", "min_severity", "timeout"}),
    "log": (set(), {"type", "min_severity", "logger", "timeout"}),
}
RULE_KEYS = {"threshold", "window", "severity", "enabled", "cooldown"}


def _check_channel(index: int, channel: Any) -> Iterable[CheckMessage]:
    # Messages name the entry by its position and type only: a channel holds secrets
    # (webhook secrets, Slack URLs with tokens) that a check must never print.
    where = f"ALERTS['CHANNELS'][{index}]"
    kind = channel.get("type") if isinstance(channel, Mapping) else None
    if not isinstance(kind, str) or kind not in CHANNEL_KEYS:
        yield _error(f"{where} needs a 'type': email, slack, webhook or log.", 12)
        return
    required, allowed = CHANNEL_KEYS[kind]
    for key in sorted(required - set(channel)):
        yield _error(f"{where} ({kind}) needs {key!r}.", 12)
    for key in sorted(str(k) for k in set(channel) - allowed):
        yield _error(
            f"{where} ({kind}) has an unknown key {key!r}.", 19, hint=f"Known: {sorted(allowed)}"
        )
    if (
        kind == "email"
        and "to" in channel
        and (
            not isinstance(channel["to"], list | tuple)
            or not channel["to"]
            or not all(isinstance(a, str) for a in channel["to"])
        )
    ):
        yield _error(f"{where} (email) 'to' must be a non-empty list of addresses.", 19)
    if kind == "email" and "using" in channel:
        yield from _check_mailer(where, channel["using"])
    for key in ("url", "secret", "from_email", "logger", "using"):
        if key in channel and not (isinstance(channel[key], str) and channel[key]):
            yield _error(f"{where} ({kind}) {key!r} must be a non-empty string.", 19)
    if "min_severity" in channel and channel["min_severity"] not in SEVERITIES:
        yield _error(f"{where} ({kind}) 'min_severity' must be one of {list(SEVERITIES)}.", 19)
    if "timeout" in channel and not (_is_number(channel["timeout"]) and channel["timeout"] > 0):
        yield _error(f"{where} ({kind}) 'timeout' must be a positive number of seconds.", 19)


def _check_mailer(where: str, alias: Any) -> Iterable[CheckMessage]:
    """An email channel's ``using`` names a mailer of Django 6.1's MAILERS."""
    import django
    from django.conf import settings

    if django.VERSION < (6, 1):
        yield _error(f"{where} (email) 'using' needs Django 6.1 or later (MAILERS).", 19)
    elif isinstance(alias, str) and alias and alias not in getattr(settings, "MAILERS", {}):
        yield _error(
            f"{where} (email) 'using' names no mailer of MAILERS.",
            19,
            hint=f"Known: {sorted(getattr(settings, 'MAILERS', {}))}",
        )


def _check_rules(rules: Any) -> Iterable[CheckMessage]:
    if not isinstance(rules, Mapping):
        yield _error("RESILIENT_QUEUE['ALERTS']['RULES'] must be a dict of alert kinds.", 18)
        return
    for kind, rule in rules.items():
        where = f"ALERTS['RULES'][{kind!r}]"
        if kind not in ALERT_KINDS:
            yield _error(f"{where}: unknown alert kind.", 18, hint=f"Known: {list(ALERT_KINDS)}")
            continue
        if not isinstance(rule, Mapping):
            yield _error(f"{where} must be a dict.", 18)
            continue
        for key in sorted(str(k) for k in set(rule) - RULE_KEYS):
            yield _error(
                f"{where} has an unknown key {key!r}.", 18, hint=f"Known: {sorted(RULE_KEYS)}"
            )
        for key in ("threshold", "cooldown"):
            if key in rule and not (_is_number(rule[key]) and rule[key] >= 0):
                yield _error(f"{where}[{key!r}] must be a number >= 0.", 18)
        if "window" in rule and not (_is_number(rule["window"]) and rule["window"] > 0):
            yield _error(f"{where}['window'] must be a positive number of seconds.", 18)
        if "severity" in rule and rule["severity"] not in SEVERITIES:
            yield _error(f"{where}['severity'] must be one of {list(SEVERITIES)}.", 18)
        if "enabled" in rule and not isinstance(rule["enabled"], bool):
            yield _error(f"{where}['enabled'] must be True or False.", 18)


def _check_alerts(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    alerts = raw.get("ALERTS", {})
    if not isinstance(alerts, Mapping):
        yield _error("RESILIENT_QUEUE['ALERTS'] must be a dict.", 12)
        return
    for key in sorted(str(k) for k in set(alerts) - {"CHANNELS", "RULES", "COOLDOWN"}):
        yield _error(f"RESILIENT_QUEUE['ALERTS'] has an unknown key {key!r}.", 12)
    channels = alerts.get("CHANNELS", [])
    if not isinstance(channels, list | tuple):
        yield _error("RESILIENT_QUEUE['ALERTS']['CHANNELS'] must be a list.", 12)
    else:
        for index, channel in enumerate(channels):
            yield from _check_channel(index, channel)
    cooldown = alerts.get("COOLDOWN", 600)
    if not (_is_number(cooldown) and cooldown >= 0):
        yield _error("RESILIENT_QUEUE['ALERTS']['COOLDOWN'] must be a number of seconds >= 0.", 17)
    yield from _check_rules(alerts.get("RULES", {}))


def _check_metrics_token(raw: Mapping[str, Any]) -> Iterable[CheckMessage]:
    token = raw.get("METRICS_TOKEN")
    if token is not None and not (isinstance(token, str) and token.strip()):
        # The value itself is never printed: it is a credential.
        yield _error("RESILIENT_QUEUE['METRICS_TOKEN'] must be None or a non-empty string.", 16)


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``settings.RESILIENT_QUEUE``."""
    from django.conf import settings

    value = getattr(settings, "RESILIENT_QUEUE", {})
    if not isinstance(value, Mapping):
        return [_error("RESILIENT_QUEUE must be a dict.", 1)]
    errors: list[CheckMessage] = [
        _error(
            f"RESILIENT_QUEUE has an unknown key {key!r}.",
            2,
            hint=f"Known: {sorted(conf.DEFAULTS)}",
        )
        for key in value
        if key not in conf.DEFAULTS
    ]
    for checker in (
        _check_numbers,
        _check_policies,
        _check_queues,
        _check_aging,
        _check_job_modules,
        _check_schedules,
        _check_retention,
        _check_alerts,
        _check_metrics_token,
    ):
        errors.extend(checker(value))
    return errors


@register(Tags.database)
def check_database(databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuse databases without SKIP LOCKED (MariaDB < 10.6, MySQL < 8)."""
    from django.db import connections, router

    from .models import Job

    if not databases:
        return []
    alias = router.db_for_write(Job)
    if alias not in databases:
        return []
    # No SQL here: this check must name the vendors it accepts (# on each line below).
    connection = connections[alias]
    vendor = connection.vendor  # the check reports the vendor by name
    if vendor not in ("postgresql", "mysql", "sqlite"):
        return [_error(f"Unsupported database vendor {vendor!r}.", 13)]
    if vendor == "mysql" and not connection.features.has_select_for_update_skip_locked:
        return [_error("MariaDB >= 10.6 or MySQL >= 8 is needed (SELECT ... SKIP LOCKED).", 13)]
    return []


@register(Tags.compatibility)
def check_callbacks(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``on_success``/``on_failure`` given by name must name a registered ``@job``."""
    from . import registry

    errors: list[CheckMessage] = []
    for definition in registry.definitions():
        for hook in ("on_success", "on_failure"):
            target = getattr(definition, hook)
            if isinstance(target, str) and not registry.is_registered(target):
                errors.append(
                    _error(
                        f"{definition.name}: {hook}={target!r} is not a registered @job.",
                        20,
                        hint="Name a module-level @job by its dotted path, or pass the job.",
                    )
                )
    return errors


@register(Tags.database)
def check_sqlite_options(databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SQLite shared by web and worker processes needs IMMEDIATE transactions and a timeout."""
    from django.db import connections, router

    from .models import Job

    if not databases:
        return []
    alias = router.db_for_write(Job)
    if alias not in databases or connections[alias].vendor != "sqlite":
        return []
    options = connections[alias].settings_dict.get("OPTIONS") or {}
    if options.get("transaction_mode") == "IMMEDIATE" and options.get("timeout", 5) >= 5:
        return []
    return [
        Warning(
            "SQLite without OPTIONS {'transaction_mode': 'IMMEDIATE', 'timeout': 20}: "
            "a transaction that enqueues inside atomic() can fail with 'database is locked' "
            "while a worker writes.",
            hint="See the quickstart's 'SQLite only' settings.",
            id="resilient_queue.W001",
        )
    ]
