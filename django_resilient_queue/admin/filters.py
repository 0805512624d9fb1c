"""List filters whose choices never come from a DISTINCT over a large table."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from .. import registry
from ..failures import FailureCategory
from ..models import Attempt, JobStatus
from ..priority import Priority
from ..services.stats import known_queues, recent_error_types


class ValueFilter(admin.SimpleListFilter):
    """Filter ``field`` = the chosen value (an indexed equality)."""

    field = ""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class TaskFilter(ValueFilter):
    """The registered task names (from the registry, not from the table)."""

    title = "task"
    parameter_name = "task"
    field = "task"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in registry.registered_names()]


class QueueFilter(ValueFilter):
    """The queues the settings, the registry and the samples know of."""

    title = "queue"
    parameter_name = "queue"
    field = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in known_queues()]


class PriorityFilter(admin.SimpleListFilter):
    """The named priorities (any other value shows under "other")."""

    title = "priority"
    parameter_name = "priority"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(int(p)), f"{p.name} ({int(p)})") for p in Priority]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(priority=int(value)) if value else queryset


class ErrorTypeFilter(ValueFilter):
    """Error types of the latest dead letters: "everything that failed with this error"."""

    title = "error type"
    parameter_name = "error_type"
    field = "error_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in recent_error_types()]


class JobErrorTypeFilter(ErrorTypeFilter):
    """Failed jobs whose last-recorded attempts failed with this error type."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        # EXISTS over the (job, number) index: no join, no duplicate rows, no DISTINCT.
        failed_with = Attempt.objects.filter(job=OuterRef("pk"), error_type=value)
        return queryset.filter(Exists(failed_with), status=JobStatus.FAILED)


class JobCategoryFilter(admin.SimpleListFilter):
    """Failed jobs with an attempt of this failure category."""

    title = "failure category"
    parameter_name = "failure_category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(c.value, c.value) for c in FailureCategory]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        failed_with = Attempt.objects.filter(job=OuterRef("pk"), failure_category=value)
        return queryset.filter(Exists(failed_with), status=JobStatus.FAILED)
