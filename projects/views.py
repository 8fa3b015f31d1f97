"""Project endpoints (roadmap Appendix A). Thin: parse, authorise through selectors, call a
service, shape the answer."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from orlume_site.api.errors import APIError
from orlume_site.api.errors import exception_handler as house_handler
from orlume_site.api.pagination import CreatedCursorPagination
from projects import recipe, selectors, services, storage, xmp
from projects import serializers as s


class SafeJSONParser(JSONParser):
    """JSON nested deeper than the decoder's recursion limit is a 400, not a crash."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document nests too deeply.") from None


def _handler(exc: Exception, context: dict[str, Any]) -> Response:
    response = house_handler(exc, context)
    if getattr(exc, "pointer", None) is not None and isinstance(response.data, dict):
        response.data["pointer"] = exc.pointer  # type: ignore[attr-defined]
    return response


class ReadOrAuthenticated(BasePermission):
    """Anyone may read (public projects); writes need an account."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS or bool(
            request.user and request.user.is_authenticated
        )


class Base(APIView):
    parser_classes = [SafeJSONParser]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return _handler


def _me(request: Request) -> User:
    """The caller, on views whose permission class already requires an account."""
    return cast(User, request.user)


def _parse(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _if_match(request: Request, *, required: bool) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        if required:
            raise APIError(
                "precondition_required",
                "Send If-Match with the project version your change is based on.",
                status_code=428,
            )
        return None
    raw = raw.strip()
    if raw == "*":
        return None
    raw = raw.removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise APIError("bad_if_match", "If-Match must name a project version.") from None


def _project_response(project: Any, request: Request, code: int = 200, **extra: Any) -> Response:
    if not hasattr(project, "role"):
        project = selectors.project_for_user(request.user, project.pk, "view")
    body = dict(s.ProjectSerializer(project).data)
    body.update(extra)
    return Response(body, status=code, headers={"ETag": f'"{project.version}"'})


# --- recipe schema ----------------------------------------------------------------------------------


class RecipeSchemaView(Base):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(recipe.json_schema())


# --- uploads ---------------------------------------------------------------------------------------


class UploadPresignView(Base):
    @extend_schema(request=s.UploadRequestSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = _parse(s.UploadRequestSerializer, request)
        body = services.upload_grant(user=_me(request), **data)
        return Response(body, status=status.HTTP_201_CREATED)


class UploadDetailView(Base):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, upload_id: str) -> Response:
        """Resume: fresh URLs for the parts not yet received."""
        return Response(services.upload_resume(user=_me(request), upload_id=upload_id))


class UploadCompleteView(Base):
    @extend_schema(request=s.UploadCompleteSerializer, responses={200: dict})
    def post(self, request: Request, upload_id: str) -> Response:
        data = _parse(s.UploadCompleteSerializer, request)
        upload = services.upload_complete(
            user=_me(request), upload_id=upload_id, parts=data["parts"]
        )
        return Response({"upload_id": str(upload.id), "key": upload.key, "size": upload.size})


class LocalUploadView(APIView):
    """Embedded default only: the signed URL a grant names, taking exactly the granted bytes.
    The signature is the authorisation; the body streams to disk in chunks."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    parser_classes: list[Any] = []

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return _handler

    @extend_schema(exclude=True)
    def put(self, request: Request, token: str) -> Response:
        if storage.is_s3():
            raise APIError("not_found", "Not found.", status_code=404)
        try:
            grant = storage.read_local_upload_token(token)
        except signing.BadSignature:
            raise APIError(
                "bad_signature", "This upload URL is invalid or expired.", status_code=403
            ) from None
        services.upload_check_open(str(grant["k"]), part="p" in grant)
        expected = int(grant["s"])
        try:
            length = int(request.META.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if length != expected:
            raise APIError(
                "size_mismatch",
                f"This URL takes exactly {expected} bytes (Content-Length).",
                status_code=400,
            )
        digest = hashlib.md5(usedforsecurity=False)
        with tempfile.TemporaryFile() as spool:
            remaining = expected
            while remaining > 0:
                chunk = request._request.read(min(1 << 20, remaining))
                if not chunk:
                    break
                spool.write(chunk)
                digest.update(chunk)
                remaining -= len(chunk)
            if remaining:
                raise APIError("size_mismatch", "The body ended before Content-Length bytes.")
            spool.seek(0)
            key = grant["k"] if "p" not in grant else storage.local_part_key(grant["k"], grant["p"])
            storage.save_exact(key, spool)
        return Response(status=status.HTTP_200_OK, headers={"ETag": f'"{digest.hexdigest()}"'})


# Keys are chosen by the server and every stored image passed the probe, so the extension is
# trustworthy for these types; anything else is served as opaque bytes (with nosniff).
_IMAGE_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "avif": "image/avif",
    "zip": "application/zip",
}


