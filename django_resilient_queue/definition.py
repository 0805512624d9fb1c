"""``@job`` and the frozen JobDefinition it returns."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from . import registry
from .context import JobContext
from .cron import CronError, validate_expression
from .failures import Classifier
from .priority import Priority, validate_priority
from .promises import validate_promises
from .protection.options import Breaker, RateLimit
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
    breaker: bool | Breaker | None = None
    breaker_key: str | Callable[..., Any] | None = None
    rate_limit: str | None = None
    rate_limit_key: Callable[..., Any] | None = None
    concurrency_limit: int | None = None
    concurrency_key: Callable[..., Any] | None = None
    batch_size: int | None = None
    batch_wait: float = 0.0
    redact: tuple[str, ...] | list[str] = ()
    expires_after: timedelta | None = None
    expires_at: datetime | None = None
    stall_timeout: float | timedelta | None = None
    cron: str | None = None  # a schedule synced into a Schedule row by runworkers

    def __post_init__(self) -> None:
        validate_priority(int(self.priority))
        validate_promises(self)
        if self.cron is not None:
            try:
                validate_expression(self.cron)
            except CronError as exc:
                raise CronError(f"{self.name}: {exc}") from None
        if self.breaker is not None and not isinstance(self.breaker, bool | Breaker):
            raise TypeError(f"{self.name}: breaker must be True or a Breaker(...)")
        if self.rate_limit is not None:
            if not isinstance(self.rate_limit, str):
                raise ValueError(f"{self.name}: rate_limit must be a string like '100/m'")
            RateLimit.parse(self.rate_limit)  # raises a clear ValueError
        if self.breaker_key is not None and not (
            isinstance(self.breaker_key, str) or callable(self.breaker_key)
        ):
            raise TypeError(f"{self.name}: breaker_key must be a string or a callable")
        if self.concurrency_limit is not None and (
            isinstance(self.concurrency_limit, bool)
            or not isinstance(self.concurrency_limit, int)
            or self.concurrency_limit < 1
        ):
            raise ValueError(f"{self.name}: concurrency_limit must be an int >= 1")
        for name in ("rate_limit_key", "concurrency_key"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise TypeError(f"{self.name}: {name} must be a callable of the job's arguments")
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int)
            or self.batch_size < 1
        ):
            raise ValueError(f"{self.name}: batch_size must be an int >= 1")
        if self.batch_size and self.takes_context:
            raise ValueError(f"{self.name}: a batch job cannot take a context")
        if self.batch_wait < 0:
            raise ValueError(f"{self.name}: batch_wait must be >= 0 seconds")
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
    def breaker_config(self) -> Breaker | None:
        """The circuit breaker options, or None without a breaker."""
        if self.breaker is True:
            return Breaker()
        return self.breaker if isinstance(self.breaker, Breaker) else None

    @property
    def rate(self) -> RateLimit | None:
        """The parsed ``rate_limit``, or None."""
        return RateLimit.parse(self.rate_limit) if self.rate_limit else None

    @property
    def is_gated(self) -> bool:
        """True when claims must consult a breaker or a limit for this job."""
        return bool(self.breaker_config or self.rate_limit or self.concurrency_limit)

    @property
    def is_batch(self) -> bool:
        """True when workers call the function with a list of arguments."""
        return bool(self.batch_size)

    def check_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        """Raise ``TypeError`` when the call does not fit the function's signature."""
        if self.is_batch:
            return  # the function receives a list of argument sets, not one call's
        signature = _signature(self.func)
        if signature is None:
            return
        leading = (None,) if self.takes_context else ()
        try:
            signature.bind(*leading, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None

    def named_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return the call's arguments by parameter name (key and timeout callables get these)."""
        try:
            signature = inspect.signature(self.func)
        except (TypeError, ValueError):
            return dict(kwargs)
        leading = (None,) if self.takes_context else ()
        try:
            bound = signature.bind(*leading, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None
        bound.apply_defaults()
        named = dict(bound.arguments)
        if self.takes_context:
            named.pop(next(iter(signature.parameters)))
        for parameter in signature.parameters.values():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                named.update(named.pop(parameter.name, {}))
        return named

    def gate_keys(self, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, str | None]:
        """Return the breaker, concurrency and rate keys of one call (None when not gated)."""

        named = self.named_arguments(args, kwargs)

        def scoped(key_func: Callable[..., Any] | None) -> str:
            if key_func is None:
                return self.name
            return f"{self.name}:{key_func(**named)}"[:255]

        breaker_key: str | None = None
        if self.breaker_config is not None:
            if callable(self.breaker_key):
                breaker_key = str(self.breaker_key(**named))[:255]
            else:
                breaker_key = self.breaker_key or self.name
        return {
            "breaker_key": breaker_key,
            "concurrency_key": scoped(self.concurrency_key) if self.concurrency_limit else None,
            "rate_limit_key": scoped(self.rate_limit_key) if self.rate_limit else None,
        }

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
        expires_at: datetime | None = None,
        expires_after: timedelta | None = None,
    ) -> JobDefinition:
        """Return a copy whose enqueues use these options instead."""
        changes: dict[str, Any] = {}
        if expires_at is not None or expires_after is not None:
            # The later call wins: one deadline replaces the other.
            changes.update(expires_at=expires_at, expires_after=expires_after)
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
        if self.is_batch:
            args = ([args[0]] if len(args) == 1 and not kwargs else list(args),)
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


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    # Cached per function: enqueue checks every call against it.
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


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
    breaker: bool | Breaker | None = None,
    breaker_key: str | Callable[..., Any] | None = None,
    rate_limit: str | None = None,
    rate_limit_key: Callable[..., Any] | None = None,
    concurrency_limit: int | None = None,
    concurrency_key: Callable[..., Any] | None = None,
    batch_size: int | None = None,
    batch_wait: float = 0.0,
    redact: tuple[str, ...] | list[str] = (),
    expires_after: timedelta | None = None,
    stall_timeout: float | timedelta | None = None,
    cron: str | None = None,
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
        if "<lambda>" in function.__qualname__:
            # Every lambda of a module shares the name module.<lambda>: rows made for one
            # would run another.
            raise TypeError(
                f"{function.__module__}.<lambda>: a job needs a name of its own; "
                "declare it with def"
            )
        definition = JobDefinition(func=function, name=task_name(function), **options)
        registry.register(definition)
        return definition

    if func is not None:
        return decorate(func)
    return decorate
