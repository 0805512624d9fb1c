"""MariaDB / MySQL: the ORM claim with SKIP LOCKED (no UPDATE ... RETURNING there)."""

from __future__ import annotations

from .base import Dialect


class MySQLDialect(Dialect):
    """MariaDB >= 10.6 and MySQL >= 8: SKIP LOCKED, no partial indexes, polling."""

    vendor = "mysql"

    def create_indexes_sql(self, table: str) -> list[str]:
        """Indexes whose order IS the claim order.

        InnoDB locks every row a locking read examines: if the claim had to sort, it
        would lock all queued rows and serialise every worker. Scanning an index in
        claim order lets SKIP LOCKED stop after LIMIT rows. (DESC index parts need
        MariaDB >= 10.8 / MySQL 8; older MariaDB still claims correctly, only slower.)
        """
        return [
            f"CREATE INDEX drq_job_runnable ON {table} "
            "(status, queue, priority DESC, run_after, id)",
            f"CREATE INDEX drq_job_runnable_any ON {table} (status, priority DESC, run_after, id)",
            f"CREATE INDEX drq_job_lease ON {table} (status, lease_expires_at)",
        ]

    def drop_indexes_sql(self, table: str) -> list[str]:
        """Return the DDL that undoes ``create_indexes_sql``."""
        return [
            f"DROP INDEX drq_job_runnable ON {table}",
            f"DROP INDEX drq_job_runnable_any ON {table}",
            f"DROP INDEX drq_job_lease ON {table}",
        ]
