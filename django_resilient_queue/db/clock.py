"""The database server's clock, the one clock every worker shares: leases are set, renewed
and judged expired on it, so that a worker whose own clock is off cannot take back a live
run (nor keep one it lost)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import DateTimeField, Func
from django.db.models.expressions import CombinedExpression


class DatabaseNow(Func):
    """The server's current time (UTC), evaluated by the statement that uses it."""

    template = "CURRENT_TIMESTAMP"
    output_field = DateTimeField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        # The statement's own time: CURRENT_TIMESTAMP would be its transaction's start.
        return "STATEMENT_TIMESTAMP()", []

    def as_mysql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        # UTC whatever the session's time zone: Django stores UTC datetimes there.
        return "UTC_TIMESTAMP(6)", []

    def as_sqlite(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        # SQLite runs in the worker's process: its clock is the host's, like every worker's.
        return "STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'now')", []


def database_now_plus(seconds: float) -> CombinedExpression:
    """``seconds`` from now on the database server's clock (a lease's end)."""
    return DatabaseNow() + timedelta(seconds=seconds)
