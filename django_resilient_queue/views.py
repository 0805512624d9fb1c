"""``metrics/`` and ``health/``: staff sessions or ``Authorization: Bearer <METRICS_TOKEN>``."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import conf
from .health import check_health
from .metrics import render_metrics

View = Callable[[HttpRequest], HttpResponse]


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """Return the 401/403 answer for a caller that may not read, or None when it may."""
    header = request.headers.get("Authorization", "")
    token = conf.metrics_token()
    if header.startswith("Bearer "):
        given = header[len("Bearer ") :].strip()
        # compare_digest: the time taken says nothing about how much of the token matched.
        if token and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return HttpResponse("invalid token\n", status=403, content_type="text/plain")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="resilient-queue"'
        return response
    if not user.is_staff:
        return HttpResponse("staff only\n", status=403, content_type="text/plain")
    return None


def protected(view: View) -> View:
    """Refuse anonymous, non-staff and wrong-token callers before ``view`` runs."""

    def wrapper(request: HttpRequest) -> HttpResponse:
        return _refusal(request) or view(request)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@never_cache
@require_GET
@protected
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve every metric family in the Prometheus text format."""
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_GET
@protected
def health(request: HttpRequest) -> HttpResponse:
    """Answer 200 with the conditions checked when healthy, 503 naming what failed."""
    result = check_health()
    return JsonResponse(result.as_dict(), status=200 if result.healthy else 503)
