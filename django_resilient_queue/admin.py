"""The admin: every model visible, every recovery verb an action behind its own permission."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .models import Alert, Attempt, CircuitBreaker, DeadLetter, Job, Schedule, Worker
from .priority import Priority
from .redaction import redact_arguments
from .services import alerts as alert_verbs
from .services import breakers as breaker_verbs
from .services import deadletters as letter_verbs
from .services import jobs as job_verbs
from .services import schedules as schedule_verbs
from .services import workers as worker_verbs
from .services.results import ActionResult

APP = "django_resilient_queue"
Verb = Callable[..., ActionResult]


def pretty_json(value: Any) -> str:
    """Render a JSON value readably and escaped, in a <pre>."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


def run_action(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
    verb: Verb,
    done: str,
    noun: str,
    **options: Any,
) -> ActionResult:
    """Call one services verb on the selection, report its counts and log who did what."""
    result = verb(queryset, by=request.user, **options)
    level = messages.SUCCESS if result.changed else messages.WARNING
    model_admin.message_user(request, result.message(done, noun), level)
    if result.ids and request.user.pk is not None:
        model: type[Model] = queryset.model
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=model._default_manager.filter(pk__in=result.ids),
            action_flag=CHANGE,
            change_message=f"{done} ({verb.__name__})",
        )
    return result


def action_permission(codename: str) -> Callable[[Any, HttpRequest], bool]:
    """Return a ``has_<codename>_permission`` method for ``allowed_permissions``."""

    def has_permission(self: Any, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(f"{APP}.{codename}"))

    has_permission.__name__ = f"has_{codename}_permission"
    return has_permission


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows change only through actions, never by editing them by hand."""

    show_full_result_count = False  # no COUNT(*) of a large table on every page

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Attempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "outcome",
        "failure_category",
        "error_type",
        "error_message",
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

    @admin.display(description="duration")
    def duration(self, attempt: Attempt) -> str:
        if attempt.started_at and attempt.finished_at:
            return f"{(attempt.finished_at - attempt.started_at).total_seconds():.3f} s"
        return "-"


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "task",
        "queue",
        "priority",
        "status",
        "attempts",
        "run_after",
        "finished_at",
    )
    list_filter = ("status", "queue", "priority")
    search_fields = ("=id", "task", "unique_key")
    list_select_related = ("worker",)
    inlines = (AttemptInline,)
    readonly_fields = ("args_json", "kwargs_json", "result_json", "progress_json", "dead_letter")
    exclude = ("args", "kwargs", "result", "progress")
    actions = (
        "retry_now",
        "cancel",
        "priority_critical",
        "priority_high",
        "priority_normal",
        "priority_low",
    )
    has_retry_job_permission = action_permission("retry_job")
    has_cancel_job_permission = action_permission("cancel_job")
    has_change_job_priority_permission = action_permission("change_job_priority")

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

    @admin.display(description="dead letter")
    def dead_letter(self, job: Job) -> str:
        letter = DeadLetter.objects.filter(job_id=job.pk).order_by("-id").first()
        if letter is None:
            return "-"
        return format_html(
            '<a href="../../../deadletter/{}/change/">dead letter #{}</a>', letter.pk, letter.pk
        )

    @admin.action(description="Retry now", permissions=["retry_job"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        run_action(self, request, queryset, job_verbs.retry_jobs, "Queued again", "job")

    @admin.action(description="Cancel (queued jobs)", permissions=["cancel_job"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        run_action(self, request, queryset, job_verbs.cancel_jobs, "Cancelled", "job")

    def _priority(self, request: HttpRequest, queryset: QuerySet[Job], value: Priority) -> None:
        run_action(
            self,
            request,
            queryset,
            job_verbs.change_priority,
            f"Set priority {value.name} on",
            "job",
            priority=int(value),
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


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "job",
        "number",
        "outcome",
        "failure_category",
        "error_type",
        "started_at",
    )
    list_filter = ("outcome", "failure_category")
    list_select_related = ("job",)
    readonly_fields = ("traceback_text",)

    @admin.display(description="traceback (readable)")
    def traceback_text(self, attempt: Attempt) -> str:
        return format_html("<pre>{}</pre>", attempt.traceback or "")


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "task",
        "reason",
        "failure_category",
        "error_type",
        "attempts",
        "created_at",
        "replayed_at",
    )
    list_filter = ("failure_category", "error_type", "queue")
    search_fields = ("=id", "task", "error_type")
    exclude = ("args", "kwargs")
    readonly_fields = ("args_json", "kwargs_json", "traceback_text", "links")
    actions = ("replay", "discard")
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
        return format_html("<pre>{}</pre>", letter.traceback or "")

    @admin.display(description="jobs")
    def links(self, letter: DeadLetter) -> str:
        parts = []
        if letter.job_id:
            parts.append(
                format_html(
                    '<a href="../../../job/{}/change/">original job #{}</a>',
                    letter.job_id,
                    letter.job_id,
                )
            )
        if letter.replayed_job_id:
            parts.append(
                format_html(
                    '<a href="../../../job/{}/change/">replayed as job #{}</a>',
                    letter.replayed_job_id,
                    letter.replayed_job_id,
                )
            )
        return format_html("{}", " · ".join(str(p) for p in parts)) if parts else "-"

    @admin.action(description="Replay", permissions=["replay_deadletter"])
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        run_action(
            self, request, queryset, letter_verbs.replay_dead_letters, "Replayed", "dead letter"
        )

    @admin.action(description="Discard", permissions=["discard_deadletter"])
    def discard(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        run_action(
            self, request, queryset, letter_verbs.discard_dead_letters, "Discarded", "dead letter"
        )


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
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
    actions = ("resolve", "suppress_30m", "suppress_2h", "suppress_1d", "unsuppress")
    has_resolve_alert_permission = action_permission("resolve_alert")
    has_suppress_alert_permission = action_permission("suppress_alert")

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


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "state",
        "processed",
        "failed",
        "rss_bytes",
        "last_heartbeat_at",
        "stop_requested",
    )
    list_filter = ("state",)
    actions = ("request_stop",)
    has_stop_worker_permission = action_permission("stop_worker")

    @admin.action(description="Request a graceful stop", permissions=["stop_worker"])
    def request_stop(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        run_action(self, request, queryset, worker_verbs.request_stop, "Asked to stop", "worker")


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
        from croniter import croniter

        value = str(self.cleaned_data["cron"]).strip()
        fields = value.split()
        if len(fields) not in (5, 6) or not croniter.is_valid(
            value, second_at_beginning=len(fields) == 6
        ):
            raise forms.ValidationError(
                "Not a valid cron expression (5 fields, or 6 with seconds first)."
            )
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
    form = ScheduleForm
    list_display = ("name", "task", "cron", "timezone", "enabled", "next_run_at", "last_run_at")
    list_filter = ("enabled",)
    search_fields = ("name", "task")
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


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(ReadOnlyAdmin):
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
