"""Project writes: uploads and quota, projects and their history, collaborators, presets.

Every write that can fail for a reason the caller controls raises APIError before anything is
written, or inside one transaction, so nothing is left half-done. Storage objects are removed
only after the transaction that stopped referencing them commits.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import Plan, User, normalize_email
from orlume_site.api.errors import APIError
from orlume_site.broker import INTERACTIVE_QUEUE
from orlume_site.jobs import enqueue_on_commit
from projects import probing, recipe, storage, xmp
from projects.models import (
    Asset,
    Permission,
    Preset,
    Project,
    ProjectCollaborator,
    ProjectVersion,
    Upload,
)
from projects.selectors import Need, preset_for_user, project_for_user, upload_for_user
from projects.signals import project_access_changed, project_recipe_changed

# History kept per project, by the owner's plan (None: unlimited). Oldest versions go first.
VERSION_LIMITS: dict[str, int | None] = {
    Plan.FREE: 10,
    Plan.PRO: 100,
    Plan.TEAM: 1000,
    Plan.ENTERPRISE: None,
}
MAX_PARTS = 10_000


def _access_changed_on_commit(project_id: Any) -> None:
    """Open rooms re-check every member's role once the change commits."""
    transaction.on_commit(lambda: project_access_changed.send(Project, project_id=project_id))


def recipe_error(exc: recipe.RecipeError, base: str = "edits") -> APIError:
    """A recipe problem as the API's error shape: dotted field path plus the JSON pointer."""
    err = APIError(exc.code, exc.detail, field=".".join([base, *map(str, exc.loc)]))
    err.pointer = exc.pointer  # type: ignore[attr-defined]
    return err


def validate_recipe(edits: Any, *, base: str = "edits") -> dict[str, Any]:
    try:
        return recipe.dump(recipe.parse(edits))
    except recipe.RecipeError as exc:
        raise recipe_error(exc, base) from None


# --- uploads and quota ----------------------------------------------------------------------------


def _reserved(user: User, *, excluding: uuid.UUID | None = None) -> int:
    qs = Upload.objects.filter(
        owner=user, status=Upload.Status.PENDING, expires_at__gt=timezone.now()
    )
    if excluding:
        qs = qs.exclude(pk=excluding)
    return int(qs.aggregate(total=Sum("size"))["total"] or 0)


def _quota_error(size: int, user: User) -> APIError:
    return APIError(
        "quota_exceeded",
        f"{size} more bytes would pass your storage limit of {user.storage_limit} bytes.",
        status_code=413,
        field="size",
    )


def _upload_descriptor(upload: Upload) -> dict[str, Any]:
    ttl = settings.UPLOAD_URL_TTL_SECONDS
    body: dict[str, Any] = {
        "upload_id": str(upload.id),
        "key": upload.key,
        "size": upload.size,
        "expires_at": (timezone.now() + timedelta(seconds=ttl)).isoformat(),
        "multipart": bool(upload.part_size),
    }
    if not upload.part_size:
        body.update(storage.presigned_post(key=upload.key, size=upload.size, ttl=ttl))
        return body
    done = {
        p.number: p
        for p in storage.multipart_parts(key=upload.key, multipart_id=upload.multipart_id)
    }
    count = math.ceil(upload.size / upload.part_size)
    parts = []
    for number in range(1, count + 1):
        part_bytes = min(upload.part_size, upload.size - (number - 1) * upload.part_size)
        entry: dict[str, Any] = {"part_number": number, "size": part_bytes}
        if number in done and done[number].size == part_bytes:
            entry["etag"] = done[number].etag
        else:
            entry["url"] = storage.multipart_part_url(
                key=upload.key,
                multipart_id=upload.multipart_id,
                part_number=number,
                part_bytes=part_bytes,
                ttl=ttl,
            )
        parts.append(entry)
    body.update(part_size=upload.part_size, parts=parts, method="PUT")
    return body


