"""App configuration: find every installed app's ``jobs`` module at start-up."""

from __future__ import annotations

import importlib
import logging

import django
from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger("django_resilient_queue")


class ResilientQueueConfig(AppConfig):
    """Registers system checks and imports job modules, the way the admin finds admin.py."""

    name = "django_resilient_queue"
    label = "django_resilient_queue"
    verbose_name = "Resilient queue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the checks)
            checks_alerts,  # noqa: F401  (registers the finer ALERTS checks)
            checks_schedules,  # noqa: F401  (registers the SCHEDULES field checks)
            checks_serializers,  # noqa: F401  (registers the SERIALIZERS checks)
            conf,
            redaction,  # noqa: F401  (registers the REDACT check)
            signals,
        )

        signals.connect_logging_receivers()

        if django.VERSION >= (6, 0):
            from .djangotasks import runner

            runner.install()  # workers can run rows that name Django Tasks

        autodiscover_modules("jobs")
        modules = conf.raw_settings().get("JOB_MODULES")
        for path in modules if isinstance(modules, list | tuple) else []:
            try:
                importlib.import_module(path)
            except ImportError:
                # Reported as resilient_queue.E008 by `manage.py check`, not a crash here.
                logger.warning("could not import job module %s", path, exc_info=True)
