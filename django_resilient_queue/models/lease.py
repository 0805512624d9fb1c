"""A named lease: one holder at a time across every runworkers (the alert evaluator)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Lease(models.Model):
    """Who holds ``name`` until ``expires_at``."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=255, blank=True, default="")
    expires_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"