def upload_grant(*, user: User, filename: str, size: int, sha256: str) -> dict[str, Any]:
    """Grants one upload (or resumes the pending one for the same bytes) after the quota check."""
    if size > settings.UPLOAD_MAX_BYTES:
        raise APIError(
            "too_large",
            f"Files may be at most {settings.UPLOAD_MAX_BYTES} bytes.",
            status_code=413,
            field="size",
        )
    sha256 = sha256.lower()
    now = timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        pending = (
            Upload.objects.filter(
                owner=locked,
                sha256=sha256,
                size=size,
                status=Upload.Status.PENDING,
                expires_at__gt=now,
            )
            .order_by("-created_at")
            .first()
        )
        if pending is not None:  # resume: same bytes announced again
            if not pending.part_size:
                pending.expires_at = now + timedelta(seconds=settings.UPLOAD_URL_TTL_SECONDS)
                pending.save(update_fields=["expires_at"])
            return _upload_descriptor(pending)
        if locked.storage_used + _reserved(locked) + size > locked.storage_limit:
            raise _quota_error(size, locked)
        multipart = size > settings.UPLOAD_MULTIPART_THRESHOLD_BYTES
        part_size = 0
        if multipart:
            part_size = max(settings.UPLOAD_PART_SIZE_BYTES, math.ceil(size / MAX_PARTS))
        ttl = (
            settings.UPLOAD_MULTIPART_TTL_SECONDS if multipart else settings.UPLOAD_URL_TTL_SECONDS
        )
        key = f"uploads/{locked.pk}/{uuid.uuid4().hex}"
        upload = Upload.objects.create(
            owner=locked,
            key=key,
            filename=filename,
            size=size,
            sha256=sha256,
            part_size=part_size,
            multipart_id=storage.multipart_start(key=key) if multipart else "",
            expires_at=now + timedelta(seconds=ttl),
        )
        return _upload_descriptor(upload)


def upload_resume(*, user: User, upload_id: Any) -> dict[str, Any]:
    upload = upload_for_user(user, upload_id=upload_id)
    if upload.status != Upload.Status.PENDING or upload.expires_at <= timezone.now():
        raise APIError("upload_closed", "This upload is finished or expired.", status_code=409)
    return _upload_descriptor(upload)


def upload_complete(*, user: User, upload_id: Any, parts: list[dict[str, Any]]) -> Upload:
    """Joins the parts of a multipart upload into the object."""
    upload = upload_for_user(user, upload_id=upload_id)
    if not upload.part_size or upload.status != Upload.Status.PENDING:
        raise APIError(
            "not_multipart", "This upload is not an open multipart upload.", status_code=409
        )
    count = math.ceil(upload.size / upload.part_size)
    numbers = [p["part_number"] for p in parts]
    if numbers != list(range(1, count + 1)):
        raise APIError(
            "parts_incomplete", f"Name parts 1..{count} in order, each once.", field="parts"
        )
    have = {
        p.number: p
        for p in storage.multipart_parts(key=upload.key, multipart_id=upload.multipart_id)
    }
    for index, part in enumerate(parts):
        got = have.get(part["part_number"])
        if got is None or got.etag != part["etag"].strip('"'):
            raise APIError(
                "part_missing",
                f"Part {part['part_number']} was not received with that ETag.",
                field=f"parts.{index}",
            )
    storage.multipart_complete(
        key=upload.key,
        multipart_id=upload.multipart_id,
        parts=[(p["part_number"], p["etag"].strip('"')) for p in parts],
    )
    if storage.object_size(upload.key) != upload.size:
        storage.delete(upload.key)
        raise APIError("size_mismatch", "The joined parts do not have the announced size.")
    return upload


def upload_check_open(key: str, *, part: bool = False) -> None:
    """A signed upload URL (local storage) outlives what it was granted for: it takes bytes only
    while its upload is still pending. Otherwise a second PUT could swap verified bytes for
    unprobed ones under a project, or store bytes for a deleted upload that no quota counts.
    A part URL also closes once its parts were joined (the object exists): a late part would
    be a leftover file no quota counts."""
    open_upload = Upload.objects.filter(
        key=key, status=Upload.Status.PENDING, expires_at__gt=timezone.now()
    ).exists()
    if not open_upload or (part and storage.object_size(key) is not None):
        raise APIError(
            "upload_closed", "This upload is finished, deleted or expired.", status_code=409
        )


def storage_delete(*, user: User, key: str) -> None:
    """Removes an upload nobody uses yet, releasing its reservation."""
    upload = upload_for_user(user, key=key)
    if upload.status == Upload.Status.COMPLETE:
        raise APIError(
            "in_use", "This file belongs to a project; delete the project instead.", status_code=409
        )
    with transaction.atomic():
        Upload.objects.filter(pk=upload.pk).delete()
        transaction.on_commit(lambda: _remove_upload_bytes(upload.key, upload.multipart_id))


def _remove_upload_bytes(key: str, multipart_id: str) -> None:
    if multipart_id:
        storage.multipart_abort(key=key, multipart_id=multipart_id)
    storage.delete(key)


