"""Structured logs with request context, and Prometheus metrics.

Each log record is one JSON line carrying the request id, the organization
and the user of the request or task that emitted it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

request_id_var = contextvars.ContextVar("request_id", default="")
organization_var = contextvars.ContextVar("organization", default="")
user_var = contextvars.ContextVar("user", default="")

HTTP_REQUESTS = Counter(
    "docassist_http_requests_total", "HTTP requests served.", ["method", "status"]
)
HTTP_LATENCY = Histogram(
    "docassist_http_request_seconds", "Time spent serving HTTP requests."
)


def bind_context(
    *, organization: str = "", user: str = "", request_id: str = ""
) -> None:
    """Attach ids to every log line emitted later in this context."""
    if request_id:
        request_id_var.set(request_id)
    if organization:
        organization_var.set(organization)
    if user:
        user_var.set(user)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.organization = organization_var.get()
        record.user = user_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "organization", "user"):
            value = getattr(record, key, "")
            if value:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class RequestContextMiddleware:
    """Bind a request id, the organization and the user to the log context.

    Sits right after the organization middleware, so the schema is known.
    The user is bound lazily by the authentication classes that resolve it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else ""
        request_id = request_id or uuid.uuid4().hex
        request_id_var.set(request_id)
        tenant = getattr(request, "tenant", None)
        organization_var.set(getattr(tenant, "schema_name", ""))
        user_var.set("")

        started = time.perf_counter()
        response = self.get_response(request)
        HTTP_LATENCY.observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
        response["X-Request-ID"] = request_id
        return response
