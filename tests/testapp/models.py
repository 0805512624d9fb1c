"""Test-only tables: the execution log proves each job ran once and when."""

from __future__ import annotations

from django.db import models


class Execution(models.Model):
    """One execution of a test job, written by the job itself."""

    job_id = models.BigIntegerField(null=True, db_index=True)
    label = models.CharField(max_length=100, db_index=True)
    pid = models.IntegerField()
    started_at = models.FloatField()
    finished_at = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.label} job={self.job_id}"


class Widget(models.Model):
    """A model passed to jobs by reference."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name
