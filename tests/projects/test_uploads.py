"""Uploads straight to storage and projects made from them.

Unmarked tests run against the local signed endpoint in pass 1 and against S3 (moto) in pass 2:
the helper follows whatever the grant says (POST form or PUT URLs).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from accounts.models import User
from projects.asset_processing import asset_process
from projects.models import Asset, Project, Upload
from tests.factories import UserFactory
from tests.projects.conftest import (
    client_for,
    jpeg_bytes,
    noise_tiff,
    send_bytes,
    send_raw,
    sha,
    upload,
)


@pytest.fixture
def owner(db: Any) -> User:
    return UserFactory.create()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...], str]]:
    messages: list[tuple[str, tuple[Any, ...], str]] = []
    monkeypatch.setattr(
        "orlume_site.jobs.enqueue",
        lambda actor, *args, queue, **kw: messages.append((actor, args, queue)),
    )
    return messages


def _create(user: User, key: str, name: str = "Holiday") -> Any:
    return client_for(user).post(
        "/api/v1/projects", {"name": name, "upload_key": key}, format="json"
    )


def test_a_photo_uploaded_to_storage_becomes_a_project_with_a_probed_asset(
    owner: User, sent: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    data = jpeg_bytes(120, 80, exif=True)
    grant = upload(client_for(owner), data)
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(owner, grant["key"])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["deduplicated"] is False
    original = body["original"]
    assert (original["format"], original["width"], original["height"]) == ("jpeg", 120, 80)
    assert original["exif"]["model"] == "Test Camera"
    assert original["sha256"] == sha(data)
    owner.refresh_from_db()
    assert owner.storage_used == len(data)
    assert sent == [("asset_process", (original["id"],), "interactive")]


def test_the_processing_job_stores_a_thumbnail_and_a_proxy(owner: User) -> None:
    grant = upload(client_for(owner), jpeg_bytes(900, 600))
    project = Project.objects.get(pk=_create(owner, grant["key"]).json()["id"])

    asset_process(str(project.original_id))

    derived = {a.kind: a for a in Asset.objects.filter(source_id=project.original_id)}
    assert (derived["thumbnail"].width, derived["thumbnail"].height) == (512, 341)
    assert derived["proxy"].width == 900
    with default_storage.open(derived["thumbnail"].key) as fh:
        assert Image.open(fh).size == (512, 341)
    files = client_for(owner).get(f"/api/v1/projects/{project.pk}").json()["files"]
    assert files["thumbnail"]["width"] == 512
    assert files["original"]["url"]


def test_the_same_photo_twice_answers_the_existing_asset_and_charges_once(owner: User) -> None:
    data = jpeg_bytes(seed=3)
    first = _create(owner, upload(client_for(owner), data)["key"]).json()
    Upload.objects.filter(owner=owner).update(sha256="0" * 64)  # no pending grant to resume
    second = _create(owner, upload(client_for(owner), data)["key"], name="Again").json()

    assert second["deduplicated"] is True
    assert second["original"]["id"] == first["original"]["id"]
    owner.refresh_from_db()
    assert owner.storage_used == len(data)


@pytest.mark.parametrize(
    ("announce", "code"),
    [({"size": +1}, "size_mismatch"), ({"sha256": "f" * 64}, "checksum_mismatch")],
)
def test_an_upload_that_lied_is_refused_without_charge_or_project(
    owner: User, announce: dict[str, Any], code: str
) -> None:
    data = jpeg_bytes(seed=4)
    upload_row = Upload.objects.create(
        owner=owner,
        key=f"uploads/{owner.pk}/liar",
        filename="x.jpg",
        size=len(data) + announce.get("size", 0),
        sha256=announce.get("sha256", sha(data)),
        expires_at="2999-01-01T00:00:00Z",
    )
    default_storage.save(upload_row.key, io.BytesIO(data))

    response = _create(owner, upload_row.key)

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, "upload_key")
    assert not Project.objects.exists()
    assert not Asset.objects.exists()
    owner.refresh_from_db()
    assert owner.storage_used == 0


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"%PDF-1.4 not a photo at all" + b"\0" * 100, 415, "unsupported_format"),
        (jpeg_bytes()[:300], 422, "corrupt_image"),
    ],
)
def test_unsupported_and_corrupt_files_are_refused(
    owner: User, payload: bytes, status: int, code: str
) -> None:
    grant = upload(client_for(owner), payload, filename="photo.jpg")
    response = _create(owner, grant["key"])
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Project.objects.exists()


def test_an_image_bomb_is_refused_before_decoding(owner: User) -> None:
    # A PNG header announcing 20000 x 20000 pixels in a few hundred bytes.
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    grant = upload(client_for(owner), out.getvalue(), filename="tiny.png")
    response = _create(owner, grant["key"])
    assert (response.status_code, response.json()["code"]) == (413, "image_too_large")


def test_an_upload_over_quota_is_refused_before_any_bytes_move(owner: User) -> None:
    owner.storage_limit = 1000
    owner.storage_used = 900
    owner.save()
    response = client_for(owner).post(
        "/api/v1/upload/presigned",
        {"filename": "a.jpg", "size": 101, "sha256": "a" * 64},
        format="json",
    )
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        413,
        "quota_exceeded",
        "size",
    )
    assert not Upload.objects.exists()


def test_pending_grants_count_against_the_quota(owner: User) -> None:
    owner.storage_limit = 1000
    owner.save()
    client = client_for(owner)
    ok = client.post(
        "/api/v1/upload/presigned",
        {"filename": "a", "size": 600, "sha256": "a" * 64},
        format="json",
    )
    refused = client.post(
        "/api/v1/upload/presigned",
        {"filename": "b", "size": 600, "sha256": "b" * 64},
        format="json",
    )
    assert (ok.status_code, refused.status_code) == (201, 413)


def test_an_unused_upload_can_be_deleted_and_a_used_one_cannot(
    owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(owner)
    unused = upload(client, jpeg_bytes(seed=5))
    used = upload(client, jpeg_bytes(seed=6))
    _create(owner, used["key"])
    stranger = client_for(UserFactory.create())

    assert stranger.delete(f"/api/v1/storage/{unused['key']}").status_code == 404
    assert client.delete(f"/api/v1/storage/{used['key']}").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/storage/{unused['key']}").status_code == 204
    assert not default_storage.exists(unused["key"])
    assert not Upload.objects.filter(key=unused["key"]).exists()


def test_a_large_file_goes_up_in_parts_and_resumes_after_an_interruption(
    owner: User, settings: Any
) -> None:
    # S3 wants parts of at least 5 MiB; the embedded default takes any size.
    part = 5 * 1024 * 1024 if hasattr(default_storage, "bucket_name") else 64 * 1024
    settings.UPLOAD_MULTIPART_THRESHOLD_BYTES = part
    settings.UPLOAD_PART_SIZE_BYTES = part
    data = noise_tiff(1400, 1300) if part > 100_000 else noise_tiff(200, 150)
    client = client_for(owner)
    announce = {"filename": "big.tif", "size": len(data), "sha256": sha(data)}
    grant = client.post("/api/v1/upload/presigned", announce, format="json").json()
    assert grant["multipart"] is True
    assert len(grant["parts"]) == 2

    first = grant["parts"][0]
    etag1 = send_bytes(client, first, data[: first["size"]])  # ... and the connection drops

    resumed = client.post("/api/v1/upload/presigned", announce, format="json").json()
    assert resumed["upload_id"] == grant["upload_id"]
    assert resumed["parts"][0] == {"part_number": 1, "size": first["size"], "etag": etag1}
    second = resumed["parts"][1]
    etag2 = send_bytes(client, second, data[first["size"] :])
    parts = [{"part_number": 1, "etag": etag1}, {"part_number": 2, "etag": etag2}]
    assert (
        client.post(
            f"/api/v1/upload/{grant['upload_id']}/complete", {"parts": parts}, format="json"
        ).status_code
        == 200
    )

    response = _create(owner, grant["key"])
    assert response.status_code == 201, response.json()
    assert response.json()["original"]["format"] == "tiff"
    owner.refresh_from_db()
    assert owner.storage_used == len(data)


def test_a_local_part_url_stops_taking_bytes_once_the_parts_are_joined(
    owner: User, settings: Any
) -> None:
    _local_storage(settings)
    settings.UPLOAD_MULTIPART_THRESHOLD_BYTES = settings.UPLOAD_PART_SIZE_BYTES = 64 * 1024
    data = noise_tiff(200, 150)
    client = client_for(owner)
    grant = client.post(
        "/api/v1/upload/presigned",
        {"filename": "big.tif", "size": len(data), "sha256": sha(data)},
        format="json",
    ).json()
    first, second = grant["parts"]
    etags = [
        send_bytes(client, first, data[: first["size"]]),
        send_bytes(client, second, data[first["size"] :]),
    ]
    joined = client.post(
        f"/api/v1/upload/{grant['upload_id']}/complete",
        {"parts": [{"part_number": n + 1, "etag": e} for n, e in enumerate(etags)]},
        format="json",
    )
    assert joined.status_code == 200

    path = first["url"].removeprefix("http://127.0.0.1:8000")
    late = send_raw(client_for(None), "PUT", path, data[: first["size"]], content_type="image/tiff")

    assert late.status_code == 409, late.content
    assert late.json()["code"] == "upload_closed"


def test_the_local_upload_endpoint_refuses_forged_urls_and_wrong_sizes(
    owner: User, settings: Any
) -> None:
    if hasattr(default_storage, "bucket_name"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}},
        }
    data = jpeg_bytes(seed=7)
    grant = (
        client_for(owner)
        .post(
            "/api/v1/upload/presigned",
            {"filename": "a.jpg", "size": len(data), "sha256": sha(data)},
            format="json",
        )
        .json()
    )
    path = grant["url"].removeprefix("http://127.0.0.1:8000")
    anonymous = client_for(None)
    forged = send_raw(
        anonymous, "PUT", path[:-3] + "abc", data, content_type="application/octet-stream"
    )
    short = send_raw(anonymous, "PUT", path, data[:-1], content_type="application/octet-stream")
    assert (forged.status_code, short.status_code) == (403, 400)
    assert short.json()["code"] == "size_mismatch"
    assert not default_storage.exists(grant["key"])


@pytest.mark.services
def test_s3_presigned_post_is_bound_to_the_size_and_a_bigger_body_is_caught(owner: User) -> None:
    import base64
    import json

    import requests

    data = jpeg_bytes(seed=8)
    grant = (
        client_for(owner)
        .post(
            "/api/v1/upload/presigned",
            {"filename": "a.jpg", "size": len(data), "sha256": sha(data)},
            format="json",
        )
        .json()
    )
    assert grant["method"] == "POST"
    assert grant["key"].startswith(f"uploads/{owner.pk}/")
    policy = json.loads(base64.b64decode(grant["fields"]["policy"]))
    assert ["content-length-range", len(data), len(data)] in policy["conditions"]
    # moto does not enforce the policy's length range (S3 does); our own check still holds.
    sent = requests.post(
        grant["url"], data=grant["fields"], files={"file": data + b"extra"}, timeout=30
    )
    assert sent.status_code == 204

    response = _create(owner, grant["key"])

    assert (response.status_code, response.json()["code"]) == (400, "size_mismatch")
    assert not default_storage.exists(grant["key"])
    owner.refresh_from_db()
    assert owner.storage_used == 0


@pytest.mark.services
def test_s3_multipart_parts_are_listed_from_the_bucket_on_resume(
    owner: User, settings: Any
) -> None:
    settings.UPLOAD_MULTIPART_THRESHOLD_BYTES = settings.UPLOAD_PART_SIZE_BYTES = 5 * 1024 * 1024
    data = noise_tiff(1400, 1300)
    client = client_for(owner)
    grant = client.post(
        "/api/v1/upload/presigned",
        {"filename": "b.tif", "size": len(data), "sha256": sha(data)},
        format="json",
    ).json()
    assert grant["parts"][0]["url"].startswith(
        settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    )
    etag = send_bytes(client, grant["parts"][0], data[: grant["part_size"]])

    resumed = client.get(f"/api/v1/upload/{grant['upload_id']}").json()

    assert resumed["parts"][0]["etag"] == etag
    assert "url" in resumed["parts"][1]
    stale = client.post(
        f"/api/v1/upload/{grant['upload_id']}/complete",
        {"parts": [{"part_number": 1, "etag": etag}, {"part_number": 2, "etag": "nope"}]},
        format="json",
    )
    assert (stale.status_code, stale.json()["field"]) == (400, "parts.1")


def _local_storage(settings: Any) -> None:
    if hasattr(default_storage, "bucket_name"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}},
        }


def test_a_local_upload_url_stops_taking_bytes_once_its_upload_is_used_or_deleted(
    owner: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The signed PUT URL outlives the upload (15 minutes). Once the bytes were verified into
    a project, a second PUT must not swap them for unprobed ones; once the upload was deleted
    (its reservation released), a second PUT must not store bytes no quota counts."""
    _local_storage(settings)
    client = client_for(owner)
    data = jpeg_bytes(seed=21)
    used = client.post(
        "/api/v1/upload/presigned",
        {"filename": "a.jpg", "size": len(data), "sha256": sha(data)},
        format="json",
    ).json()
    send_bytes(client, used, data)
    assert _create(owner, used["key"]).status_code == 201
    swapped = b"\0" * len(data)
    path = used["url"].removeprefix("http://127.0.0.1:8000")
    again = send_raw(client_for(None), "PUT", path, swapped, content_type="image/jpeg")
    assert again.status_code == 409, again.content
    with default_storage.open(used["key"], "rb") as fh:
        assert fh.read() == data

    other = jpeg_bytes(seed=22)
    dropped = client.post(
        "/api/v1/upload/presigned",
        {"filename": "b.jpg", "size": len(other), "sha256": sha(other)},
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/storage/{dropped['key']}").status_code == 204
    path = dropped["url"].removeprefix("http://127.0.0.1:8000")
    late = send_raw(client_for(None), "PUT", path, other, content_type="image/jpeg")
    assert late.status_code == 409, late.content
    assert not default_storage.exists(dropped["key"])
