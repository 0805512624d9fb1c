"""Cumulative counts that outlive the rows they count (prunejobs never lowers them)."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """A monotonic count per (name, task, label): attempts by outcome, duration buckets."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=64)
    task = models.CharField(max_length=255)
    label = models.CharField(max_length=64, blank=True, default="")
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "task", "label"], name="drq_counter_key"),
        ]

    def __str__(self) -> str:
        return f"{self.name}{{{self.task},{self.label}}}={self.value}"
