"""Dead letters: what failed for good, why, and the replay and discard actions."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from ..models import DeadLetter
from ..redaction import redact_arguments
from ..services import deadletters as letter_verbs
from .filters import ErrorTypeFilter, QueueFilter, TaskFilter
from .helpers import (
    ReadOnlyAdmin,
    action_permission,
    change_link,
    pretty_json,
    pretty_text,
    run_action,
)


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    """Dead letters by category and error type: "everything that failed with this error"."""

    list_display = (
        "id",
        "task",
        "reason",
        "failure_category",
        "error_type",
        "attempts",
        "created_at",
        "replayed_at",
        "replayed_job_link",
    )
    list_filter = ("failure_category", ErrorTypeFilter, TaskFilter, QueueFilter)
    search_fields = ("=id", "task", "error_type")
    list_select_related = ("replayed_by",)
    exclude = ("args", "kwargs", "traceback", "history")
    readonly_fields = ("args_json", "kwargs_json", "traceback_text", "links", "history_json")
    actions = ("replay", "replay_keeping_checkpoint", "discard")
    has_replay_deadletter_permission = action_permission("replay_deadletter")
    has_discard_deadletter_permission = action_permission("discard_deadletter")

    @admin.display(description="args")
    def args_json(self, letter: DeadLetter) -> str:
        return pretty_json(redact_arguments(letter.task, letter.args, {})[0])

    @admin.display(description="kwargs")
    def kwargs_json(self, letter: DeadLetter) -> str:
        return pretty_json(redact_arguments(letter.task, [], letter.kwargs)[1])

    @admin.display(description="traceback (readable)")
    def traceback_text(self, letter: DeadLetter) -> str:
        return pretty_text(letter.traceback)

    @admin.display(description="attempts (history)")
    def history_json(self, letter: DeadLetter) -> str:
        return pretty_json(letter.history)

    @admin.display(description="replayed job")
    def replayed_job_link(self, letter: DeadLetter) -> str:
        if not letter.replayed_job_id:
            return "-"
        return change_link("job", letter.replayed_job_id, f"#{letter.replayed_job_id}")

    @admin.display(description="jobs")
    def links(self, letter: DeadLetter) -> str:
        parts: list[tuple[str]] = []
        if letter.job_id:
            parts.append((change_link("job", letter.job_id, f"original job #{letter.job_id}"),))
        if letter.replayed_job_id:
            label = f"replayed as job #{letter.replayed_job_id}"
            parts.append((change_link("job", letter.replayed_job_id, label),))
        return format_html_join(" · ", "{}", parts) if parts else "-"

    @admin.action(description="Replay", permissions=["replay_deadletter"])
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        run_action(
            self, request, queryset, letter_verbs.replay_dead_letters, "Replayed", "dead letter"
        )

    @admin.action(
        description="Replay, resuming from the last checkpoint", permissions=["replay_deadletter"]
    )
    def replay_keeping_checkpoint(
        self, request: HttpRequest, queryset: QuerySet[DeadLetter]
    ) -> None:
        # The replay verb with one option: the same permission as a plain replay.
        run_action(
            self,
            request,
            queryset,
            letter_verbs.replay_dead_letters,
            "Replayed (keeping the checkpoint)",
            "dead letter",
            keep_checkpoint=True,
        )

    @admin.action(description="Discard", permissions=["discard_deadletter"])
    def discard(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        run_action(
            self, request, queryset, letter_verbs.discard_dead_letters, "Discarded", "dead letter"
        )
