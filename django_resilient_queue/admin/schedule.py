"""Schedules: editable here, their cron and time zone validated; enable, disable, run now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import Schedule
from ..services import schedules as schedule_verbs
from .helpers import action_permission, run_action


def croniter_validator(value: str) -> None:
    """Raise ValueError unless ``value`` is 5 cron fields, or 6 with seconds first."""
    from croniter import croniter

    fields = value.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(
        value, second_at_beginning=len(fields) == 6
    ):
        raise ValueError("Not a valid cron expression (5 fields, or 6 with seconds first).")


# The one place the cron check is chosen: swap in the project's cron module when it has one.
validate_cron: Callable[[str], None] = croniter_validator


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

    def clean_cron(self) -> str:
        value = str(self.cleaned_data["cron"]).strip()
        try:
            validate_cron(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value

    def clean_timezone(self) -> str:
        value = str(self.cleaned_data["timezone"]).strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(f"Unknown time zone {value!r}.") from None
        return value

    def clean_args(self) -> Any:
        value = self.cleaned_data["args"]
        if not isinstance(value, list):
            raise forms.ValidationError("args must be a JSON list.")
        return value

    def clean_kwargs(self) -> Any:
        value = self.cleaned_data["kwargs"]
        if not isinstance(value, dict):
            raise forms.ValidationError("kwargs must be a JSON object.")
        return value


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
