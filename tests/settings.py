"""Settings for the test suite: the database comes from DATABASE_URL (SQLite by default)."""

from __future__ import annotations

import faulthandler
import json
import os
import signal
from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent
env = environ.Env()

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

_db = env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Worker processes started by the tests must share the test database: a file, not memory.
    _db.setdefault("TEST", {})["NAME"] = os.environ.get(
        "RESILIENT_QUEUE_TEST_SQLITE", str(BASE_DIR / f"test-{os.getpid()}.sqlite3")
    )
    _db.setdefault("OPTIONS", {}).setdefault("timeout", 30)
    # As the quickstart recommends: a transaction that reads and then writes takes the
    # write lock at BEGIN and waits for it, instead of failing with "database is locked"
    # when another process wrote in between.
    _db["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
elif _db["ENGINE"] == "django.db.backends.mysql":
    _db.setdefault("OPTIONS", {}).setdefault("charset", "utf8mb4")
    _db.setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
if "RESILIENT_QUEUE_TEST_DB_NAME" in os.environ:
    # A worker process started by a test: SIGUSR1 prints every thread's stack to its log
    # (inherited by the forked children), so that a test that finds it stuck can say where.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # Child processes point straight at the database pytest-django created.
    _db["NAME"] = os.environ["RESILIENT_QUEUE_TEST_DB_NAME"]
DATABASES = {"default": _db}

if django.VERSION >= (6, 1):
    # Django 6.1's mailers (the test run sends every message to mail.outbox).
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # the admin's CSS for the browser tests' live server
    "django_resilient_queue",
    "tests.testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
STATIC_URL = "/static/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Tests log users in often; a fast hasher keeps them quick (never for real passwords).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

RESILIENT_QUEUE: dict[str, object] = {
    "JOB_MODULES": [
        "tests.jobs",
        "tests.jobs_unique",
        "tests.jobs_protection",
        "tests.jobs_promises",
    ],
    "SERIALIZERS": ["tests.jobs_promises.MoneySerializer"],
    "MAX_STALLS": int(os.environ.get("RESILIENT_QUEUE_MAX_STALLS", "3")),
    # A small queue for the backpressure tests; other queues are unbounded.
    "QUEUES": {"bounded": {"max_depth": 100}},
    "POLL_INTERVAL": float(os.environ.get("RESILIENT_QUEUE_POLL_INTERVAL", "0.2")),
    "LEASE_SECONDS": float(os.environ.get("RESILIENT_QUEUE_LEASE_SECONDS", "60")),
    "HEARTBEAT_SECONDS": float(os.environ.get("RESILIENT_QUEUE_HEARTBEAT_SECONDS", "10")),
}

# Django 6's Tasks framework on our backend (Django 5.2 ignores the setting). Failing Tasks
# retry at once, so a test sees every attempt without waiting.
TASKS = {
    "default": {
        "BACKEND": "django_resilient_queue.backend.ResilientQueueBackend",
        "OPTIONS": {
            "retry": {"max_attempts": 2, "backoff": {"kind": "fixed", "delay": 0}},
            "timeout": 60,
        },
    },
    "second": {"BACKEND": "django_resilient_queue.backend.ResilientQueueBackend"},
}

if os.environ.get("RESILIENT_QUEUE_EXTRA_JOB_MODULE"):
    # The --reload test's module, written to a temporary directory on PYTHONPATH.
    _extra = os.environ["RESILIENT_QUEUE_EXTRA_JOB_MODULE"]
    RESILIENT_QUEUE["JOB_MODULES"] = [
        "tests.jobs",
        "tests.jobs_unique",
        "tests.jobs_protection",
        _extra,
    ]
if os.environ.get("RESILIENT_QUEUE_TEST_SCHEDULES"):
    # Acceptance tests of cron schedules declare theirs through the environment.
    RESILIENT_QUEUE["SCHEDULES"] = json.loads(os.environ["RESILIENT_QUEUE_TEST_SCHEDULES"])
if os.environ.get("RESILIENT_QUEUE_TEST_CRON_JOBS"):
    # A module with an @job(cron=...): only the workers of the tests that ask for it tick it.
    RESILIENT_QUEUE["JOB_MODULES"] = [*RESILIENT_QUEUE["JOB_MODULES"], "tests.jobs_cron"]  # type: ignore[misc]
if os.environ.get("RESILIENT_QUEUE_ALERTS"):
    # Acceptance tests give their worker processes alert channels (JSON).
    RESILIENT_QUEUE["ALERTS"] = json.loads(os.environ["RESILIENT_QUEUE_ALERTS"])

if os.environ.get("RESILIENT_QUEUE_AGING"):
    interval, step = os.environ["RESILIENT_QUEUE_AGING"].split(",")
    RESILIENT_QUEUE["PRIORITY_AGING"] = {"interval": float(interval), "step": int(step)}

if os.environ.get("RESILIENT_QUEUE_FAST_RETRIES"):
    # Acceptance tests keep each category's number of attempts but not its long delays.
    from django_resilient_queue import Backoff, Retry
    from django_resilient_queue.failures import DEFAULT_POLICIES

    RESILIENT_QUEUE["FAILURE_POLICIES"] = {
        category: Retry(max_attempts=policy.max_attempts, backoff=Backoff.fixed(0.1))
        for category, policy in DEFAULT_POLICIES.items()
        if policy is not None
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_resilient_queue": {
            "handlers": ["console"],
            "level": os.environ.get("RESILIENT_QUEUE_LOG_LEVEL", "WARNING"),
        }
    },
}
