"""Who may do what, endpoint by endpoint: owner, admin, editor, viewer, outsider.

Outsiders get 404 (they must not learn the project exists); known but too weak gets 403.
"""

from __future__ import annotations

from typing import Any

import pytest

from projects.models import Project
from tests.factories import PresetFactory, UserFactory
from tests.projects.conftest import Cast, send_raw

PRESET_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Contrast2012="+20"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _call(cast: Cast, role: str, action: str) -> Any:
    client = cast.client(role)
    base = f"/api/v1/projects/{cast.project.pk}"
    match_v: dict[str, Any] = {"HTTP_IF_MATCH": f'"{cast.project.version}"'}
    if action == "get":
        return client.get(base)
    if action == "put":
        body = {"name": "Renamed", "edits": {"develop": {"light": {"exposure": 1.0}}}}
        return client.put(base, body, format="json", **match_v)
    if action == "patch":
        return client.patch(
            base, {"edits": {"develop": {"light": {"contrast": 10}}}}, format="json", **match_v
        )
    if action == "make_public":
        return client.patch(base, {"is_public": True}, format="json", **match_v)
    if action == "delete":
        return client.delete(base)
    if action == "duplicate":
        return client.post(f"{base}/duplicate")
    if action == "versions":
        return client.get(f"{base}/versions")
    if action == "restore":
        return client.post(f"{base}/versions/1/restore")
    if action == "collaborators":
        return client.get(f"{base}/collaborators")
    if action == "invite":
        newcomer = UserFactory.create()
        return client.post(
            f"{base}/collaborators", {"email": newcomer.email, "permission": "view"}, format="json"
        )
    if action == "change_permission":
        return client.patch(
            f"{base}/collaborators/{cast.viewer.pk}", {"permission": "edit"}, format="json"
        )
    if action == "remove_collaborator":
        return client.delete(f"{base}/collaborators/{cast.editor.pk}")
    if action == "apply_preset":
        preset = PresetFactory.create(owner=getattr(cast, role))
        return client.post(f"{base}/apply-preset", {"preset_id": str(preset.pk)}, format="json")
    if action == "export_xmp":
        return client.get(f"{base}/xmp")
    if action == "import_xmp":
        return send_raw(
            client, "POST", f"{base}/xmp", PRESET_XMP, content_type="application/rdf+xml"
        )
    raise AssertionError(action)


#                        owner admin editor viewer outsider
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    "get": (200, 200, 200, 200, 404),
    "put": (200, 200, 200, 403, 404),
    "patch": (200, 200, 200, 403, 404),
    "make_public": (200, 200, 403, 403, 404),
    "delete": (204, 403, 403, 403, 404),
    "duplicate": (201, 201, 201, 403, 404),
    "versions": (200, 200, 200, 200, 404),
    "restore": (200, 200, 200, 403, 404),
    "collaborators": (200, 200, 200, 200, 404),
    "invite": (201, 201, 403, 403, 404),
    "change_permission": (200, 200, 403, 403, 404),
    "remove_collaborator": (204, 204, 204, 403, 404),  # the editor removes themselves (leaves)
    "apply_preset": (200, 200, 200, 403, 404),
    "export_xmp": (200, 200, 200, 200, 404),
    "import_xmp": (200, 200, 200, 403, 404),
}
ROLES = ("owner", "admin", "editor", "viewer", "outsider")


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_its_permission_allows(cast: Cast, role: str, action: str) -> None:
    expected = EXPECTED[action][ROLES.index(role)]
    before = Project.objects.get(pk=cast.project.pk)

    response = _call(cast, role, action)

    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if expected >= 400:
        body = response.json()
        assert body["code"] == ("not_found" if expected == 404 else "permission_denied")
        after = Project.objects.filter(pk=cast.project.pk).first()
        assert after is not None
        assert after.version == before.version  # refused writes write nothing
        assert after.edits_json == before.edits_json


def test_the_list_shows_owned_and_shared_projects_but_not_others(cast: Cast) -> None:
    for role in ("owner", "editor", "viewer"):
        names = [p["name"] for p in cast.client(role).get("/api/v1/projects").json()["results"]]
        assert names == [cast.project.name]
    assert cast.client("outsider").get("/api/v1/projects").json()["results"] == []


def test_a_public_project_is_readable_by_anyone_and_writable_by_no_stranger(cast: Cast) -> None:
    Project.objects.filter(pk=cast.project.pk).update(is_public=True)
    base = f"/api/v1/projects/{cast.project.pk}"
    from tests.projects.conftest import client_for

    assert client_for(None).get(base).status_code == 200
    assert cast.client("outsider").get(base).json()["role"] == "public"
    refused = cast.client("outsider").patch(
        base, {"name": "mine"}, format="json", HTTP_IF_MATCH=f'"{cast.project.version}"'
    )
    assert refused.status_code == 403
    assert client_for(None).delete(base).status_code == 401


def test_a_public_project_does_not_show_strangers_who_works_on_it(cast: Cast) -> None:
    """Public means anyone may read the photo and its recipe, not the collaborators' email
    addresses: those stay with the owner and the collaborators."""
    Project.objects.filter(pk=cast.project.pk).update(is_public=True)
    path = f"/api/v1/projects/{cast.project.pk}/collaborators"

    stranger = cast.client("outsider").get(path)

    assert stranger.status_code == 403
    assert cast.viewer.email not in stranger.content.decode()
    emails = {c["email"] for c in cast.client("viewer").get(path).json()["results"]}
    assert emails == {cast.admin.email, cast.editor.email, cast.viewer.email}
