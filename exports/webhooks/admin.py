from __future__ import annotations

from django.contrib import admin

from exports.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["url", "user", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled", "disabled_reason"]
    search_fields = ["url", "user__email"]
    # Secrets never appear in the admin.
    fields = ["user", "url", "description", "events", "enabled", "disabled_reason"]
    readonly_fields = ["user"]


class WebhookAttemptInline(admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "started_at",
        "duration_ms",
        "response_status",
        "response_body",
        "error",
        "outcome",
    ]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ["event_type", "endpoint", "status", "attempt_count", "next_attempt_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["message_id"]
    readonly_fields = [
        "endpoint",
        "message_id",
        "event_type",
        "project_id",
        "body",
        "status",
        "attempt_count",
        "next_attempt_at",
        "claimed_at",
        "completed_at",
        "replay_of",
    ]
    inlines = [WebhookAttemptInline]
