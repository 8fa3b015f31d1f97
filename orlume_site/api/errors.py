"""One error shape for every error the API answers.

    {"code": "stable_machine_code", "detail": "What a person reads.", "field": "json.path"}

`field` is present when one input value is to blame. Validation errors that name several values
add `errors`, a list of the same shape, one entry per value, the first one repeated at the top.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("orlume.errors")

_STATUS_CODES = {
    status.HTTP_400_BAD_REQUEST: "bad_request",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_412_PRECONDITION_FAILED: "precondition_failed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "server_error",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


class APIError(exceptions.APIException):
    """An error a service raises with its own code, status and (optionally) field path."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status_code: int = 400,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.error_code = code
        self.field = field
        self.headers = headers or {}


def error_body(code: str, detail: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return body


def error_response(
    status_code: int, code: str, detail: str, field: str | None = None, **extra: Any
) -> JsonResponse:
    return JsonResponse(error_body(code, detail, field, **extra), status=status_code)


def _flatten(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Walks DRF's nested error detail into [{field, code, detail}] with dotted paths."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            out.extend(_flatten(value, f"{path}.{name}" if path and name else path or name))
        return out
    if isinstance(detail, list):
        if detail and all(isinstance(d, exceptions.ErrorDetail | str) for d in detail):
            return [_entry(d, path) for d in detail]
        out = []
        for index, value in enumerate(detail):
            if value:
                out.extend(_flatten(value, f"{path}.{index}" if path else str(index)))
        return out
    return [_entry(detail, path)]


def _entry(detail: Any, path: str) -> dict[str, str]:
    code = getattr(detail, "code", None) or "invalid"
    entry = {"code": str(code), "detail": str(detail)}
    if path:
        entry["field"] = path
    return entry


def _body_for(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, APIError):
        return error_body(exc.error_code, str(exc.detail), exc.field)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail) or [{"code": "invalid", "detail": "Invalid input."}]
        first = errors[0]
        extra = {"errors": errors} if len(errors) > 1 else {}
        return error_body(first["code"], first["detail"], first.get("field"), **extra)
    code = exc.get_codes()
    if not isinstance(code, str):
        code = _STATUS_CODES.get(exc.status_code, "error")
    if isinstance(exc, exceptions.ParseError):
        code = "malformed_json" if "JSON" in str(exc.detail) else "parse_error"
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_body(code, str(detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception a view raises becomes the error shape."""
    # Imported here: rest_framework.views imports the authentication classes, which import us.
    from rest_framework.views import set_rollback

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = APIError("payload_too_large", "The request body is too large.", status_code=413)

    if not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))  # type: ignore[attr-defined]
    if isinstance(exc, APIError):
        headers.update(exc.headers)
    set_rollback()
    return Response(_body_for(exc), status=exc.status_code, headers=headers)


# Django-level handlers, for errors raised outside DRF views (unknown URLs, crashes in middleware).
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(400, "bad_request", "The request could not be understood.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(403, "permission_denied", "You may not do this.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "not_found", "Not found.")


def handler500(request: HttpRequest) -> JsonResponse:
    return error_response(500, "server_error", "Something went wrong on our side.")
