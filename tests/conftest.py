from __future__ import annotations

import os

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A test that needs real services fails loudly without them instead of skipping quietly.
    if item.get_closest_marker("services") and not os.environ.get("ORLUME_TEST_SERVICES"):
        pytest.fail("needs PostgreSQL, Redis and S3: run it through `make test` (scripts/test.py)")


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Rate-limit and login counters must not leak from one story into the next."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        # Delete only this run's keys: FLUSHDB would wipe a concurrent run sharing the server.
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    else:
        cache.clear()
