"""Webhook actors. Thin: the services own claiming, sending, recording and scheduling.

`webhook_deliver` is enqueued by name from exports.webhooks.services; its message is a hint
(the delivery row is the truth), so it never retries itself: the row's schedule does.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orlume_site.settings")

django.setup()

import dramatiq  # noqa: E402

from exports.webhooks import services  # noqa: E402


@dramatiq.actor(actor_name=services.DELIVER_ACTOR, queue_name=services.DELIVER_QUEUE, max_retries=0)
def webhook_deliver(delivery_id: str) -> None:
    services.delivery_attempt(delivery_id)


@dramatiq.actor(
    actor_name="webhook_deliveries_sweep", queue_name=services.DELIVER_QUEUE, max_retries=0
)
def webhook_deliveries_sweep() -> None:
    """The periodic sweeper's entry point (or call services.webhook_deliveries_sweep directly)."""
    services.webhook_deliveries_sweep()