def _served_type(key: str) -> str:
    return _IMAGE_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")


class LocalFileView(APIView):
    """Embedded default only: serves one stored file behind a short-lived signed link."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, token: str) -> FileResponse:
        try:
            key = storage.read_download_token(token, ttl=settings.ASSET_URL_TTL_SECONDS)
        except signing.BadSignature:
            raise APIError(
                "bad_signature", "This link is invalid or expired.", status_code=403
            ) from None
        if storage.is_s3() or not default_storage.exists(key):
            raise APIError("not_found", "Not found.", status_code=404)
        return FileResponse(default_storage.open(key, "rb"), content_type=_served_type(key))


class StorageDeleteView(Base):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, key: str) -> Response:
        services.storage_delete(user=_me(request), key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- projects ---------------------------------------------------------------------------------------


class UpdatedCursorPagination(CreatedCursorPagination):
    ordering = "-updated_at"


class VersionPagination(CreatedCursorPagination):
    ordering = "-version_number"


class ProjectListView(Base):
    @extend_schema(
        parameters=[OpenApiParameter("search", str, description="part of the name")],
        responses={200: s.ProjectListSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        search = request.query_params.get("search", "")[:200]
        qs = selectors.projects_visible_to(_me(request), search=search)
        paginator = UpdatedCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ProjectListSerializer(page, many=True).data)

    @extend_schema(request=s.ProjectCreateSerializer, responses={201: s.ProjectSerializer})
    def post(self, request: Request) -> Response:
        data = _parse(s.ProjectCreateSerializer, request)
        project, deduplicated = services.project_create(user=_me(request), **data)
        return _project_response(project, request, 201, deduplicated=deduplicated)


class ProjectDetailView(Base):
    permission_classes = [ReadOrAuthenticated]

    @extend_schema(responses={200: s.ProjectSerializer})
    def get(self, request: Request, project_id: str) -> Response:
        return _project_response(selectors.project_for_user(request.user, project_id), request)

    @extend_schema(request=s.ProjectPutSerializer, responses={200: s.ProjectSerializer})
    def put(self, request: Request, project_id: str) -> Response:
        expected = _if_match(request, required=True)
        data = _parse(s.ProjectPutSerializer, request)
        project = services.project_save(
            user=_me(request),
            project_id=project_id,
            expected_version=expected,
            edits=data["edits"],
            name=data["name"],
            is_public=data.get("is_public"),
        )
        return _project_response(project, request)

    @extend_schema(request=s.ProjectPatchSerializer, responses={200: s.ProjectSerializer})
    def patch(self, request: Request, project_id: str) -> Response:
        expected = _if_match(request, required=True)
        data = _parse(s.ProjectPatchSerializer, request)
        rest = {"name": data.get("name"), "is_public": data.get("is_public")}
        if "edits" in data:
            project = services.project_patch_recipe(
                user=_me(request),
                project_id=project_id,
                expected_version=expected,
                patch=data["edits"],
                **rest,
            )
        else:
            project = services.project_save(
                user=_me(request), project_id=project_id, expected_version=expected, **rest
            )
        return _project_response(project, request)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        services.project_delete(user=_me(request), project_id=project_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectDuplicateView(Base):
    @extend_schema(request=None, responses={201: s.ProjectSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        copy = services.project_duplicate(user=_me(request), project_id=project_id)
        return _project_response(copy, request, 201)


class ProjectVersionsView(Base):
    permission_classes = [ReadOrAuthenticated]

    @extend_schema(responses={200: s.VersionSerializer(many=True)})
    def get(self, request: Request, project_id: str) -> Response:
        project = selectors.project_for_user(request.user, project_id, "view")
        paginator = VersionPagination()
        page = paginator.paginate_queryset(selectors.project_versions(project), request, view=self)
        return paginator.get_paginated_response(s.VersionSerializer(page, many=True).data)


class ProjectRestoreView(Base):
    @extend_schema(request=None, responses={200: s.ProjectSerializer})
    def post(self, request: Request, project_id: str, version_number: int) -> Response:
        project = services.project_restore(
            user=_me(request),
            project_id=project_id,
            version_number=version_number,
            expected_version=_if_match(request, required=False),
        )
        return _project_response(project, request)


# --- collaborators ----------------------------------------------------------------------------------


class CollaboratorsView(Base):
    @extend_schema(responses={200: s.CollaboratorSerializer(many=True)})
    def get(self, request: Request, project_id: str) -> Response:
        rows = selectors.project_collaborators_for_user(request.user, project_id)
        return Response({"results": s.CollaboratorSerializer(rows, many=True).data})

    @extend_schema(
        request=s.CollaboratorInviteSerializer, responses={201: s.CollaboratorSerializer}
    )
    def post(self, request: Request, project_id: str) -> Response:
        data = _parse(s.CollaboratorInviteSerializer, request)
        row = services.collaborator_invite(user=_me(request), project_id=project_id, **data)
        return Response(s.CollaboratorSerializer(row).data, status=status.HTTP_201_CREATED)


class CollaboratorDetailView(Base):
    @extend_schema(
        request=s.CollaboratorUpdateSerializer, responses={200: s.CollaboratorSerializer}
    )
    def patch(self, request: Request, project_id: str, user_id: str) -> Response:
        data = _parse(s.CollaboratorUpdateSerializer, request)
        row = services.collaborator_update(
            user=_me(request), project_id=project_id, user_id=user_id, **data
        )
        return Response(s.CollaboratorSerializer(row).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str, user_id: str) -> Response:
        services.collaborator_remove(user=_me(request), project_id=project_id, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- presets and XMP --------------------------------------------------------------------------------


def _xmp_response(data: bytes, name: str) -> HttpResponse:
    safe = "".join(c for c in name if c.isalnum() or c in " -_")[:80].strip() or "preset"
    response = HttpResponse(data, content_type="application/rdf+xml")
    response["Content-Disposition"] = f'attachment; filename="{safe}.xmp"'
    return response


class PresetsView(Base):
    @extend_schema(responses={200: s.PresetSerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(selectors.presets_for(_me(request)), request, view=self)
        return paginator.get_paginated_response(s.PresetSerializer(page, many=True).data)

    @extend_schema(request=s.PresetCreateSerializer, responses={201: s.PresetSerializer})
    def post(self, request: Request) -> Response:
        data = _parse(s.PresetCreateSerializer, request)
        preset = services.preset_create(
            user=_me(request), name=data["name"], settings_json=data["settings"]
        )
        return Response(s.PresetSerializer(preset).data, status=status.HTTP_201_CREATED)


class PresetDetailView(Base):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, preset_id: str) -> Response:
        services.preset_delete(user=_me(request), preset_id=preset_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PresetXmpView(Base):
    @extend_schema(responses={(200, "application/rdf+xml"): bytes})
    def get(self, request: Request, preset_id: str) -> HttpResponse:
        preset = selectors.preset_for_user(_me(request), preset_id)
        edits = recipe.deep_merge(recipe.default(), preset.settings_json)
        return _xmp_response(xmp.export_xmp(edits, name=preset.name), preset.name)


class PresetImportView(Base):
    parser_classes: list[Any] = []

    @extend_schema(
        request={"application/rdf+xml": bytes},
        parameters=[OpenApiParameter("name", str)],
        responses={201: dict},
    )
    def post(self, request: Request) -> Response:
        preset, unmapped = services.preset_import_xmp(
            user=_me(request), name=request.query_params.get("name", "")[:200], data=request.body
        )
        return Response(
            {"preset": s.PresetSerializer(preset).data, "unmapped": unmapped},
            status=status.HTTP_201_CREATED,
        )


class ProjectApplyPresetView(Base):
    @extend_schema(request=s.PresetApplySerializer, responses={200: s.ProjectSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        data = _parse(s.PresetApplySerializer, request)
        project = services.preset_apply(
            user=_me(request),
            project_id=project_id,
            preset_id=data["preset_id"],
            expected_version=_if_match(request, required=False),
        )
        return _project_response(project, request)


class ProjectXmpView(Base):
    parser_classes: list[Any] = []

    @extend_schema(responses={(200, "application/rdf+xml"): bytes})
    def get(self, request: Request, project_id: str) -> HttpResponse:
        project = selectors.project_for_user(request.user, project_id, "view")
        return _xmp_response(xmp.export_xmp(project.edits_json, name=project.name), project.name)

    @extend_schema(request={"application/rdf+xml": bytes}, responses={200: s.ProjectSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        project, unmapped = services.project_import_xmp(
            user=_me(request),
            project_id=project_id,
            data=request.body,
            expected_version=_if_match(request, required=False),
        )
        return _project_response(project, request, unmapped=unmapped)
