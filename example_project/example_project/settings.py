"""Settings of the example project, read from the environment (see the defaults below)."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
)

# A development-only default so that the demo runs without any setup; set
# SECRET_KEY in the environment for anything else.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-example-project-dev-only-key")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_resilient_queue",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker processes write the same file at once: WAL lets
    # readers proceed while one writes, IMMEDIATE transactions take the write lock up
    # front (no "database is locked" on upgrade), and the timeout waits for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # the demo account is admin/admin

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

RESILIENT_QUEUE = {
    # Polling is what SQLite gets (PostgreSQL is woken by LISTEN/NOTIFY); half a
    # second keeps the demo lively.
    "POLL_INTERVAL": 0.5,
    # A short lease so that a worker killed during the demo gives its jobs back
    # within half a minute instead of the default minute.
    "LEASE_SECONDS": 30,
    "HEARTBEAT_SECONDS": 5,
    "GRACEFUL_TIMEOUT": 10,
    # Alerts go to the log (the console below); the demo's failing jobs dead-letter a few
    # jobs, which raises DEAD_LETTERS_GROWING within seconds.
    "ALERTS": {
        "CHANNELS": [{"type": "log"}],
        "RULES": {"DEAD_LETTERS_GROWING": {"threshold": 2, "window": 600}},
    },
}

# Django 6's Tasks framework on the same workers (see demo/tasks.py); Django 5.2 ignores it.
TASKS = {
    "default": {
        "BACKEND": "django_resilient_queue.backend.ResilientQueueBackend",
        "OPTIONS": {"retry": {"max_attempts": 3}, "timeout": 60},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {"format": "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "console"},
    },
    "loggers": {
        "django_resilient_queue": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "demo": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
