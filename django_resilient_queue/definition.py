"""``@job`` and the frozen JobDefinition it returns."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from . import registry
from .context import JobContext
from .failures import Classifier
from .priority import Priority, validate_priority
from .retry import Retry

if TYPE_CHECKING:
    from .models import Job

Timeout = float | int | timedelta | Callable[..., float | int | timedelta]
Callback = "str | JobDefinition | None"


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobDefinition:
    """A registered job function and the options its enqueues use."""

    func: Callable[..., Any]
    name: str
    queue: str | None = None
    priority: int = Priority.NORMAL
    timeout: Timeout | None = None
    retry: Retry | None = None
    classify: Classifier | None = None
    unique_for: timedelta | None = None
    unique_key: Callable[..., Any] | None = None
    takes_context: bool = False
    on_success: str | JobDefinition | None = None
    on_failure: str | JobDefinition | None = None
    run_after: datetime | timedelta | None = None

    def __post_init__(self) -> None:
        validate_priority(int(self.priority))
        if self.unique_for is not None and not isinstance(self.unique_for, timedelta):
            raise TypeError(f"{self.name}: unique_for must be a timedelta")
        if self.unique_key is not None and not callable(self.unique_key):
            raise TypeError(f"{self.name}: unique_key must be a callable of the job's arguments")
        if self.retry is not None and not isinstance(self.retry, Retry):
            raise TypeError(f"{self.name}: retry must be a Retry(...)")

    @property
    def is_async(self) -> bool:
        """True for ``async def`` jobs."""
        return inspect.iscoroutinefunction(self.func)

    @property
    def is_unique(self) -> bool:
        """True when enqueues of an equal key collapse into one job."""
        return self.unique_for is not None or self.unique_key is not None

    def using(
        self,
        *,
        queue: str | None = None,
        priority: int | None = None,
        run_after: datetime | timedelta | None = None,
        timeout: Timeout | None = None,
    ) -> JobDefinition:
        """Return a copy whose enqueues use these options instead."""
        changes: dict[str, Any] = {}
        if queue is not None:
            changes["queue"] = queue
        if priority is not None:
            changes["priority"] = validate_priority(int(priority))
        if run_after is not None:
            changes["run_after"] = run_after
        if timeout is not None:
            changes["timeout"] = timeout
        return dataclasses.replace(self, **changes)

    def enqueue(self, *args: Any, **kwargs: Any) -> Job:
        """Write a queued Job in the current transaction and return it."""
        from .enqueue import enqueue_one

        return enqueue_one(self, args, kwargs)

    async def aenqueue(self, *args: Any, **kwargs: Any) -> Job:
        """Enqueue from async code."""
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.enqueue)(*args, **kwargs)

    def enqueue_many(self, argument_sets: Iterable[Any]) -> list[Job]:
        """Enqueue one job per argument set (a tuple of args, or a dict of kwargs) in bulk."""
        from .enqueue import enqueue_many

        return enqueue_many(self, [_split_arguments(item) for item in argument_sets])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function now, in this process, as a plain call."""
        if self.takes_context:
            args = (JobContext(job=None, attempt=1), *args)
        result = self.func(*args, **kwargs)
        if inspect.iscoroutine(result):
            return asyncio.run(result)
        return result

    def __repr__(self) -> str:
        return f"<JobDefinition {self.name}>"


def _split_arguments(item: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(item, Mapping):
        return (), dict(item)
    if isinstance(item, list | tuple):
        return tuple(item), {}
    return (item,), {}


def task_name(func: Callable[..., Any]) -> str:
    """Return the dotted path a job row stores for ``func``."""
    return f"{func.__module__}.{func.__qualname__}"


@overload
def job(func: Callable[..., Any], /) -> JobDefinition: ...


@overload
def job(
    func: None = None,
    /,
    *,
    queue: str | None = None,
    priority: int = Priority.NORMAL,
    timeout: Timeout | None = None,
    retry: Retry | None = None,
    classify: Classifier | None = None,
    unique_for: timedelta | None = None,
    unique_key: Callable[..., Any] | None = None,
    takes_context: bool = False,
    on_success: str | JobDefinition | None = None,
    on_failure: str | JobDefinition | None = None,
) -> Callable[[Callable[..., Any]], JobDefinition]: ...


def job(
    func: Callable[..., Any] | None = None, /, **options: Any
) -> JobDefinition | Callable[[Callable[..., Any]], JobDefinition]:
    """Declare a module-level function as a job; ``@job`` or ``@job(queue=..., ...)``."""

    def decorate(function: Callable[..., Any]) -> JobDefinition:
        if "<locals>" in function.__qualname__:
            raise TypeError(
                f"{function.__qualname__}: a job must be a module-level function "
                "so that workers can find it by name"
            )
        definition = JobDefinition(func=function, name=task_name(function), **options)
        registry.register(definition)
        return definition

    if func is not None:
        return decorate(func)
    return decorate
