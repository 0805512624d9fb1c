"""MariaDB / MySQL: the ORM claim with SKIP LOCKED (no UPDATE ... RETURNING there)."""

from __future__ import annotations

from .base import Dialect


class MySQLDialect(Dialect):
    """MariaDB >= 10.6 and MySQL >= 8: SKIP LOCKED, no partial indexes, polling."""

    vendor = "mysql"
