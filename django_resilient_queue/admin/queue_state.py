"""Queues an operator acted on: pause and resume (also from the dashboard)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import QueueState
from ..services import queues as queue_verbs
from ..services.results import ActionResult
from .helpers import ReadOnlyAdmin, action_permission, run_action


def pause_selected(states: QuerySet[QueueState], *, by: object = None) -> ActionResult:
    """Pause the selected queues (a services verb over their names)."""
    return queue_verbs.pause_queues(states.values_list("name", flat=True), by=by)


def resume_selected(states: QuerySet[QueueState], *, by: object = None) -> ActionResult:
    """Resume the selected queues."""
    return queue_verbs.resume_queues(states.values_list("name", flat=True), by=by)


@admin.register(QueueState)
class QueueStateAdmin(ReadOnlyAdmin):
    """Paused and resumed queues; any queue can be paused from the dashboard."""

    list_display = ("name", "paused", "paused_at", "paused_by")
    list_select_related = ("paused_by",)
    search_fields = ("name",)
    actions = ("pause", "resume")
    has_pause_queue_permission = action_permission("pause_queue")

    @admin.display(description="paused", boolean=True)
    def paused(self, state: QueueState) -> bool:
        return state.is_paused

    @admin.action(description="Pause", permissions=["pause_queue"])
    def pause(self, request: HttpRequest, queryset: QuerySet[QueueState]) -> None:
        run_action(self, request, queryset, pause_selected, "Paused", "queue")

    @admin.action(description="Resume", permissions=["pause_queue"])
    def resume(self, request: HttpRequest, queryset: QuerySet[QueueState]) -> None:
        run_action(self, request, queryset, resume_selected, "Resumed", "queue")
