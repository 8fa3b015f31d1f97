"""Slows, then refuses, repeated failed logins per account and per address.

Counters live in the shared cache (Redis in production) so every web process sees them. The
answer to a refused login is the same whether or not the account exists.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from orlume_site.api.errors import APIError


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _lock_key(kind: str, value: str) -> str:
    return f"login-lock:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _locked_error(retry_after: int) -> APIError:
    return APIError(
        "login_locked",
        "Too many failed sign-ins. Try again later.",
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


def check_allowed(*, email: str, address: str) -> None:
    """Raises 429 while the account or the address is locked out."""
    for kind, value in (("account", email), ("address", address)):
        if cache.get(_lock_key(kind, value)):
            raise _locked_error(settings.LOGIN_FAILURES["LOCK_SECONDS"])


def record_failure(*, email: str, address: str) -> None:
    """Counts a failure, locks past the limits, and delays the answer past the slow-down point."""
    conf = settings.LOGIN_FAILURES
    window = conf["LOCK_SECONDS"]
    counts = {}
    for kind, value, limit in (
        ("account", email, conf["ACCOUNT_LOCK_AFTER"]),
        ("address", address, conf["ADDRESS_LOCK_AFTER"]),
    ):
        key = _key(kind, value)
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        counts[kind] = count
        if count >= limit:
            cache.set(_lock_key(kind, value), 1, timeout=window)
    excess = counts["account"] - conf["SLOWDOWN_AFTER"]
    if excess > 0:
        time.sleep(min(0.25 * 2 ** (excess - 1), conf["SLOWDOWN_MAX_SECONDS"]))


def record_success(*, email: str) -> None:
    cache.delete(_key("account", email))
