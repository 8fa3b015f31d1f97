"""Cross-cutting HTTP middleware: request ids, body size bounds, Permissions-Policy."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from orlume_site.api.errors import error_response
from orlume_site.logging import redact, request_id_var

access_log = logging.getLogger("orlume.access")

# Accept a caller's id only when it is short and plain, so it is safe to echo and log.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # Not reset afterwards: Django logs the response (django.request) after the middleware
        # chain returns, and that line must carry the id too. The next request sets its own.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        # One JSON access line per request (Daphne's own text access log is switched off).
        path = redact(request.path)
        access_log.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response


class BodySizeLimitMiddleware:
    """Refuses bodies over MAX_REQUEST_BODY_BYTES with 413 before anything reads them.

    File bytes never pass through the web process (uploads go straight to storage), so one
    bound fits every endpoint.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(tuple(settings.BODY_SIZE_LIMIT_EXEMPT_PREFIXES)):
            return self.get_response(request)  # the view bounds these itself
        limit = settings.MAX_REQUEST_BODY_BYTES
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return error_response(400, "bad_content_length", "Content-Length is not a number.")
        if size > limit:
            return error_response(
                413, "payload_too_large", f"The request body is {size} bytes; the limit is {limit}."
            )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