def _verify_upload(upload: Upload) -> probing.ProbeResult:
    """Checks the bytes at the key are what was announced and an image we accept.
    Refused bytes are deleted (the grant stays, so the client may upload again)."""
    size = storage.object_size(upload.key)
    if size is None:
        raise APIError(
            "upload_missing", "Nothing was uploaded for this key yet.", field="upload_key"
        )
    if size != upload.size:
        storage.delete(upload.key)
        raise APIError(
            "size_mismatch",
            f"The upload has {size} bytes, not the {upload.size} announced.",
            field="upload_key",
        )
    spooled, read, digest = storage.spool(upload.key, limit=upload.size)
    try:
        if read != upload.size or digest != upload.sha256:
            storage.delete(upload.key)
            raise APIError(
                "checksum_mismatch",
                "The uploaded bytes do not match the announced SHA-256.",
                field="upload_key",
            )
        try:
            return probing.probe(spooled)
        except probing.ProbeError as exc:
            storage.delete(upload.key)
            raise APIError(
                exc.code, exc.detail, status_code=exc.status, field="upload_key"
            ) from exc
    finally:
        spooled.close()


def _asset_from_upload(user: User, upload: Upload) -> tuple[Asset, bool]:
    """The original asset for an upload (inside a transaction): (asset, deduplicated)."""
    if upload.status == Upload.Status.COMPLETE and upload.asset_id:
        return Asset.objects.get(pk=upload.asset_id), True
    existing = Asset.objects.filter(
        owner=user, kind=Asset.Kind.ORIGINAL, sha256=upload.sha256
    ).first()
    if existing is not None:
        return existing, True
    info = _verify_upload(upload)
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.storage_used + upload.size > locked.storage_limit:
        raise _quota_error(upload.size, locked)
    asset = Asset.objects.create(
        owner=locked,
        kind=Asset.Kind.ORIGINAL,
        key=upload.key,
        size=upload.size,
        sha256=upload.sha256,
        format=info.format,
        mime_type=info.mime_type,
        width=info.width,
        height=info.height,
        bit_depth=info.bit_depth,
        frames=info.frames,
        has_icc=info.has_icc,
        has_alpha=info.has_alpha,
        has_depth=info.has_depth,
        exif=info.exif,
        processing=Asset.Processing.PENDING,
    )
    User.objects.filter(pk=locked.pk).update(storage_used=F("storage_used") + upload.size)
    enqueue_on_commit("asset_process", str(asset.id), queue=INTERACTIVE_QUEUE)
    return asset, False


def project_create(
    *, user: User, name: str, upload_key: str, edits: dict[str, Any] | None = None
) -> tuple[Project, bool]:
    """A project from an upload: verified, probed, deduplicated, charged. (project, deduped)."""
    clean = validate_recipe(edits if edits is not None else {"schema_version": 2})
    upload = upload_for_user(user, key=upload_key)
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        asset, deduplicated = _asset_from_upload(user, upload)
        if upload.status == Upload.Status.PENDING:
            if deduplicated:  # the bytes are already stored once; these are not needed
                key = upload.key
                transaction.on_commit(lambda: storage.delete(key))
            upload.status = Upload.Status.COMPLETE
            upload.asset = asset
            upload.completed_at = timezone.now()
            upload.save(update_fields=["status", "asset", "completed_at"])
        project = Project.objects.create(owner=user, name=name, original=asset, edits_json=clean)
        project_version_record(project, user, coalesce=False)
    return project, deduplicated


# --- saving the recipe ------------------------------------------------------------------------------


def _precondition_failed(project: Project) -> APIError:
    return APIError(
        "precondition_failed",
        f"The project is at version {project.version}; reload it and apply your change again.",
        status_code=412,
        headers={"ETag": f'"{project.version}"'},
    )


