"""Jobs: readable arguments and results, attempts inline, retry / cancel / priority actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers as admin_helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from ..models import Attempt, DeadLetter, Job
from ..priority import MAX_PRIORITY, MIN_PRIORITY, Priority
from ..redaction import redact_arguments
from ..services import jobs as job_verbs
from .filters import JobCategoryFilter, JobErrorTypeFilter, PriorityFilter, QueueFilter, TaskFilter
from .helpers import ReadOnlyAdmin, action_permission, change_link, pretty_json, run_action


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    """Every run of the job, its traceback folded under its error."""

    model = Attempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "outcome",
        "failure_category",
        "error_type",
        "error",
        "worker",
        "started_at",
        "duration",
    )
    readonly_fields = fields
    ordering = ("number", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attempt]:
        return super().get_queryset(request).select_related("worker")

    @admin.display(description="error message and traceback")
    def error(self, attempt: Attempt) -> str:
        if not attempt.error_message and not attempt.traceback:
            return "-"
        if not attempt.traceback:
            return format_html("{}", attempt.error_message)
        return format_html(
            '<details class="drq-traceback"><summary>{}</summary><pre>{}</pre></details>',
            attempt.error_message or "traceback",
            attempt.traceback,
        )

    @admin.display(description="duration")
    def duration(self, attempt: Attempt) -> str:
        seconds = attempt.duration
        return "-" if seconds is None else f"{seconds:.3f} s"


class PriorityForm(forms.Form):
    """The intermediate page of "Change priority": a named priority or any int in range."""

    named = forms.TypedChoiceField(
        label="priority",
        choices=[("", "other (below)")] + [(str(int(p)), f"{p.name} ({int(p)})") for p in Priority],
        coerce=int,
        empty_value=None,
        required=False,
    )
    value = forms.IntegerField(
        label="or any value", min_value=MIN_PRIORITY, max_value=MAX_PRIORITY, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("named")
        if chosen is None:
            chosen = data.get("value")
        if chosen is None:
            raise forms.ValidationError("Choose a priority.")
        data["priority"] = chosen
        return data


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs, filtered by what operators select most; every change through an action."""

    list_display = (
        "id",
        "task",
        "queue",
        "priority",
        "status",
        "attempts",
        "run_after",
        "finished_at",
        "worker",
    )
    list_filter = (
        "status",
        QueueFilter,
        TaskFilter,
        PriorityFilter,
        JobErrorTypeFilter,
        JobCategoryFilter,
    )
    search_fields = ("=id", "task", "=unique_key")
    list_select_related = ("worker",)
    inlines = (AttemptInline,)
    readonly_fields = (
        "args_json",
        "kwargs_json",
        "result_json",
        "progress_json",
        "checkpoint_json",
        "links",
    )
    exclude = ("args", "kwargs", "result", "progress", "checkpoint")
    actions = (
        "retry_now",
        "cancel",
        "change_priority",
        "priority_critical",
        "priority_high",
        "priority_normal",
        "priority_low",
    )
    has_retry_job_permission = action_permission("retry_job")
    has_cancel_job_permission = action_permission("cancel_job")
    has_change_job_priority_permission = action_permission("change_job_priority")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        # "=id" on a non-numeric term would compare text with a bigint: search the rest only.
        term = search_term.strip()
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        by_task = queryset.filter(task__icontains=term)
        by_key = queryset.filter(unique_key=term)
        return (by_task | by_key) if term else queryset, False

    @admin.display(description="args")
    def args_json(self, job: Job) -> str:
        return pretty_json(redact_arguments(job.task, job.args, {})[0])

    @admin.display(description="kwargs")
    def kwargs_json(self, job: Job) -> str:
        return pretty_json(redact_arguments(job.task, [], job.kwargs)[1])

    @admin.display(description="result")
    def result_json(self, job: Job) -> str:
        return pretty_json(job.result)

    @admin.display(description="progress")
    def progress_json(self, job: Job) -> str:
        return pretty_json(job.progress)

    @admin.display(description="checkpoint")
    def checkpoint_json(self, job: Job) -> str:
        return pretty_json(job.checkpoint)

    @admin.display(description="dead letter and replays")
    def links(self, job: Job) -> str:
        parts: list[tuple[str]] = []
        for letter in DeadLetter.objects.filter(job_id=job.pk).order_by("id"):
            parts.append((change_link("deadletter", letter.pk, f"dead letter #{letter.pk}"),))
            if letter.replayed_job_id:
                label = f"replayed as job #{letter.replayed_job_id}"
                parts.append((change_link("job", letter.replayed_job_id, label),))
        for letter in DeadLetter.objects.filter(replayed_job_id=job.pk).order_by("id"):
            label = f"replay of dead letter #{letter.pk}"
            parts.append((change_link("deadletter", letter.pk, label),))
            if letter.job_id and letter.job_id != job.pk:
                parts.append((change_link("job", letter.job_id, f"original job #{letter.job_id}"),))
        if not parts:
            return "-"
        return format_html_join(" · ", "{}", parts)

    @admin.action(description="Retry now", permissions=["retry_job"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        run_action(self, request, queryset, job_verbs.retry_jobs, "Queued again", "job")

    @admin.action(
        description="Cancel (queued at once, running stopped)", permissions=["cancel_job"]
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        run_action(self, request, queryset, job_verbs.cancel_jobs, "Cancelled", "job")

    @admin.action(description="Change priority…", permissions=["change_job_priority"])
    def change_priority(self, request: HttpRequest, queryset: QuerySet[Job]) -> HttpResponse | None:
        form = PriorityForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._priority(request, queryset, int(form.cleaned_data["priority"]))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Change the priority of the selected jobs",
            "form": form,
            "queryset": queryset,
            "count": len(queryset[:1001]),
            "opts": self.model._meta,
            "action_checkbox_name": admin_helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(
            request, "admin/django_resilient_queue/change_priority.html", context
        )

    def _priority(self, request: HttpRequest, queryset: QuerySet[Job], value: int) -> None:
        name = Priority(value).name if value in set(Priority) else str(value)
        run_action(
            self,
            request,
            queryset,
            job_verbs.change_priority,
            f"Set priority {name} on",
            "job",
            priority=value,
        )

    @admin.action(description="Set priority: CRITICAL", permissions=["change_job_priority"])
    def priority_critical(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._priority(request, queryset, Priority.CRITICAL)

    @admin.action(description="Set priority: HIGH", permissions=["change_job_priority"])
    def priority_high(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._priority(request, queryset, Priority.HIGH)

    @admin.action(description="Set priority: NORMAL", permissions=["change_job_priority"])
    def priority_normal(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._priority(request, queryset, Priority.NORMAL)

    @admin.action(description="Set priority: LOW", permissions=["change_job_priority"])
    def priority_low(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._priority(request, queryset, Priority.LOW)
