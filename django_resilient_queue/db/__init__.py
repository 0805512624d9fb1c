"""All vendor-specific SQL lives here; ``dialect_for(connection)`` picks it once."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from .base import Dialect


def dialect_for(connection: BaseDatabaseWrapper) -> Dialect:
    """Return the dialect of ``connection``'s database."""
    vendor = connection.vendor
    if vendor == "postgresql":
        from .postgresql import PostgreSQLDialect

        return PostgreSQLDialect(connection)
    if vendor == "mysql":
        from .mysql import MySQLDialect

        return MySQLDialect(connection)
    if vendor == "sqlite":
        from .sqlite import SQLiteDialect

        return SQLiteDialect(connection)
    raise NotImplementedError(
        f"django-resilient-queue supports PostgreSQL, MariaDB/MySQL and SQLite, not {vendor}"
    )


__all__ = ["Dialect", "dialect_for"]