def project_version_record(
    project: Project,
    user: User | None,
    *,
    coalesce: bool = True,
    version: int | None = None,
    edits: dict[str, Any] | None = None,
) -> None:
    """Records the project's current recipe and version as a ProjectVersion (folded into the
    same user's latest one within PROJECT_VERSION_COALESCE_SECONDS when `coalesce`), pruned to
    the owner's plan. For apps that write recipes themselves (collab's room snapshots); call it
    inside the transaction that holds the project row, or give the committed state to record
    as `version` and `edits` (a room snapshot recorded after its write committed, without the
    lock; a concurrent record of the same number then fails on the unique constraint)."""
    number = project.version if version is None else version
    state = project.edits_json if edits is None else edits
    now = timezone.now()
    latest = project.versions.order_by("-version_number").first()
    window = timedelta(seconds=settings.PROJECT_VERSION_COALESCE_SECONDS)
    if (
        coalesce
        and latest is not None
        and latest.version_number > 1  # the first version (as created) is never folded away
        and user is not None
        and latest.created_by_id == user.pk
        and now - latest.saved_at < window
    ):
        latest.version_number = number
        latest.edits_json = state
        latest.saved_at = now
        latest.save(update_fields=["version_number", "edits_json", "saved_at"])
    else:
        ProjectVersion.objects.create(
            project=project,
            version_number=number,
            edits_json=state,
            created_by=user,
            saved_at=now,
        )
    limit = VERSION_LIMITS.get(project.owner.plan_type, 10)
    if limit is not None:
        stale = list(
            project.versions.order_by("-version_number").values_list("pk", flat=True)[limit:]
        )
        if stale:
            ProjectVersion.objects.filter(pk__in=stale).delete()


def project_save(
    *,
    user: User,
    project_id: Any,
    expected_version: int | None,
    edits: dict[str, Any] | None = None,
    name: str | None = None,
    is_public: bool | None = None,
) -> Project:
    """Validates and saves a new recipe (and/or name, visibility) with a version bump.

    `expected_version` (from If-Match) must be the current version or nothing is written (412).
    Collaboration reuses this for every applied operation batch.
    """
    clean = validate_recipe(edits) if edits is not None else None
    need: Need = "admin" if is_public is not None else "edit"
    with transaction.atomic():
        project = project_for_user(user, project_id, need, for_update=True)
        if expected_version is not None and expected_version != project.version:
            raise _precondition_failed(project)
        recipe_changed = clean is not None and clean != recipe.migrate(project.edits_json)
        fields = ["updated_at"]
        if name is not None and name != project.name:
            project.name = name
            fields.append("name")
        if is_public is not None and is_public != project.is_public:
            project.is_public = is_public
            fields.append("is_public")
            _access_changed_on_commit(project.pk)
        if recipe_changed:
            project.edits_json = clean
            fields.append("edits_json")
        if len(fields) == 1:
            return project  # nothing changed: no new version
        project.version += 1
        project.save(update_fields=[*fields, "version"])
        if recipe_changed:
            project_version_record(project, user)
            pk, version = project.pk, project.version
            transaction.on_commit(
                lambda: project_recipe_changed.send(Project, project_id=pk, version=version)
            )
    return project


def project_patch_recipe(
    *, user: User, project_id: Any, expected_version: int | None, patch: dict[str, Any], **rest: Any
) -> Project:
    """PATCH: merges part of a recipe onto the current one, then saves like PUT."""
    project = project_for_user(user, project_id, "edit")
    try:
        current = recipe.migrate(project.edits_json)
    except recipe.RecipeError as exc:  # pragma: no cover - stored recipes are valid
        raise recipe_error(exc) from None
    merged = recipe.deep_merge(current, patch)
    return project_save(
        user=user, project_id=project_id, expected_version=expected_version, edits=merged, **rest
    )


def project_restore(
    *, user: User, project_id: Any, version_number: int, expected_version: int | None = None
) -> Project:
    project = project_for_user(user, project_id, "edit")
    version = project.versions.filter(version_number=version_number).first()
    if version is None:
        raise APIError("not_found", "No such version (it may have been pruned).", status_code=404)
    return project_save(
        user=user,
        project_id=project.pk,
        expected_version=expected_version,
        edits=recipe.migrate(version.edits_json),
    )


def project_duplicate(*, user: User, project_id: Any) -> Project:
    """A copy beside the original, owned by the same owner; a collaborator who copies keeps
    their permission on the copy."""
    with transaction.atomic():
        source = project_for_user(user, project_id, "edit")
        copy = Project.objects.create(
            owner=source.owner,
            name=f"{source.name} (copy)"[:200],
            original=source.original,
            depth_map=source.depth_map,
            edits_json=recipe.migrate(source.edits_json),
        )
        role = source.role  # type: ignore[attr-defined]
        if role in (Permission.EDIT, Permission.ADMIN):
            ProjectCollaborator.objects.create(
                project=copy, user=user, permission=role, invited_by=user
            )
        project_version_record(copy, user, coalesce=False)
    return copy


