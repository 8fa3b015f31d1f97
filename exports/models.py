"""Export models. Webhook models live in exports/webhooks/models.py and are re-exported here."""

from exports.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]
