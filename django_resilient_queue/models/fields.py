"""A JSON column whose undecodable values never raise while rows are loaded."""

from __future__ import annotations

from typing import Any

from django.db import models


class Undecodable(str):
    """Stands for a stored JSON value Python cannot decode; the text says why.

    A ``str`` so that what holds it (a dead letter, a log line) stays JSON-safe; the
    column it came from refuses to be written back with it, so the row is never lost.
    """

    why: str

    def __new__(cls, text: str, why: str) -> Undecodable:
        """Make the placeholder ``text``; ``why`` says what the decoder refused."""
        value = super().__new__(cls, text)
        value.why = why
        return value


def undecodable(raw: str, exc: BaseException) -> Undecodable:
    """Describe ``raw`` (shortened) and why it could not be decoded."""
    why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
    head = raw[:80] + ("…" if len(raw) > 80 else "")
    return Undecodable(f"<undecodable JSON ({why}): {head}>", why)


class SafeJSONField(models.JSONField):
    """``JSONField`` whose value is an ``Undecodable`` where Python's decoder fails.

    A row written outside enqueue() (raw SQL, another service) may hold JSON the database
    accepts and Python cannot read: nested thousands of levels (RecursionError), an integer
    of more than 4,300 digits (ValueError). Django decodes a whole result set in
    ``from_db_value``; one such row would make every claim or reaper pass that loads it
    fail. Decoding per value keeps the other rows of the batch.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """Decode like JSONField, but return an ``Undecodable`` instead of raising."""
        try:
            return super().from_db_value(value, expression, connection)
        except (RecursionError, ValueError) as exc:
            return undecodable(str(value), exc)

    def get_prep_value(self, value: Any) -> Any:
        """Refuse to overwrite the stored value with its placeholder."""
        if isinstance(value, Undecodable):
            raise ValueError(f"{self.name}: an undecodable value cannot be written back")
        return super().get_prep_value(value)

    def deconstruct(self) -> Any:
        """Migrate as a plain JSONField: the column and its SQL are the same."""
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
