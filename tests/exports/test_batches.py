"""Batches: a recipe applied to many projects, per-item results, partial failures, one zip."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.files.storage import default_storage

from exports import events, services
from exports.models import Batch, Export
from tests.exports.conftest import client_for, project_with_photo, user_on

pytestmark = pytest.mark.django_db


def test_a_batch_exports_each_project_lists_failures_and_zips_the_finished_files(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish: list[str] = []
    monkeypatch.setattr(
        services,
        "enqueue_on_commit",
        lambda name, *args, queue: finish.append(args[0]) if name == "batch_finish" else None,
    )
    owner = user_on("pro")
    mine = [project_with_photo(owner, seed=n) for n in range(2)]
    foreign = project_with_photo(user_on("pro"), seed=9)
    client = client_for(owner)
    response = client.post(
        "/api/v1/batches",
        {
            "project_ids": [str(mine[0].pk), str(foreign.pk), str(mine[1].pk)],
            "recipe": {"develop": {"light": {"exposure": 0.7}}},
            "options": {"format": "png"},
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert [i["error_code"] for i in body["items"]] == ["", "not_found", ""]
    assert body["progress"]["counts"]["pending"] == 2
    exports = Export.objects.filter(batch_id=body["id"])
    assert {e.recipe["develop"]["light"]["exposure"] for e in exports} == {0.7}
    mine[0].refresh_from_db()
    assert mine[0].edits_json["develop"]["light"]["exposure"] == 0.0  # projects untouched

    seen: list[events.Event] = []
    events.register_sink(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for export in exports:
                assert services.export_run(export.pk) == "complete"
        assert finish == [body["id"]]
        with django_capture_on_commit_callbacks(execute=True):
            assert services.batch_finish(body["id"]) == "complete"
    finally:
        events.unregister_sink(seen.append)
    assert seen[-1].type == "batch.completed"
    assert seen[-1].data["counts"]["complete"] == 2

    done = client.get(f"/api/v1/batches/{body['id']}").json()
    assert done["status"] == "complete"
    assert done["progress"]["percent"] == 100
    assert client.get(f"/api/v1/batches/{body['id']}/download").status_code == 302
    batch = Batch.objects.get(pk=body["id"])
    with default_storage.open(batch.zip_key, "rb") as fh:
        names = zipfile.ZipFile(io.BytesIO(fh.read())).namelist()
    assert names == [
        f"001-{mine[0].name.replace(' ', '-')}.png",
        f"003-{mine[1].name.replace(' ', '-')}.png",
    ]


def test_a_batch_over_the_limit_or_beyond_the_plan_is_refused_whole(settings: Any) -> None:
    settings.BATCH_MAX_PROJECTS = 2
    owner = user_on("free")
    projects = [str(project_with_photo(owner, seed=n).pk) for n in range(3)]
    client = client_for(owner)
    many = client.post("/api/v1/batches", {"project_ids": projects}, format="json")
    assert many.status_code == 400
    assert many.json()["code"] == "batch_too_large"
    tiff = client.post(
        "/api/v1/batches",
        {"project_ids": projects[:1], "options": {"format": "tiff"}},
        format="json",
    )
    assert tiff.status_code == 403
    assert tiff.json()["code"] == "plan_limit_format"
    assert Batch.objects.count() == 0
