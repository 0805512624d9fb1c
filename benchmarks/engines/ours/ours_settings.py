"""Django settings for measuring django-resilient-queue (the database comes from the runner)."""

from __future__ import annotations

import os

from harness.common import django_database

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False  # DEBUG=True would keep every query in memory
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {"default": django_database(os.environ["BENCH_DATABASE_URL"])}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_resilient_queue",
]

# Every setting at its documented default; only the job module is named.
RESILIENT_QUEUE = {"JOB_MODULES": os.environ.get("BENCH_JOB_MODULES", "ours_jobs").split(",")}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_resilient_queue": {"handlers": ["console"], "level": "WARNING"}},
}
