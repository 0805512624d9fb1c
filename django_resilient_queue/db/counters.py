"""Add to many Counter rows in ONE statement: a multi-row upsert, per vendor.

The ORM's ``bulk_create(update_conflicts=True)`` can only overwrite ``value``; counting needs
``value = value + new``, which each vendor spells its own way.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connections

from ..models import Counter

Key = tuple[str, str, str]  # (name, task, label)

# The incoming row's value: PostgreSQL and SQLite say EXCLUDED, MariaDB/MySQL VALUES().
UPSERT = "ON CONFLICT (name, task, label) DO UPDATE SET value = {t}.value + "
CONFLICT = {
    "postgresql": UPSERT + "EXCLUDED.value",
    "sqlite": UPSERT + "excluded.value",
    "mysql": "ON DUPLICATE KEY UPDATE value = value + VALUES(value)",
}


def add_to_counters(increments: Mapping[Key, int], alias: str) -> None:
    """Add each increment to its counter, creating missing ones, in one statement."""
    if not increments:
        return
    connection = connections[alias]
    table = connection.ops.quote_name(Counter._meta.db_table)
    # Sorted keys: every flush locks rows in the same order, so two flushes never deadlock.
    keys = sorted(increments)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(keys))
    params: list[str | int] = []
    for name, task, label in keys:
        params += [name, task, label, increments[(name, task, label)]]
    sql = f"INSERT INTO {table} (name, task, label, value) VALUES {values} " + CONFLICT[
        connection.vendor
    ].format(t=table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
