"""The production services really exercised: PostgreSQL, Redis, S3 and the broker."""

from __future__ import annotations

import uuid

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_the_database_is_postgresql_through_a_psycopg_pool() -> None:
    assert connection.vendor == "postgresql"
    assert settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"] >= 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert cursor.fetchone()


def test_the_cache_is_redis_and_shared() -> None:
    from redis import Redis

    key = f"shared-{uuid.uuid4().hex}"
    cache.set(key, "seen", timeout=30)
    raw = Redis.from_url(settings.REDIS_URL, decode_responses=True)
    assert any(key in k for k in raw.keys(f"*{key}*"))


def test_files_go_to_s3_and_come_back_through_a_signed_url() -> None:
    name = default_storage.save(f"tests/{uuid.uuid4().hex}.txt", ContentFile(b"hello s3"))
    try:
        url = default_storage.url(name)
        assert "X-Amz-Signature" in url
        assert httpx.get(url).content == b"hello s3"
    finally:
        default_storage.delete(name)
    assert not default_storage.exists(name)
