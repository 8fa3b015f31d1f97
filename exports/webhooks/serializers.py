from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exports.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from exports.webhooks.services import EVENT_TYPES, URL_MAX_LENGTH, url_problem
from orlume_site.api.serializers import StrictSerializer


def _validate_url(value: str) -> str:
    problem = url_problem(value)
    if problem:
        raise serializers.ValidationError(problem[1], code=problem[0])
    return value


class EndpointCreateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH, trim_whitespace=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=20
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    enabled = serializers.BooleanField(required=False, default=True)

    def validate_url(self, value: str) -> str:
        return _validate_url(value)


class EndpointUpdateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH, required=False, trim_whitespace=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        min_length=1,
        max_length=20,
        required=False,
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)

    def validate_url(self, value: str) -> str:
        return _validate_url(value)


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.CharField())
    secret_rotation_ends_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "enabled",
            "disabled_reason",
            "secret_rotation_ends_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_secret_rotation_ends_at(self, endpoint: WebhookEndpoint) -> str | None:
        """When the previous secret stops signing; null when no rotation is under way."""
        expires = endpoint.previous_secret_expires_at
        if not endpoint.previous_secret or expires is None:
            return None
        return serializers.DateTimeField().to_representation(expires)


class EndpointWithSecretSerializer(EndpointSerializer):
    """Only in the answers to creation and rotation: the secret is shown once."""

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "response_status",
            "response_body",
            "error",
            "outcome",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    payload = serializers.SerializerMethodField()
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "message_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "completed_at",
            "replay_of",
            "created_at",
            "payload",
            "attempts",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.JSONField())
    def get_payload(self, delivery: WebhookDelivery) -> Any:
        return json.loads(delivery.body)
