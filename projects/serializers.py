from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from orlume_site.api.serializers import StrictSerializer
from projects import selectors, storage
from projects.models import Asset, Permission, Preset, Project, ProjectCollaborator, ProjectVersion

_SHA256 = r"^[0-9a-fA-F]{64}$"


class UploadRequestSerializer(StrictSerializer):
    filename = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=1)
    sha256 = serializers.RegexField(_SHA256)


class PartSerializer(StrictSerializer):
    part_number = serializers.IntegerField(min_value=1, max_value=10_000)
    etag = serializers.CharField(max_length=200)


class UploadCompleteSerializer(StrictSerializer):
    parts = serializers.ListField(child=PartSerializer(), allow_empty=False, max_length=10_000)


class ProjectCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    upload_key = serializers.CharField(max_length=255)
    edits = serializers.JSONField(required=False)


class ProjectPutSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    edits = serializers.JSONField()
    is_public = serializers.BooleanField(required=False)


class ProjectPatchSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    edits = serializers.DictField(required=False)
    is_public = serializers.BooleanField(required=False)


class CollaboratorInviteSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    permission = serializers.ChoiceField(choices=Permission.choices)


class CollaboratorUpdateSerializer(StrictSerializer):
    permission = serializers.ChoiceField(choices=Permission.choices)


class PresetCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    settings = serializers.DictField()


class PresetApplySerializer(StrictSerializer):
    preset_id = serializers.UUIDField()


def _file(asset: Asset | None) -> dict[str, Any] | None:
    if asset is None:
        return None
    return {
        "id": str(asset.id),
        "url": storage.signed_url(asset.key, ttl=settings.ASSET_URL_TTL_SECONDS),
        "width": asset.width,
        "height": asset.height,
        "size": asset.size,
    }


class AssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Asset
        fields = [
            "id",
            "kind",
            "format",
            "mime_type",
            "width",
            "height",
            "bit_depth",
            "frames",
            "has_icc",
            "has_alpha",
            "has_depth",
            "exif",
            "size",
            "sha256",
            "processing",
        ]


class ProjectListSerializer(serializers.ModelSerializer):
    owner = serializers.UUIDField(source="owner_id", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "owner", "version", "is_public", "created_at", "updated_at"]


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.UUIDField(source="owner_id", read_only=True)
    edits = serializers.SerializerMethodField()
    original = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "owner",
            "role",
            "version",
            "is_public",
            "edits",
            "original",
            "files",
            "created_at",
            "updated_at",
        ]

    def get_edits(self, project: Project) -> dict[str, Any]:
        from projects import recipe

        return recipe.migrate(project.edits_json)

    def get_original(self, project: Project) -> dict[str, Any] | None:
        return AssetSerializer(project.original).data if project.original else None

    def get_role(self, project: Project) -> str | None:
        return getattr(project, "role", None)

    def get_files(self, project: Project) -> dict[str, Any]:
        """Short-lived signed links, made only for callers the view already authorised."""
        original = project.original
        return {
            "original": _file(original),
            "proxy": _file(selectors.asset_derived(original, Asset.Kind.PROXY)),
            "thumbnail": _file(selectors.asset_derived(original, Asset.Kind.THUMBNAIL)),
            "depth_map": _file(project.depth_map),
        }


class VersionSerializer(serializers.ModelSerializer):
    created_by = serializers.UUIDField(source="created_by_id", read_only=True)
    edits = serializers.JSONField(source="edits_json", read_only=True)

    class Meta:
        model = ProjectVersion
        fields = ["version_number", "created_at", "saved_at", "created_by", "edits"]


class CollaboratorSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = ProjectCollaborator
        fields = ["user_id", "email", "display_name", "permission", "invited_at"]


class PresetSerializer(serializers.ModelSerializer):
    settings = serializers.JSONField(source="settings_json", read_only=True)

    class Meta:
        model = Preset
        fields = ["id", "name", "settings", "created_at", "updated_at"]
