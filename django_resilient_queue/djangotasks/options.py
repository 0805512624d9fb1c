"""The backend's ``OPTIONS``: what a ``@task`` cannot say (retry policy, timeout), validated.

A bad value is a system-check error (``resilient_queue.E070`` to ``E074``) and, if used anyway,
``ImproperlyConfigured`` at enqueue. Only JSON-able values are needed; ``Retry`` and
``Backoff`` objects are accepted too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured

from ..retry import Backoff, Retry

OPTION_KEYS = ("retry", "timeout")
RETRY_KEYS = ("max_attempts", "backoff", "give_up_after")
BACKOFF_ARGUMENTS = {
    "exponential": ("base", "min_delay", "max_delay", "jitter"),
    "fixed": ("delay",),
    "linear": ("step", "max_delay"),
    "custom": ("delays",),
}


class OptionError(ValueError):
    """One bad option: its message and its check number."""

    def __init__(self, message: str, number: int) -> None:
        super().__init__(message)
        self.number = number


@dataclass(frozen=True, kw_only=True)
class BackendOptions:
    """The job options every Task of one backend alias gets."""

    retry: Retry | None = None
    timeout: float | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _seconds(value: Any, where: str, number: int) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if not _is_number(seconds) or not seconds > 0 or seconds == float("inf"):
        raise OptionError(f"{where} must be a positive number of seconds or a timedelta.", number)
    return float(seconds)


def _backoff(value: Any, where: str) -> Backoff:
    if isinstance(value, Backoff):
        return value
    if not isinstance(value, Mapping) or value.get("kind") not in BACKOFF_ARGUMENTS:
        raise OptionError(
            f"{where} must be a Backoff or a dict with 'kind': "
            f"{', '.join(BACKOFF_ARGUMENTS)}, and that kind's arguments.",
            71,
        )
    kind = value["kind"]
    arguments = {k: v for k, v in value.items() if k != "kind"}
    unknown = sorted(set(arguments) - set(BACKOFF_ARGUMENTS[kind]))
    if unknown:
        raise OptionError(
            f"{where} ({kind}) has unknown keys {unknown}; "
            f"it takes {list(BACKOFF_ARGUMENTS[kind])}.",
            71,
        )
    try:
        built: Backoff = getattr(Backoff, kind)(**arguments)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"{where} ({kind}): {exc}", 71) from None
    return built


def _retry(value: Any, where: str) -> Retry:
    if isinstance(value, Retry):
        return value
    if not isinstance(value, Mapping):
        raise OptionError(f"{where} must be a Retry(...) or a dict of {list(RETRY_KEYS)}.", 71)
    unknown = sorted(set(value) - set(RETRY_KEYS))
    if unknown:
        raise OptionError(f"{where} has unknown keys {unknown}; it takes {list(RETRY_KEYS)}.", 71)
    attempts = value.get("max_attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise OptionError(f"{where}['max_attempts'] must be an int >= 1.", 71)
    arguments: dict[str, Any] = {"max_attempts": attempts}
    if "backoff" in value:
        arguments["backoff"] = _backoff(value["backoff"], f"{where}['backoff']")
    if value.get("give_up_after") is not None:
        seconds = _seconds(value["give_up_after"], f"{where}['give_up_after']", 71)
        arguments["give_up_after"] = timedelta(seconds=seconds)
    return Retry(**arguments)


def parse(alias: str, options: Any) -> BackendOptions:
    """Return the options of backend ``alias``; raise ``OptionError`` for the first bad one."""
    where = f"TASKS[{alias!r}]['OPTIONS']"
    if not isinstance(options, Mapping):
        raise OptionError(f"{where} must be a dict.", 70)
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise OptionError(
            f"{where} has unknown keys {unknown}; the backend takes {list(OPTION_KEYS)}.", 70
        )
    retry = _retry(options["retry"], f"{where}['retry']") if "retry" in options else None
    timeout = None
    if options.get("timeout") is not None:
        timeout = _seconds(options["timeout"], f"{where}['timeout']", 72)
    return BackendOptions(retry=retry, timeout=timeout)


def parse_or_raise(alias: str, options: Any) -> BackendOptions:
    """Return the options of backend ``alias``, or raise ``ImproperlyConfigured``."""
    try:
        return parse(alias, options)
    except OptionError as exc:
        raise ImproperlyConfigured(f"{exc} (resilient_queue.E{exc.number:03d})") from None


def check(alias: str, params: Mapping[str, Any]) -> list[Error]:
    """Return the system-check errors of one ``TASKS`` entry that names this backend."""
    from django.apps import apps

    errors: list[Error] = []
    try:
        parse(alias, params.get("OPTIONS", {}))
    except OptionError as exc:
        errors.append(Error(str(exc), id=f"resilient_queue.E{exc.number:03d}"))
    queues = params.get("QUEUES", [])
    if not isinstance(queues, list | tuple | set) or not all(
        isinstance(q, str) and q for q in queues
    ):
        errors.append(
            Error(
                f"TASKS[{alias!r}]['QUEUES'] must be a list of queue names.",
                hint="Leave it out to accept the queues of RESILIENT_QUEUE['QUEUES'].",
                id="resilient_queue.E073",
            )
        )
    if not apps.is_installed("django_resilient_queue"):
        errors.append(
            Error(
                f"TASKS[{alias!r}] uses ResilientQueueBackend, but django_resilient_queue "
                "is not in INSTALLED_APPS.",
                hint="Add 'django_resilient_queue' to INSTALLED_APPS and run migrate.",
                id="resilient_queue.E074",
            )
        )
    return errors
