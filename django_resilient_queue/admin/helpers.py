"""What every admin page shares: readable JSON, the action runner, permissions, fast lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from ..services.results import ActionResult
from ..services.stats import estimated_count

APP = "django_resilient_queue"
Verb = Callable[..., ActionResult]

# A change list counts at most this many rows; past it the page says "more than N".
COUNT_CAP = 10_000


def pretty_json(value: Any) -> str:
    """Render a JSON value readably and escaped, in a <pre>."""
    text = json.dumps(value, indent=2, sort_keys=True, default=str)
    return format_html('<pre class="drq-json">{}</pre>', text)


def pretty_text(value: str | None) -> str:
    """Render a traceback or long message as escaped, pre-formatted text."""
    return format_html('<pre class="drq-traceback">{}</pre>', value or "-")


def change_link(model: str, pk: Any, label: str) -> str:
    """An escaped link to the admin change page of ``model`` row ``pk``."""
    url = reverse(f"admin:{APP}_{model}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, label)


def log_action(request: HttpRequest, queryset: QuerySet[Any], message: str) -> None:
    """Leave one admin LogEntry (who, what, when) per row of ``queryset``."""
    if request.user.pk is None:
        return
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=queryset, action_flag=CHANGE, change_message=message
    )


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
    if result.ids:
        model: type[Model] = queryset.model
        log_action(
            request,
            model._default_manager.filter(pk__in=result.ids),
            f"{done} ({verb.__name__})",
        )
    return result


def action_permission(codename: str) -> Callable[[Any, HttpRequest], bool]:
    """Return a ``has_<codename>_permission`` method for ``allowed_permissions``."""

    def has_permission(self: Any, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(f"{APP}.{codename}"))

    has_permission.__name__ = f"has_{codename}_permission"
    return has_permission


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """Never counts a large table in full.

    Up to COUNT_CAP rows are counted exactly (reading at most COUNT_CAP + 1 ids from an
    index). Past that, an unfiltered list takes the database's own estimate (PostgreSQL,
    MariaDB) and a filtered one says COUNT_CAP + 1: filters and search are how an
    operator narrows a large table, not the last page number.
    """

    @cached_property
    def count(self) -> int:
        """Return the exact count up to COUNT_CAP, an estimate or a cap past it."""
        objects: Any = self.object_list
        if not isinstance(objects, QuerySet):
            return len(objects)
        capped = len(objects.order_by().values_list("pk", flat=True)[: COUNT_CAP + 1])
        if capped <= COUNT_CAP or objects.query.where:
            return capped
        estimate = estimated_count(objects.model)
        return max(capped, estimate or 0)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows change only through actions, never by editing them by hand."""

    show_full_result_count = False  # no COUNT(*) of a large table on every page
    paginator = CappedPaginator
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
