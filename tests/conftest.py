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
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A SQLite test database lives in a file, so servers a test starts (Daphne) can open it."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = str(settings.VAR_DIR / "test-orlume.sqlite3")
