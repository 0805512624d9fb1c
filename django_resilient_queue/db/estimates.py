"""Row-count estimates the database keeps itself, so that no list counts a large table."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper


def estimated_rows(connection: BaseDatabaseWrapper, table: str) -> int | None:
    """Return the planner's row estimate of ``table``, or None where there is none.

    PostgreSQL: pg_class.reltuples (kept by ANALYZE and autovacuum; -1 before the first).
    MariaDB/MySQL: information_schema's table_rows (InnoDB's sampled estimate).
    SQLite keeps none: callers count, capped.
    """
    vendor = connection.vendor
    if vendor == "postgresql":
        sql = "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)"
        params = [connection.ops.quote_name(table)]
    elif vendor == "mysql":
        sql = (
            "SELECT table_rows FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %s"
        )
        params = [table]
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None or row[0] is None or int(row[0]) < 0:
        return None
    return int(row[0])
