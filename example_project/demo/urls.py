"""The demo's pages: the job list at the root, the enqueue action beside it."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    path("", views.index, name="index"),
    path("enqueue/", views.enqueue, name="enqueue"),
]
