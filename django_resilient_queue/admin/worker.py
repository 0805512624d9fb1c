"""Workers: health as last reported, and the graceful-stop action."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from ..models import Worker
from ..services import workers as worker_verbs
from .helpers import ReadOnlyAdmin, action_permission, run_action


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    """One row per child process of ``runworkers``."""

    list_display = (
        "name",
        "state",
        "heartbeat_age",
        "rss",
        "running_jobs",
        "processed",
        "failed",
        "stop_requested",
    )
    list_filter = ("state",)
    search_fields = ("name", "hostname")
    actions = ("request_stop",)
    has_stop_worker_permission = action_permission("stop_worker")

    @admin.display(description="heartbeat age", ordering="last_heartbeat_at")
    def heartbeat_age(self, worker: Worker) -> str:
        return f"{(timezone.now() - worker.last_heartbeat_at).total_seconds():.0f} s"

    @admin.display(description="RSS", ordering="rss_bytes")
    def rss(self, worker: Worker) -> str:
        return filesizeformat(worker.rss_bytes)

    @admin.display(description="running jobs")
    def running_jobs(self, worker: Worker) -> str:
        return ", ".join(f"#{pk}" for pk in worker.current_jobs) or "-"

    @admin.action(description="Request a graceful stop", permissions=["stop_worker"])
    def request_stop(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        run_action(self, request, queryset, worker_verbs.request_stop, "Asked to stop", "worker")
