from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Importing orlume_site.asgi (as in-process WebSocket stories do) starts the embedded worker
    # threads and the sweeper, which would then race every story for its jobs. The test process
    # never serves; stories that need a worker start one (tests/workers.py), and the Daphne
    # servers the collab stories start keep the embedded default through their own settings.
    from django.conf import settings

    settings.EMBEDDED_WORKERS = False
    settings.EXPORT_SWEEPER_IN_WEB = False


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


@pytest.fixture(scope="session", autouse=True)
def _no_stray_sessions_at_teardown(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Worker threads and servers started by tests may leave PostgreSQL sessions open; end them
    so the test database can be dropped instead of lingering until the next run."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
