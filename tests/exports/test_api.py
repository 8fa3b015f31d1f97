"""The exports API: 202 at once, idempotency, plan limits that name the plan, 404s, cancel,
listing and the signed download."""

from __future__ import annotations

import io
from typing import Any, cast

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from exports import services
from exports.models import Export
from orlume_site.broker import BULK_QUEUE, broker
from projects.models import ProjectCollaborator
from tests.exports.conftest import ask, client_for, project_with_photo, user_on
from tests.factories import CollaboratorFactory

pytestmark = pytest.mark.django_db


def test_asking_answers_202_with_a_pending_job_and_enqueues_it_on_the_bulk_queue(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(broker, "enqueue", lambda message, **kw: sent.append(message))
    project = project_with_photo()
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client_for(project.owner), project, format="png")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["stage"] == "queued"
    assert response["Location"] == f"/api/v1/exports/{body['id']}"
    assert [(m.queue_name, m.actor_name, m.args) for m in sent] == [
        (BULK_QUEUE, "export_render", (body["id"],))
    ]


def test_the_same_idempotency_key_returns_the_same_export_and_other_values_conflict() -> None:
    project = project_with_photo()
    client = client_for(project.owner)
    first = ask(client, project, headers={"Idempotency-Key": "k-1"}, quality=80)
    again = ask(client, project, headers={"Idempotency-Key": "k-1"}, quality=80)
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Export.objects.count() == 1
    other = ask(client, project, headers={"Idempotency-Key": "k-1"}, quality=70)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


def test_free_plan_refusals_name_the_limit_and_the_plan_that_lifts_it() -> None:
    project = project_with_photo(user_on("free"), width=3000, height=2000)
    client = client_for(project.owner)
    tiff = ask(client, project, format="tiff")
    assert tiff.status_code == 403
    assert tiff.json()["code"] == "plan_limit_format"
    assert tiff.json()["field"] == "format"
    assert "Pro plan" in tiff.json()["detail"]
    big = ask(client, project, long_edge=2400)
    assert big.status_code == 403
    assert big.json()["code"] == "plan_limit_size"
    assert "Pro plan" in big.json()["detail"]
    assert "720p" in big.json()["detail"]


def test_pro_may_not_export_avif_or_beyond_4k_and_enterprise_may() -> None:
    pro = project_with_photo(user_on("pro"), width=9000, height=6000)
    assert ask(client_for(pro.owner), pro, format="avif").json()["code"] == "plan_limit_format"
    refused = ask(client_for(pro.owner), pro, width=5000)
    assert refused.status_code == 403
    assert "Enterprise" in refused.json()["detail"]
    enterprise = project_with_photo(user_on("enterprise"), width=9000, height=6000)
    assert (
        ask(client_for(enterprise.owner), enterprise, format="avif", width=5000).status_code == 202
    )


def test_free_exports_without_a_size_are_capped_at_720p_and_watermarked() -> None:
    project = project_with_photo(user_on("free"), width=3000, height=2000)
    body = ask(client_for(project.owner), project).json()
    assert (body["width"], body["height"]) == (1280, 853)
    assert body["watermark"] is True


def test_unknown_and_other_peoples_projects_are_404_and_viewers_may_export() -> None:
    project = project_with_photo()
    stranger = user_on("pro")
    assert ask(client_for(stranger), project).status_code == 404
    response = client_for(stranger).post(
        "/api/v1/exports", {"project_id": "00000000-0000-0000-0000-000000000000"}, format="json"
    )
    assert response.status_code == 404
    viewer = cast(ProjectCollaborator, CollaboratorFactory(project=project, permission="view")).user
    assert ask(client_for(viewer), project).status_code == 202


def test_another_users_export_is_404_to_read_cancel_or_download() -> None:
    project = project_with_photo()
    export_id = ask(client_for(project.owner), project).json()["id"]
    stranger = client_for(user_on("pro"))
    for path in ("", "/download"):
        assert stranger.get(f"/api/v1/exports/{export_id}{path}").status_code == 404
    assert stranger.post(f"/api/v1/exports/{export_id}/cancel").status_code == 404


def test_a_project_without_an_original_or_with_an_invalid_recipe_is_refused_clearly() -> None:
    project = project_with_photo()
    client = client_for(project.owner)
    project.edits_json["develop"]["light"]["exposure"] = 99
    project.save(update_fields=["edits_json"])
    bad = ask(client, project)
    assert bad.status_code == 409
    assert bad.json()["code"] == "recipe_invalid"
    assert bad.json()["field"] == "/develop/light/exposure"
    project.original = None
    project.save(update_fields=["original"])
    assert ask(client, project).json()["code"] == "no_original"


def test_bad_options_are_400_naming_the_field() -> None:
    project = project_with_photo()
    client = client_for(project.owner)
    depth = ask(client, project, format="jpeg", bit_depth=16)
    assert depth.status_code == 400
    assert depth.json()["field"] == "bit_depth"
    unknown = ask(client, project, colour="red")
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "colour"


def test_cancel_stops_a_pending_export_and_a_late_worker_does_nothing() -> None:
    project = project_with_photo()
    client = client_for(project.owner)
    export_id = ask(client, project).json()["id"]
    canceled = client.post(f"/api/v1/exports/{export_id}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert services.export_run(export_id) == "skipped"
    assert Export.objects.get(pk=export_id).status == "canceled"
    again = client.post(f"/api/v1/exports/{export_id}/cancel")
    assert again.status_code == 200  # canceling twice is harmless


def test_list_filters_by_project_and_status_and_paginates() -> None:
    owner = user_on("pro")
    first, second = project_with_photo(owner, seed=1), project_with_photo(owner, seed=2)
    client = client_for(owner)
    ids = [ask(client, first, quality=q).json()["id"] for q in (70, 80, 90)]
    ask(client, second)
    services.export_run(ids[0])
    page = client.get("/api/v1/exports", {"project_id": str(first.pk), "page_size": "2"}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = client.get(page["next"]).json()
    assert {r["id"] for r in page["results"] + rest["results"]} == set(ids)
    complete = client.get("/api/v1/exports", {"status": "complete"}).json()["results"]
    assert [r["id"] for r in complete] == [ids[0]]
    assert client.get("/api/v1/exports", {"status": "nope"}).status_code == 400


def test_download_redirects_to_a_signed_url_of_the_rendered_file() -> None:
    project = project_with_photo(width=96, height=64)
    client = client_for(project.owner)
    export_id = ask(client, project, format="png", long_edge=48).json()["id"]
    not_yet = client.get(f"/api/v1/exports/{export_id}/download")
    assert not_yet.status_code == 409
    assert not_yet.json()["code"] == "not_ready"
    assert services.export_run(export_id) == "complete"
    response = client.get(f"/api/v1/exports/{export_id}/download")
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    export = Export.objects.get(pk=export_id)
    with default_storage.open(export.output_key, "rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        assert (image.format, image.size) == ("PNG", (48, 32))
    url = response["Location"]
    if url.startswith("http://127.0.0.1:8000/"):  # the embedded default's signed file link
        file = client.get(url.removeprefix("http://127.0.0.1:8000"))
        assert file.status_code == 200
        assert file["Content-Type"] == "image/png"
    else:
        assert "Signature" in url or "X-Amz-Signature" in url