def project_delete(*, user: User, project_id: Any) -> None:
    """Deletes a project; its files go after commit when no other project uses them, and their
    bytes stop counting against the owner's quota."""
    with transaction.atomic():
        project = project_for_user(user, project_id, "owner", for_update=True)
        original = project.original
        _access_changed_on_commit(project.pk)
        project.delete()
        if original is None or original.projects.exists():
            return
        doomed = [original, *original.derived.all()]
        keys = [a.key for a in doomed]
        Upload.objects.filter(asset=original).delete()
        User.objects.filter(pk=original.owner_id).update(
            storage_used=F("storage_used") - original.size
        )
        original.delete()  # derived assets cascade
        transaction.on_commit(lambda: _delete_keys(keys))


def _delete_keys(keys: list[str]) -> None:
    for key in keys:
        storage.delete(key)


# --- collaborators ----------------------------------------------------------------------------------


def collaborator_invite(
    *, user: User, project_id: Any, email: str, permission: str
) -> ProjectCollaborator:
    project = project_for_user(user, project_id, "admin")
    invitee = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if invitee is None:
        raise APIError(
            "user_not_found", "No account has this email.", status_code=404, field="email"
        )
    if invitee.pk == project.owner_id:
        raise APIError("is_owner", "The owner already has every permission.", field="email")
    try:
        with transaction.atomic():
            return ProjectCollaborator.objects.create(
                project=project, user=invitee, permission=permission, invited_by=user
            )
    except IntegrityError:
        raise APIError(
            "already_collaborator",
            "This person is already a collaborator.",
            status_code=409,
            field="email",
        ) from None


def _collaborator(project: Project, user_id: Any) -> ProjectCollaborator:
    try:
        return ProjectCollaborator.objects.select_related("user").get(
            project=project, user_id=uuid.UUID(str(user_id))
        )
    except (ValueError, ProjectCollaborator.DoesNotExist):
        raise APIError("not_found", "No such collaborator.", status_code=404) from None


def collaborator_update(
    *, user: User, project_id: Any, user_id: Any, permission: str
) -> ProjectCollaborator:
    project = project_for_user(user, project_id, "admin")
    collaborator = _collaborator(project, user_id)
    with transaction.atomic():
        collaborator.permission = permission
        collaborator.save(update_fields=["permission"])
        _access_changed_on_commit(project.pk)
    return collaborator


def collaborator_remove(*, user: User, project_id: Any, user_id: Any) -> None:
    """Admins remove anyone; every collaborator may remove themselves (leave)."""
    leaving = str(user_id) == str(user.pk)
    project = project_for_user(user, project_id, need="view" if leaving else "admin")
    with transaction.atomic():
        _collaborator(project, user_id).delete()
        _access_changed_on_commit(project.pk)


# --- presets and XMP --------------------------------------------------------------------------------


def preset_create(*, user: User, name: str, settings_json: dict[str, Any]) -> Preset:
    try:
        partial = recipe.parse_partial(settings_json)
    except recipe.RecipeError as exc:
        raise recipe_error(exc, "settings") from None
    try:
        with transaction.atomic():
            return Preset.objects.create(owner=user, name=name, settings_json=partial)
    except IntegrityError:
        raise APIError(
            "name_taken", "You already have a preset with this name.", status_code=409, field="name"
        ) from None


def preset_delete(*, user: User, preset_id: Any) -> None:
    preset_for_user(user, preset_id).delete()


def preset_apply(
    *, user: User, project_id: Any, preset_id: Any, expected_version: int | None = None
) -> Project:
    preset = preset_for_user(user, preset_id)
    return project_patch_recipe(
        user=user,
        project_id=project_id,
        expected_version=expected_version,
        patch=preset.settings_json,
    )


def _parse_xmp(data: bytes) -> xmp.XmpImport:
    try:
        return xmp.import_xmp(data)
    except xmp.XmpError as exc:
        status_code = 413 if exc.code == "too_large" else 400
        raise APIError(exc.code, exc.detail, status_code=status_code, field="xmp") from None


def preset_import_xmp(*, user: User, name: str, data: bytes) -> tuple[Preset, list[dict[str, str]]]:
    parsed = _parse_xmp(data)
    preset = preset_create(
        user=user, name=name or parsed.name or "Imported preset", settings_json=parsed.settings
    )
    return preset, parsed.unmapped


def project_import_xmp(
    *, user: User, project_id: Any, data: bytes, expected_version: int | None = None
) -> tuple[Project, list[dict[str, str]]]:
    project_for_user(user, project_id, "edit")
    parsed = _parse_xmp(data)
    project = project_patch_recipe(
        user=user, project_id=project_id, expected_version=expected_version, patch=parsed.settings
    )
    return project, parsed.unmapped
