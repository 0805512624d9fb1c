"""The admin dashboard's entry in the admin index (a proxy: no table of its own)."""

from __future__ import annotations

from .queue import QueueSample


class Dashboard(QueueSample):
    """Stands for the dashboard page in the admin index; it draws from the queue samples."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"
