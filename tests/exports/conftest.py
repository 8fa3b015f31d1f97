from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from orlume_site.broker import broker
from projects.models import Project
from tests.factories import AssetFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _local_media(settings: Any, tmp_path: Any) -> None:
    """Embedded default: files under a fresh directory per test (S3 passes keep their bucket)."""
    if not hasattr(default_storage, "bucket_name"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
            },
        }


@pytest.fixture(autouse=True)
def _empty_queues() -> Iterator[None]:
    """Messages a story enqueued must not reach the next story's workers."""
    broker.flush_all()
    yield
    broker.flush_all()


def photo_bytes(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(40, 200, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def user_on(plan: str = "pro") -> User:
    user = cast(User, UserFactory())
    user.plan_type = plan
    user.save(update_fields=["plan_type"])
    return user


def project_with_photo(
    owner: User | None = None,
    *,
    width: int = 96,
    height: int = 64,
    seed: int = 0,
    exposure: float = 0.0,
) -> Project:
    owner = owner or user_on("pro")
    data = photo_bytes(width, height, seed)
    digest = hashlib.sha256(data).hexdigest()
    key = f"originals/{owner.pk}/{digest}.jpg"
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(data))
    asset = AssetFactory(
        owner=owner, key=key, sha256=digest, size=len(data), width=width, height=height
    )
    project = cast(Project, ProjectFactory(owner=owner, original=asset))
    if exposure:
        project.edits_json["develop"]["light"]["exposure"] = exposure
        project.save(update_fields=["edits_json"])
    return project


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ask(
    client: APIClient, project: Project, headers: dict[str, str] | None = None, **options: Any
) -> Any:
    return client.post(
        "/api/v1/exports",
        {"project_id": str(project.pk), **options},
        format="json",
        headers=headers or {},
    )
