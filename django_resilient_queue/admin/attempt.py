"""Attempts: one run of a job each, its traceback readable."""

from __future__ import annotations

from django.contrib import admin

from ..models import Attempt
from .helpers import ReadOnlyAdmin, change_link, pretty_text


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    """Runs, filtered by outcome and failure category."""

    list_display = (
        "id",
        "job_link",
        "number",
        "outcome",
        "failure_category",
        "error_type",
        "started_at",
        "finished_at",
    )
    list_filter = ("outcome", "failure_category")
    search_fields = ("=job__id",)
    list_select_related = ("job",)
    readonly_fields = ("job_link", "traceback_text")
    exclude = ("traceback",)

    @admin.display(description="job")
    def job_link(self, attempt: Attempt) -> str:
        return change_link("job", attempt.job_id, f"#{attempt.job_id} {attempt.job.task}")

    @admin.display(description="traceback (readable)")
    def traceback_text(self, attempt: Attempt) -> str:
        return pretty_text(attempt.traceback)
