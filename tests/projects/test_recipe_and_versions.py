from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Plan
from projects import recipe
from projects.models import Project
from tests.projects.conftest import Cast, client_for


def _patch(
    cast: Cast, edits: dict[str, Any], version: int | None = None, role: str = "owner"
) -> Any:
    version = Project.objects.get(pk=cast.project.pk).version if version is None else version
    return cast.client(role).patch(
        f"/api/v1/projects/{cast.project.pk}",
        {"edits": edits},
        format="json",
        HTTP_IF_MATCH=f'"{version}"',
    )


def test_the_published_schema_describes_develop_lighting_and_output(db: Any) -> None:
    schema = client_for(None).get("/api/v1/recipe/schema").json()
    assert set(schema["properties"]) == {"schema_version", "develop", "lighting", "output"}
    assert schema["additionalProperties"] is False
    light = schema["$defs"]["RelightLight"]["properties"]
    assert {
        "type",
        "falloff",
        "falloff_curve",
        "inner_angle",
        "outer_angle",
        "radius",
        "specular",
    } <= set(light)


@pytest.mark.parametrize(
    ("edits", "code", "pointer"),
    [
        ({"develop": {"light": {"exposure": 9}}}, "out_of_range", "/develop/light/exposure"),
        ({"develop": {"light": {"glow": 1}}}, "unknown_field", "/develop/light/glow"),
        ({"develop": {"presence": {"clarity": "lots"}}}, "wrong_type", "/develop/presence/clarity"),
        (
            {"develop": {"masks": [{"id": "m", "shapes": [{"type": "radial", "rx": -1}]}]}},
            "out_of_range",
            "/develop/masks/0/shapes/0/rx",
        ),
        (
            {"lighting": {"lights": [{"id": "a", "type": "spot", "color": {"r": 2}}]}},
            "out_of_range",
            "/lighting/lights/0/color/r",
        ),
        (
            {"develop": {"tone_curve": {"luma": [[0, 0]] * 17}}},
            "bad_length",
            "/develop/tone_curve/luma",
        ),
    ],
)
def test_a_bad_recipe_is_refused_naming_the_pointer_and_nothing_is_saved(
    cast: Cast, edits: dict[str, Any], code: str, pointer: str
) -> None:
    response = _patch(cast, edits)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["pointer"]) == (code, pointer)
    assert body["field"] == "edits" + pointer.replace("/", ".")
    assert Project.objects.get(pk=cast.project.pk).version == 1


def test_deeply_nested_json_is_a_clear_400(cast: Cast) -> None:
    deep: Any = 1
    for _ in range(30):
        deep = {"x": deep}
    assert _patch(cast, {"develop": deep}).json()["code"] == "too_deep"
    raw = b'{"edits": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = cast.client("owner").generic(
        "PATCH",
        f"/api/v1/projects/{cast.project.pk}",
        raw,
        content_type="application/json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_a_version_one_recipe_migrates_forward_on_read(cast: Cast) -> None:
    Project.objects.filter(pk=cast.project.pk).update(
        edits_json={"schema_version": 1, "light": {"exposure": 0.7}, "lights": []}
    )
    edits = cast.client("viewer").get(f"/api/v1/projects/{cast.project.pk}").json()["edits"]
    assert edits["schema_version"] == 2
    assert edits["develop"]["light"]["exposure"] == 0.7
    assert recipe.parse(edits).develop.light.exposure == 0.7


def test_a_stale_write_gets_412_and_loses_nothing(cast: Cast) -> None:
    first = _patch(cast, {"develop": {"light": {"exposure": 1.0}}}, version=1, role="editor")
    assert first.status_code == 200
    assert first["ETag"] == '"2"'
    stale = _patch(cast, {"develop": {"light": {"contrast": 30}}}, version=1, role="owner")
    assert stale.status_code == 412
    assert stale["ETag"] == '"2"'
    saved = Project.objects.get(pk=cast.project.pk)
    assert saved.edits_json["develop"]["light"] == {
        **recipe.default()["develop"]["light"],
        "exposure": 1.0,
    }


def test_a_write_without_if_match_is_refused(cast: Cast) -> None:
    response = cast.client("owner").patch(
        f"/api/v1/projects/{cast.project.pk}", {"name": "x"}, format="json"
    )
    assert response.status_code == 428


def test_quick_saves_by_one_person_fold_into_one_version(cast: Cast, settings: Any) -> None:
    settings.PROJECT_VERSION_COALESCE_SECONDS = 3600
    for exposure in (0.1, 0.2, 0.3):
        assert _patch(cast, {"develop": {"light": {"exposure": exposure}}}).status_code == 200
    _patch(cast, {"develop": {"light": {"exposure": 0.4}}}, role="editor")
    versions = (
        cast.client("owner").get(f"/api/v1/projects/{cast.project.pk}/versions").json()["results"]
    )
    assert [v["version_number"] for v in versions] == [5, 4, 1]
    assert versions[1]["edits"]["develop"]["light"]["exposure"] == 0.3


def test_restore_brings_back_an_old_recipe_as_a_new_version(cast: Cast, settings: Any) -> None:
    settings.PROJECT_VERSION_COALESCE_SECONDS = 0
    _patch(cast, {"develop": {"light": {"exposure": 2.0}}})
    response = cast.client("editor").post(f"/api/v1/projects/{cast.project.pk}/versions/1/restore")
    assert response.status_code == 200
    assert response.json()["version"] == 3
    assert response.json()["edits"] == recipe.default()
    assert (
        cast.client("owner")
        .post(f"/api/v1/projects/{cast.project.pk}/versions/99/restore")
        .status_code
        == 404
    )


@pytest.mark.parametrize(("plan", "kept"), [(Plan.FREE, 10), (Plan.PRO, 13)])
def test_history_is_pruned_to_the_owner_plan_oldest_first(
    cast: Cast, settings: Any, plan: str, kept: int
) -> None:
    settings.PROJECT_VERSION_COALESCE_SECONDS = 0
    cast.owner.plan_type = plan
    cast.owner.save()
    for step in range(12):
        assert _patch(cast, {"develop": {"light": {"contrast": step + 1}}}).status_code == 200
    numbers = list(
        Project.objects.get(pk=cast.project.pk).versions.values_list("version_number", flat=True)
    )
    assert numbers == list(range(13, 13 - kept, -1))


def test_duplicate_copies_the_recipe_and_keeps_the_collaborator_in(cast: Cast) -> None:
    _patch(cast, {"develop": {"light": {"exposure": 1.5}}})
    response = cast.client("editor").post(f"/api/v1/projects/{cast.project.pk}/duplicate")
    body = response.json()
    assert body["owner"] == str(cast.owner.pk)
    assert body["edits"]["develop"]["light"]["exposure"] == 1.5
    assert body["version"] == 1
    assert body["role"] == "edit"


def test_the_list_is_searchable_and_newest_update_first(cast: Cast) -> None:
    from tests.factories import ProjectFactory

    ProjectFactory(owner=cast.owner, name="Beach sunset")
    ProjectFactory(owner=cast.owner, name="Mountain")
    _patch(cast, {"develop": {"light": {"exposure": 0.1}}})
    listed = cast.client("owner").get("/api/v1/projects").json()["results"]
    assert listed[0]["name"] == cast.project.name
    found = cast.client("owner").get("/api/v1/projects?search=SUNSET").json()["results"]
    assert [p["name"] for p in found] == ["Beach sunset"]
