"""Task name -> JobDefinition: the only way a job row becomes something to call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .exceptions import DuplicateTask, UnknownTask

if TYPE_CHECKING:
    from .definition import JobDefinition

logger = logging.getLogger("django_resilient_queue.registry")

_definitions: dict[str, JobDefinition] = {}
# Turn a task name that no @job holds into a definition, or None (the Tasks backend's rows).
_resolvers: list[Callable[[str], JobDefinition | None]] = []


def register(definition: JobDefinition) -> None:
    """Make ``definition`` runnable under its task name."""
    previous = _definitions.get(definition.name)
    if previous is not None and previous.func is not definition.func:
        if _origin(previous.func) != _origin(definition.func):
            raise DuplicateTask(
                f"task name {definition.name} is taken: {_where(previous.func)} and "
                f"{_where(definition.func)} both declare it; rename one of them"
            )
        # The same definition again (a module reloaded): it replaces the old one.
        logger.debug("task %s registered again", definition.name)
    _definitions[definition.name] = definition


def _origin(func: Any) -> tuple[str, int] | None:
    code = getattr(func, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code is not None else None


def _where(func: Any) -> str:
    origin = _origin(func)
    return f"{origin[0]}:{origin[1]}" if origin else repr(func)


def add_resolver(resolver: Callable[[str], JobDefinition | None]) -> None:
    """Let ``resolver`` give the definition of names no ``@job`` holds (it must not raise)."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def find(name: str) -> JobDefinition | None:
    """Return the definition of ``name``: a ``@job``, else what a resolver gives, else None."""
    definition = _definitions.get(name)
    if definition is None:
        for resolver in _resolvers:
            definition = resolver(name)
            if definition is not None:
                break
    return definition


def lookup(name: str) -> JobDefinition:
    """Return the definition of ``name``; raise ``UnknownTask`` for anything not registered."""
    definition = find(name)
    if definition is None:
        raise UnknownTask(name)
    return definition


def is_registered(name: str) -> bool:
    """True when ``name`` is a registered ``@job`` (or a Django Task the backend resolves)."""
    return find(name) is not None


def definitions() -> list[JobDefinition]:
    """Every registered ``@job``, in registration order."""
    return list(_definitions.values())


def has_gated_definitions() -> bool:
    """True when a registered job uses a breaker, a rate or concurrency limit, or batching."""
    return any(d.is_gated or d.is_batch for d in _definitions.values())


def has_breaker_definitions() -> bool:
    """True when a registered job has a circuit breaker."""
    return any(d.breaker_config is not None for d in _definitions.values())


def has_limited_definitions() -> bool:
    """True when a registered job has a rate or a concurrency limit."""
    return any(d.rate_limit or d.concurrency_limit for d in _definitions.values())


def batch_definitions() -> dict[str, JobDefinition]:
    """Return the registered batch jobs by task name."""
    return {name: d for name, d in _definitions.items() if d.is_batch}


def registered_names() -> list[str]:
    """Return every registered task name, sorted."""
    return sorted(_definitions)
