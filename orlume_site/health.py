"""Liveness (/healthz) and readiness (/readyz): is each dependency reachable right now?"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse

from orlume_site import broker

logger = logging.getLogger("orlume.health")


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)


def _storage() -> None:
    name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "cache": _cache,
    "broker": broker.ping,
    "storage": _storage,
}


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # each failure is reported, none stops the others
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = f"failed: {type(exc).__name__}"
        else:
            results[name] = "ok"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return JsonResponse(
            {
                "code": "not_ready",
                "detail": f"Unreachable: {', '.join(failed)}.",
                "checks": results,
            },
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": results})
