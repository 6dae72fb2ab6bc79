"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    cache.set("ready-check", 1, timeout=5)


def _check_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=2)


def ready(request: HttpRequest) -> JsonResponse:
    """Report whether the database, Redis and the broker answer."""
    checks = {
        "database": _check_database,
        "redis": _check_redis,
        "broker": _check_broker,
    }
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means not ready
            logger.warning("Readiness check %s failed: %s", name, type(error).__name__)
            results[name] = "unavailable"
    ready_now = all(value == "ok" for value in results.values())
    body = {"status": "ok" if ready_now else "unavailable", "checks": results}
    return JsonResponse(body, status=200 if ready_now else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG and not request.user.is_staff and not _from_loopback(request):
        return HttpResponse(status=404)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def _from_loopback(request: HttpRequest) -> bool:
    return request.META.get("REMOTE_ADDR", "") in ("127.0.0.1", "::1")
