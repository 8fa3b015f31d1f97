from __future__ import annotations

from typing import Any

from rest_framework import serializers

from exports import limits, services
from exports.models import Batch, Export
from orlume_site.api.serializers import StrictSerializer


class ExportOptionsSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=limits.FORMATS, default="jpeg")
    quality = serializers.IntegerField(min_value=1, max_value=100, default=90)
    bit_depth = serializers.ChoiceField(choices=[8, 16, 32], default=8)
    profile = serializers.ChoiceField(choices=services.PROFILES, default="srgb")
    metadata_policy = serializers.ChoiceField(
        choices=services.METADATA_POLICIES, default="copyright_and_camera"
    )
    width = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    height = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    long_edge = serializers.IntegerField(min_value=1, max_value=65535, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("long_edge") and (attrs.get("width") or attrs.get("height")):
            raise serializers.ValidationError(
                {"long_edge": ["Give long_edge, or width and/or height, not both."]}
            )
        return attrs


class ExportCreateSerializer(ExportOptionsSerializer):
    project_id = serializers.UUIDField()


class ExportSerializer(serializers.ModelSerializer[Export]):
    project_id = serializers.UUIDField(read_only=True)
    batch_id = serializers.UUIDField(read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "project_id",
            "batch_id",
            "status",
            "stage",
            "progress",
            "failure_code",
            "failure_reason",
            "format",
            "quality",
            "bit_depth",
            "profile",
            "metadata_policy",
            "requested_width",
            "requested_height",
            "requested_long_edge",
            "width",
            "height",
            "watermark",
            "project_version",
            "output_size",
            "attempts",
            "max_attempts",
            "created_at",
            "started_at",
            "completed_at",
            "timings",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, export: Export) -> str | None:
        if export.status != Export.Status.COMPLETE:
            return None
        return f"/api/v1/exports/{export.pk}/download"


class BatchCreateSerializer(StrictSerializer):
    project_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)
    recipe = serializers.JSONField(required=False)
    preset_id = serializers.UUIDField(required=False)
    options = ExportOptionsSerializer(required=False)


class BatchItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    project_id = serializers.UUIDField()
    export = ExportSerializer(allow_null=True)
    error_code = serializers.CharField()
    error_reason = serializers.CharField()


class BatchSerializer(serializers.ModelSerializer[Batch]):
    progress = serializers.SerializerMethodField()
    items = BatchItemSerializer(many=True, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = [
            "id",
            "status",
            "total",
            "progress",
            "items",
            "zip_size",
            "failure_reason",
            "created_at",
            "completed_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_progress(self, batch: Batch) -> dict[str, Any]:
        return services.batch_progress(batch)

    def get_download_url(self, batch: Batch) -> str | None:
        if batch.status != Batch.Status.COMPLETE or not batch.zip_key:
            return None
        return f"/api/v1/batches/{batch.pk}/download"


class BatchSummarySerializer(BatchSerializer):
    class Meta(BatchSerializer.Meta):
        fields = [f for f in BatchSerializer.Meta.fields if f != "items"]
