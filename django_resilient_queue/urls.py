"""Mount with ``path("queue/", include("django_resilient_queue.urls"))``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "resilient_queue"

urlpatterns = [
    path("metrics/", views.metrics, name="metrics"),
    path("health/", views.health, name="health"),
]
