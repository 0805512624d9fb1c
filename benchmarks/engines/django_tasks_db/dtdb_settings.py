"""Django settings for django-tasks-db (Django's Tasks framework, database backend)."""

from __future__ import annotations

import os

from harness.common import django_database

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Persistent connections: db_worker calls close_old_connections() around every task,
# which with the default CONN_MAX_AGE=0 would reconnect for each one.
DATABASES = {"default": django_database(os.environ["BENCH_DATABASE_URL"], CONN_MAX_AGE=None)}

INSTALLED_APPS = ["django_tasks_db"]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_tasks_db": {"handlers": ["console"], "level": "WARNING"},
        "django.tasks": {"handlers": ["console"], "level": "WARNING"},
    },
}
