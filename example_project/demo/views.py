"""The demo page: recent jobs at a glance and a button that enqueues a mixed workload."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from django_resilient_queue.models import DeadLetter, Job, JobStatus

from .workload import TASK_PREFIX, WORKLOAD, describe_outcome, enqueue_workload, short_name

RECENT = 50


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """Show the demo's recent jobs, counts per status and the enqueue button."""
    demo_jobs = Job.objects.filter(task__startswith=TASK_PREFIX)
    recent = list(demo_jobs.order_by("-id")[:RECENT])
    dead = set(
        DeadLetter.objects.filter(job_id__in=[j.pk for j in recent]).values_list(
            "job_id", flat=True
        )
    )
    rows = [
        {
            "job": j,
            "name": short_name(j.task),
            "outcome": describe_outcome(j, has_dead_letter=j.pk in dead) if j.is_finished else "",
            "percent": (j.progress or {}).get("percent"),
            "message": (j.progress or {}).get("message", ""),
        }
        for j in recent
    ]
    counts = {row["status"]: row["n"] for row in demo_jobs.values("status").annotate(n=Count("id"))}
    context = {
        "rows": rows,
        "counts": [(status.label, counts.get(status.value, 0)) for status in JobStatus],
        "workload": WORKLOAD,
        # Refresh by itself only while something is still going on.
        "auto_refresh": any(not j.is_finished for j in recent),
    }
    return render(request, "demo/index.html", context)


@require_POST
def enqueue(request: HttpRequest) -> HttpResponse:
    """Enqueue one mixed workload (in one transaction) and go back to the list."""
    created = enqueue_workload()
    summary = ", ".join(f"{n} {name}" for name, n in WORKLOAD.items())
    messages.success(request, f"Enqueued {len(created)} jobs: {summary}.")
    return redirect("demo:index")
