"""What a set-based verb changed, and how it is shared by its callers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models

# Rows are handled this many at a time: each batch is one transaction, and a large
# selection ("all N matching" in the admin) is never loaded into memory at once.
BATCH_SIZE = 500
# At most this many changed ids are kept on a result (for messages and logs).
MAX_IDS = 1000


@dataclass(frozen=True)
class ActionResult:
    """Rows changed, and rows selected that were not eligible."""

    changed: int = 0
    ineligible: int = 0
    ids: tuple[int, ...] = ()

    def __add__(self, other: ActionResult) -> ActionResult:
        return ActionResult(
            self.changed + other.changed,
            self.ineligible + other.ineligible,
            (self.ids + other.ids)[:MAX_IDS],
        )

    def message(self, done: str, noun: str) -> str:
        """Say what happened, e.g. "Replayed 3 dead letters; 1 was not eligible."."""
        text = f"{done} {self.changed} {noun}{'' if self.changed == 1 else 's'}"
        if self.ineligible:
            verb = "was" if self.ineligible == 1 else "were"
            text += f"; {self.ineligible} {verb} not eligible"
        return text + "."


def id_batches(model: type[models.Model], selection: Any) -> Iterator[list[int]]:
    """Yield the primary keys of ``selection`` (a queryset or ids) in batches."""
    if isinstance(selection, models.QuerySet):
        ids: Iterable[int] = (
            selection.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=BATCH_SIZE)
        )
    else:
        ids = (int(pk) for pk in selection)
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def user_or_none(by: Any) -> Any:
    """Return ``by`` when it is a saved user, else None (commands may pass nothing)."""
    return by if getattr(by, "pk", None) is not None else None
