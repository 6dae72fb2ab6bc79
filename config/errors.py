"""The one error contract: ``{"error": {"code": ..., "message": ...}}``.

Services raise ``ServiceError`` subclasses named in each app's
``errors.py``; the DRF exception handler below renders them, and DRF's own
exceptions, in the same shape.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A failure that the client can act on."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        if code:
            self.code = code


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


def error_body(code: str, message: str, **extra: object) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def _flatten_validation(detail: object, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        messages = []
        for field, value in detail.items():
            name = "" if field == "non_field_errors" else f"{prefix}{field}"
            messages += _flatten_validation(value, f"{name}." if name else "")
        return messages
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten_validation(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


_DRF_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", None),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", None),
    exceptions.NotFound: ("not_found", "Not found. Check the id and the organization."),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.ParseError: ("invalid_json", None),
    exceptions.Throttled: ("rate_limited", None),
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render every API error in the one contract."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                "file_too_large",
                "The request body is too large. Upload long text as a file.",
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(
            error_body(exc.code, exc.message), status=exc.status_code, headers=headers
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        message = "Invalid input. " + " ".join(_flatten_validation(exc.detail))
        body = error_body("invalid", message.strip(), fields=exc.detail)
        return Response(body, status=exc.status_code, headers=headers)

    code, message = "error", None
    for exc_class, (mapped_code, mapped_message) in _DRF_CODES.items():
        if isinstance(exc, exc_class):
            code, message = mapped_code, mapped_message
            break
    return Response(
        error_body(code, message or str(exc.detail)),
        status=exc.status_code,
        headers=headers,
    )


def not_found(request, exception=None) -> HttpResponse:
    """404 page, or the error contract under /api/."""
    if request.path.startswith("/api/"):
        return json_error(
            "not_found", "Not found. Check the URL and the organization.", 404
        )
    return HttpResponse(render_to_string("404.html", request=request), status=404)


def server_error(request) -> HttpResponse:
    """500 page, or the error contract under /api/; the cause is in the log."""
    if request.path.startswith("/api/"):
        return json_error(
            "server_error", "Something failed on our side. Try again in a moment.", 500
        )
    return HttpResponse(render_to_string("500.html"), status=500)


def json_error(code: str, message: str, status_code: int) -> JsonResponse:
    """Build an error response in the contract for views outside DRF."""
    return JsonResponse(error_body(code, message), status=status_code)
