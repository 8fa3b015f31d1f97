from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage

from accounts.models import User
from projects.models import Asset, Project, ProjectCollaborator, Upload
from tests.factories import UserFactory
from tests.projects.conftest import Cast, client_for, jpeg_bytes, upload


def test_an_invited_person_sees_the_project_with_the_permission_given(cast: Cast) -> None:
    newcomer = UserFactory()
    base = f"/api/v1/projects/{cast.project.pk}"
    assert client_for(newcomer).get(base).status_code == 404

    invited = cast.client("admin").post(
        f"{base}/collaborators",
        {"email": newcomer.email.upper(), "permission": "view"},
        format="json",
    )
    assert invited.status_code == 201
    assert client_for(newcomer).get(base).json()["role"] == "view"

    cast.client("owner").patch(
        f"{base}/collaborators/{newcomer.pk}", {"permission": "edit"}, format="json"
    )
    assert client_for(newcomer).get(base).json()["role"] == "edit"

    cast.client("owner").delete(f"{base}/collaborators/{newcomer.pk}")
    assert client_for(newcomer).get(base).status_code == 404


def test_inviting_twice_the_owner_or_a_stranger_address_is_refused(cast: Cast) -> None:
    client = cast.client("owner")
    url = f"/api/v1/projects/{cast.project.pk}/collaborators"
    twice = client.post(url, {"email": cast.viewer.email, "permission": "edit"}, format="json")
    owner = client.post(url, {"email": cast.owner.email, "permission": "edit"}, format="json")
    unknown = client.post(url, {"email": "nobody@example.com", "permission": "edit"}, format="json")
    wrong = client.post(url, {"email": cast.outsider.email, "permission": "god"}, format="json")
    assert [r.status_code for r in (twice, owner, unknown, wrong)] == [409, 400, 404, 400]
    assert wrong.json()["field"] == "permission"
    assert ProjectCollaborator.objects.filter(project=cast.project).count() == 3


def test_deleting_a_project_removes_its_files_after_commit_and_releases_quota(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from projects.asset_processing import asset_process

    owner: User = UserFactory()
    data = jpeg_bytes(600, 400, seed=11)
    grant = upload(client_for(owner), data)
    project_id = (
        client_for(owner)
        .post("/api/v1/projects", {"name": "Gone soon", "upload_key": grant["key"]}, format="json")
        .json()["id"]
    )
    asset_process(str(Project.objects.get(pk=project_id).original_id))
    keys = list(Asset.objects.values_list("key", flat=True))
    assert len(keys) == 3
    owner.refresh_from_db()
    assert owner.storage_used == len(data)

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(owner).delete(f"/api/v1/projects/{project_id}").status_code == 204

    assert not Project.objects.exists()
    assert not Asset.objects.exists()
    assert not Upload.objects.exists()
    assert not any(default_storage.exists(key) for key in keys)
    owner.refresh_from_db()
    assert owner.storage_used == 0


def test_a_photo_shared_by_a_duplicate_survives_deleting_one_project(cast: Cast) -> None:
    grant = upload(cast.client("owner"), jpeg_bytes(seed=12))
    made = (
        cast.client("owner")
        .post("/api/v1/projects", {"name": "One", "upload_key": grant["key"]}, format="json")
        .json()
    )
    copy = cast.client("owner").post(f"/api/v1/projects/{made['id']}/duplicate").json()

    assert cast.client("owner").delete(f"/api/v1/projects/{made['id']}").status_code == 204

    assert Asset.objects.filter(pk=made["original"]["id"]).exists()
    assert (
        cast.client("owner").get(f"/api/v1/projects/{copy['id']}").json()["original"]["id"]
        == made["original"]["id"]
    )
    assert default_storage.exists(grant["key"])
