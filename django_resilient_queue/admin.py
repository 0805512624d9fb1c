"""Read-only admin for every model (actions come with the admin issue)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Alert, Attempt, CircuitBreaker, DeadLetter, Job, Schedule, Worker


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Show rows; change nothing until the admin actions land."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "task",
        "queue",
        "priority",
        "status",
        "attempts",
        "run_after",
        "finished_at",
    )
    list_filter = ("status", "queue")
    search_fields = ("task", "unique_key")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "job",
        "number",
        "outcome",
        "failure_category",
        "error_type",
        "started_at",
    )
    list_filter = ("outcome", "failure_category")
    show_full_result_count = False


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "task",
        "reason",
        "failure_category",
        "attempts",
        "created_at",
        "replayed_at",
    )
    list_filter = ("failure_category", "task")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("kind", "severity", "message", "occurrences", "last_seen_at", "resolved_at")
    list_filter = ("kind", "severity")


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("name", "state", "processed", "failed", "rss_bytes", "last_heartbeat_at")
    list_filter = ("state",)


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ("name", "task", "cron", "timezone", "enabled", "next_run_at", "last_run_at")


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(ReadOnlyAdmin):
    list_display = ("key", "state", "failures", "opened_at", "updated_at")
