"""The dashboard: depth and throughput over time, failures by task, workers, breakers,
alerts and queues (with pause and resume), drawn as server-side SVG."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from ..models import Dashboard, QueueState
from ..services import queues as queue_verbs
from ..services import stats
from .charts import Series, bar_chart, line_chart
from .helpers import APP, log_action

DAY_STEP_MINUTES = 10


def charts(now: Any) -> dict[str, Any]:
    """The dashboard's SVG charts, drawn from the queue samples and recent jobs."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    depth = stats.depth_history(hour, now)
    depth_series = [Series(name, points) for name, points in sorted(depth.items())]
    colors = {"succeeded": "#009e73", "failed": "#ba2121"}
    hourly = stats.throughput_history(hour, now)
    # Ten-minute steps for the day: a tenth of the samples to read and of the points to
    # draw, and still 144 points across the chart.
    daily = stats.throughput_history(day, now, step_minutes=DAY_STEP_MINUTES)
    failures = stats.failures_by_task(hour)
    bars = [(t.task, t.rate, f"({t.failed} of {t.succeeded + t.failed})") for t in failures]
    return {
        "depth_chart": line_chart(
            "Queue depth (queued jobs), last hour", depth_series, hour, now, y_label="jobs"
        ),
        "throughput_hour_chart": line_chart(
            "Throughput, last hour",
            [Series(name, points, colors[name]) for name, points in hourly.items()],
            hour,
            now,
            y_label="jobs per minute",
        ),
        "throughput_day_chart": line_chart(
            "Throughput, last 24 hours (10-minute averages)",
            [Series(name, points, colors[name]) for name, points in daily.items()],
            day,
            now,
            y_label="jobs per minute",
        ),
        "failure_chart": bar_chart(
            "Failure rate by task, last hour", bars, x_label="failed / finished jobs"
        ),
    }


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Its change list is the dashboard page; it has no rows to add, change or delete."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.has_perm(f"{APP}.view_job"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        can_pause = bool(request.user.has_perm(f"{APP}.pause_queue"))
        if request.method == "POST":
            return self._pause_or_resume(request, can_pause)
        now = timezone.now()
        queues = stats.queues_now(now)
        runnable_ages = [q.oldest_runnable_age for q in queues if q.oldest_runnable_age]
        context = {
            **self.admin_site.each_context(request),
            "title": "Queue dashboard",
            "opts": self.model._meta,
            "now": now,
            "queues": queues,
            "oldest_runnable_age": max(runnable_ages, default=None),
            "workers": [
                (w, (now - w.last_heartbeat_at).total_seconds()) for w in stats.live_workers(now)
            ],
            "breakers": stats.troubled_breakers(),
            "alerts": stats.active_alerts(),
            "can_pause": can_pause,
            **charts(now),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/django_resilient_queue/dashboard.html", context)

    def _pause_or_resume(self, request: HttpRequest, can_pause: bool) -> HttpResponse:
        """Pause or resume one queue; without ``pause_queue`` nothing changes."""
        if not can_pause:
            raise PermissionDenied
        name = str(request.POST.get("queue", "")).strip()
        operation = request.POST.get("operation")
        if operation == "pause":
            result, done = queue_verbs.pause_queues([name], by=request.user), "Paused"
        elif operation == "resume":
            result, done = queue_verbs.resume_queues([name], by=request.user), "Resumed"
        else:
            messages.error(request, "Unknown operation.")
            return HttpResponseRedirect(request.path)
        if result.changed:
            messages.success(request, f"{done} queue {name!r}.")
        else:
            state = "paused" if operation == "pause" else "active"
            messages.warning(request, f"Queue {name!r} was already {state}: nothing changed.")
        if result.ids:
            log_action(request, QueueState.objects.filter(pk__in=result.ids), f"{done} queue")
        return HttpResponseRedirect(request.path)
