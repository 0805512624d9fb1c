"""Circuit breakers: reset (close) and force open."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import CircuitBreaker
from ..services import breakers as breaker_verbs
from .helpers import ReadOnlyAdmin, action_permission, run_action


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(ReadOnlyAdmin):
    """One row per breaker key."""

    list_display = ("key", "state", "failures", "opened_at", "updated_at")
    list_filter = ("state",)
    search_fields = ("key",)
    actions = ("reset", "force_open")
    has_reset_breaker_permission = action_permission("reset_breaker")

    @admin.action(description="Reset (close)", permissions=["reset_breaker"])
    def reset(self, request: HttpRequest, queryset: QuerySet[CircuitBreaker]) -> None:
        run_action(self, request, queryset, breaker_verbs.reset_breakers, "Reset", "breaker")

    @admin.action(description="Force open", permissions=["reset_breaker"])
    def force_open(self, request: HttpRequest, queryset: QuerySet[CircuitBreaker]) -> None:
        run_action(self, request, queryset, breaker_verbs.force_open_breakers, "Opened", "breaker")
