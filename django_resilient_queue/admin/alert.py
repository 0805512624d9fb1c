"""Alerts: resolve, suppress a kind for a while, unsuppress; and their delivery outbox."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import Alert
from ..services import alerts as alert_verbs
from .helpers import ReadOnlyAdmin, action_permission, pretty_json, run_action


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """One row per fingerprint; repeats bump occurrences."""

    list_display = (
        "kind",
        "severity",
        "message",
        "occurrences",
        "last_seen_at",
        "resolved_at",
        "suppressed_until",
    )
    list_filter = ("kind", "severity")
    search_fields = ("fingerprint", "message")
    list_select_related = ("resolved_by",)
    exclude = ("context",)
    readonly_fields = ("context_json",)
    actions = ("resolve", "suppress_30m", "suppress_2h", "suppress_1d", "unsuppress")
    has_resolve_alert_permission = action_permission("resolve_alert")
    has_suppress_alert_permission = action_permission("suppress_alert")

    @admin.display(description="context")
    def context_json(self, alert: Alert) -> str:
        return pretty_json(alert.context)

    @admin.action(description="Resolve", permissions=["resolve_alert"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        run_action(self, request, queryset, alert_verbs.resolve_alerts, "Resolved", "alert")

    def _suppress(self, request: HttpRequest, queryset: QuerySet[Alert], key: str) -> None:
        duration: timedelta = alert_verbs.SUPPRESS_CHOICES[key]
        run_action(
            self,
            request,
            queryset,
            alert_verbs.suppress_alerts,
            f"Suppressed for {key}",
            "alert",
            duration=duration,
        )

    @admin.action(description="Suppress this kind for 30 min", permissions=["suppress_alert"])
    def suppress_30m(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._suppress(request, queryset, "30m")

    @admin.action(description="Suppress this kind for 2 h", permissions=["suppress_alert"])
    def suppress_2h(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._suppress(request, queryset, "2h")

    @admin.action(description="Suppress this kind for 1 day", permissions=["suppress_alert"])
    def suppress_1d(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._suppress(request, queryset, "1d")

    @admin.action(description="Unsuppress this kind", permissions=["suppress_alert"])
    def unsuppress(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        run_action(self, request, queryset, alert_verbs.unsuppress_alerts, "Unsuppressed", "alert")
