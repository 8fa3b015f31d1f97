"""Request-scoped log context: every log line carries the id of the request that caused it."""

from __future__ import annotations

import contextvars
import logging
import re

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


# Signed links are bearer credentials while they live: logs name the route, never the token.
_SIGNED_PATH = re.compile(r"(/api/v1/(?:files|upload/local)/)[^/\s\"'?]+")


def redact(text: str) -> str:
    return _SIGNED_PATH.sub(r"\1<token>", text)


class RequestIDFilter(logging.Filter):
    """Adds the request id; strips signed-link tokens from the message's arguments (Django's
    own `django.request` 4xx lines carry the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = redact(path)
        return True
