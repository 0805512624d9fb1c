"""All vendor-specific SQL lives here; ``dialect_for(connection)`` picks it once."""

from __future__ import annotations

from typing import Any

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


def restore_claim_indexes(apps: Any, schema_editor: Any) -> None:
    """Recreate the SQL-made claim and reaper indexes a SQLite table rebuild dropped.

    A migration that adds or alters a Job column on SQLite rebuilds the table and keeps
    only the indexes Django knows of; the partial ones made with SQL must come back, or
    every claim sorts all queued rows. IF NOT EXISTS leaves other databases as they are.
    """
    dialect = dialect_for(schema_editor.connection)
    if dialect.vendor != "sqlite":
        return  # PostgreSQL and MariaDB alter tables in place
    table = schema_editor.quote_name(apps.get_model("django_resilient_queue", "Job")._meta.db_table)
    for sql in dialect.create_indexes_sql(table):
        schema_editor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))


__all__ = ["Dialect", "dialect_for", "restore_claim_indexes"]
