"""Project reads and the permission rules every project endpoint (and collab) authorises with.

Roles, weakest first: public (anyone, read-only, when `is_public`), view, edit, admin, owner.
Someone with no role gets 404, never 403: they must not learn the project exists. Someone with
a role too weak for what they ask gets 403.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.db.models import Q, QuerySet

from accounts.models import User
from orlume_site.api.errors import APIError
from projects.models import Asset, Preset, Project, ProjectCollaborator, ProjectVersion, Upload

Need = Literal["view", "edit", "admin", "owner"]
Role = Literal["public", "view", "edit", "admin", "owner"]
_RANK: dict[str, int] = {"public": 1, "view": 1, "edit": 2, "admin": 3, "owner": 4}

AnyUser = Any  # User, AnonymousUser or None


def not_found() -> APIError:
    return APIError("not_found", "No such project.", status_code=404)


def project_role(user: AnyUser, project: Project) -> Role | None:
    if user is not None and user.is_authenticated:
        if project.owner_id == user.pk:
            return "owner"
        permission = (
            ProjectCollaborator.objects.filter(project=project, user_id=user.pk)
            .values_list("permission", flat=True)
            .first()
        )
        if permission:
            return permission  # type: ignore[return-value]
    return "public" if project.is_public else None


def project_for_user(
    user: AnyUser, project_id: uuid.UUID | str, need: Need = "view", *, for_update: bool = False
) -> Project:
    """The project if `user` may do what `need` names: 404 when they may not know it, 403
    when they know it but their role is too weak. `for_update` locks the row (inside atomic)."""
    try:
        pk = uuid.UUID(str(project_id))
    except ValueError:
        raise not_found() from None
    qs = Project.objects.select_related("original", "owner")
    if for_update:
        qs = Project.objects.select_for_update(of=("self",)).select_related("original", "owner")
    project = qs.filter(pk=pk).first()
    if project is None:
        raise not_found()
    role = project_role(user, project)
    if role is None:
        raise not_found()
    if _RANK[role] < _RANK[need]:
        raise APIError(
            "permission_denied", f"This needs {need} permission on the project.", status_code=403
        )
    project.role = role  # type: ignore[attr-defined]
    return project


def projects_visible_to(user: User, *, search: str = "") -> QuerySet[Project]:
    """Projects the user owns or collaborates on, optionally filtered by name."""
    qs = Project.objects.filter(Q(owner=user) | Q(collaborators__user=user)).distinct()
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.select_related("original", "owner")


def project_versions(project: Project) -> QuerySet[ProjectVersion]:
    return project.versions.select_related("created_by").order_by("-version_number")


def project_collaborators(project: Project) -> QuerySet[ProjectCollaborator]:
    return project.collaborators.select_related("user").order_by("invited_at")


def project_collaborators_for_user(
    user: AnyUser, project_id: uuid.UUID | str
) -> QuerySet[ProjectCollaborator]:
    """Who works on the project (with their email addresses): for the owner and collaborators
    only. A public project lets strangers read the photo, not the people (403)."""
    project = project_for_user(user, project_id, "view")
    if project.role == "public":  # type: ignore[attr-defined]
        raise APIError(
            "permission_denied",
            "Only the project's owner and collaborators see who works on it.",
            status_code=403,
        )
    return project_collaborators(project)


def asset_derived(asset: Asset | None, kind: str) -> Asset | None:
    if asset is None:
        return None
    return asset.derived.filter(kind=kind).order_by("-created_at").first()


def presets_for(user: User) -> QuerySet[Preset]:
    return Preset.objects.filter(owner=user)


def preset_for_user(user: User, preset_id: uuid.UUID | str) -> Preset:
    try:
        return Preset.objects.get(pk=uuid.UUID(str(preset_id)), owner=user)
    except (ValueError, Preset.DoesNotExist):
        raise APIError("not_found", "No such preset.", status_code=404) from None


def upload_for_user(user: User, *, key: str | None = None, upload_id: Any = None) -> Upload:
    qs = Upload.objects.filter(owner=user)
    try:
        upload = qs.get(key=key) if key is not None else qs.get(pk=uuid.UUID(str(upload_id)))
    except (ValueError, Upload.DoesNotExist):
        raise APIError("not_found", "No such upload.", status_code=404) from None
    return upload
