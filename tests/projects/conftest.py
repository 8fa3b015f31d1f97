from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import requests
from django.core.files.storage import default_storage
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from projects.models import Project
from tests.factories import CollaboratorFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _local_media(settings: Any, tmp_path: Any) -> None:
    """Embedded default: files under a fresh directory per test. (S3 passes keep their bucket.)"""
    if not hasattr(default_storage, "bucket_name"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
            },
        }


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@dataclass
class Cast:
    project: Project
    owner: User
    admin: User
    editor: User
    viewer: User
    outsider: User

    def client(self, role: str) -> APIClient:
        return client_for(getattr(self, role))


@pytest.fixture
def cast(db: Any) -> Cast:
    project = ProjectFactory()
    people = {}
    for permission, role in (("admin", "admin"), ("edit", "editor"), ("view", "viewer")):
        people[role] = CollaboratorFactory(project=project, permission=permission).user
    return Cast(project=project, owner=project.owner, outsider=UserFactory(), **people)


def jpeg_bytes(width: int = 64, height: int = 48, *, seed: int = 0, exif: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "Orlume"
        data[0x0110] = "Test Camera"
        kwargs["exif"] = data
    image.save(out, format="JPEG", quality=90, **kwargs)
    return out.getvalue()


def noise_tiff(width: int, height: int, seed: int = 1) -> bytes:
    """Uncompressed, so its size is about width*height*3 bytes."""
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(out, "TIFF")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def send_bytes(client: APIClient, target: dict[str, Any], data: bytes) -> str:
    """What a browser does with an upload descriptor (or one part of it); returns the ETag."""
    url = target["url"]
    if target.get("method") == "POST":  # S3 presigned POST
        response = requests.post(url, data=target["fields"], files={"file": data}, timeout=30)
        assert response.status_code in (200, 204), response.text
        return ""
    if url.startswith("http://127.0.0.1:8000/"):  # the embedded default's signed endpoint
        path = url.removeprefix("http://127.0.0.1:8000")
        anonymous = APIClient()
        response = anonymous.generic("PUT", path, data, content_type="application/octet-stream")
        assert response.status_code == 200, response.content
        return str(response["ETag"]).strip('"')
    response = requests.put(url, data=data, timeout=30)  # S3 presigned part URL
    assert response.status_code == 200, response.text
    return str(response.headers["ETag"]).strip('"')


def upload(client: APIClient, data: bytes, filename: str = "photo.jpg") -> dict[str, Any]:
    """Grant, then send the bytes (in parts when the grant says so). Returns the grant."""
    grant = client.post(
        "/api/v1/upload/presigned",
        {"filename": filename, "size": len(data), "sha256": sha(data)},
        format="json",
    )
    assert grant.status_code == 201, grant.json()
    body = grant.json()
    if not body["multipart"]:
        send_bytes(client, body, data)
        return body
    parts = []
    for part in body["parts"]:
        start = (part["part_number"] - 1) * body["part_size"]
        etag = send_bytes(client, part, data[start : start + part["size"]])
        parts.append({"part_number": part["part_number"], "etag": etag})
    done = client.post(
        f"/api/v1/upload/{body['upload_id']}/complete", {"parts": parts}, format="json"
    )
    assert done.status_code == 200, done.json()
    return body
