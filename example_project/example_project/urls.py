"""URLs: the demo pages at the root, the admin under /admin/."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("queue/", include("django_resilient_queue.urls")),
    path("", include("demo.urls")),
]
