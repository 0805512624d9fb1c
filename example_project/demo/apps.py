"""App configuration of the demo."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo app: its ``jobs`` module is found by the queue at start-up."""

    name = "demo"
    verbose_name = "Queue demo"
