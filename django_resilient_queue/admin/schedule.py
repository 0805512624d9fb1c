"""Schedules: editable here, their cron and time zone validated; enable, disable, run now."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .. import registry
from ..cron import validate_schedule_fields
from ..models import Schedule
from ..services import schedules as schedule_verbs
from .helpers import action_permission, run_action


class ScheduleForm(forms.ModelForm):  # type: ignore[type-arg]
    """Refuse a bad cron string, time zone or argument shape before it is saved."""

    class Meta:
        model = Schedule
        fields = (
            "name",
            "task",
            "cron",
            "timezone",
            "args",
            "kwargs",
            "queue",
            "priority",
            "enabled",
            "catch_up",
        )

    def clean(self) -> dict[str, Any]:
        """The same rules as SCHEDULES in settings and the system checks (cron.py)."""
        cleaned = super().clean() or {}
        for name in ("cron", "timezone", "task", "queue"):
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip()
        fields = {name: cleaned[name] for name in self.Meta.fields if name in cleaned}
        fields.pop("name", None)
        errors = validate_schedule_fields(**fields, known_task=registry.is_registered)
        for name, message in errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, f"{message[0].upper()}{message[1:]}.")
        return cleaned


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Schedules from settings and from here; the next run is the scheduler's."""

    form = ScheduleForm
    list_display = ("name", "task", "cron", "timezone", "enabled", "next_run_at", "last_run_at")
    list_filter = ("enabled", "source")
    search_fields = ("name", "task")
    readonly_fields = ("next_run_at", "last_run_at", "source")
    actions = ("enable", "disable", "run_now")
    has_run_schedule_permission = action_permission("run_schedule")

    @admin.action(description="Enable", permissions=["run_schedule"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        run_action(self, request, queryset, schedule_verbs.enable_schedules, "Enabled", "schedule")

    @admin.action(description="Disable", permissions=["run_schedule"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        run_action(
            self, request, queryset, schedule_verbs.disable_schedules, "Disabled", "schedule"
        )

    @admin.action(description="Run now", permissions=["run_schedule"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        run_action(
            self,
            request,
            queryset,
            schedule_verbs.run_schedules_now,
            "Enqueued a job for",
            "schedule",
        )
