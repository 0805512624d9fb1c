"""The description of a failed run, shared by Attempt and DeadLetter."""

from __future__ import annotations

from django.db import models

from ..failures import FailureCategory


class FailureDetails(models.Model):
    """Why a run failed: its category, the exception's type and message, the traceback."""

    failure_category = models.CharField(
        max_length=16,
        choices=[(c.value, c.value) for c in FailureCategory],
        blank=True,
        default="",
    )
    error_type = models.CharField(max_length=255, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")

    class Meta:
        abstract = True
