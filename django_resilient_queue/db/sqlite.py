"""SQLite: the claim is one UPDATE ... RETURNING statement, atomic under the write lock."""

from __future__ import annotations

from .base import PartialIndexes
from .returning import ReturningClaimDialect


class SQLiteDialect(PartialIndexes, ReturningClaimDialect):
    """The embedded default: one host, WAL mode, polling."""

    vendor = "sqlite"

    def prepare_worker_connection(self) -> None:
        """Use WAL so readers never block the claiming writer, and wait for locks."""
        with self.connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=20000")
            cursor.execute("PRAGMA synchronous=NORMAL")
