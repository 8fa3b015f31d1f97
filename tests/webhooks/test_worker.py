"""Delivery through a real Dramatiq worker (StubBroker in pass 1, Redis in pass 2) and the sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import User
from exports import events
from exports.webhooks import services
from exports.webhooks.models import WebhookDelivery
from orlume_site.broker import broker
from tests.webhooks.conftest import Receiver, Reply, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_targets"),
]


@pytest.fixture
def owner() -> User:
    return UserFactory.create()


def test_an_event_committed_by_an_export_reaches_the_receiver_through_the_worker(
    owner: User, receiver: Receiver, worker: Callable[[], None], fast_retries: None
) -> None:
    endpoint = services.endpoint_create(
        user=owner, url=receiver.url(), events=["export.failed", "batch.completed"]
    )
    receiver.reply("/hook", Reply(status=500))
    # The failing export first: on SQLite's shared-cache test database the main thread must not
    # write while the worker does, and this transaction leaves nothing for the worker.
    rolled_back = False
    try:
        with transaction.atomic():
            events.emit("export.failed", user_id=owner.pk, data={"export_id": "e_9"})
            raise RuntimeError("the export's transaction fails")
    except RuntimeError:
        rolled_back = True
    with transaction.atomic():
        events.emit("batch.completed", user_id=owner.pk, data={"batch_id": "b_1", "count": 3})

    worker()

    assert rolled_back
    delivery = WebhookDelivery.objects.get()  # none for the rolled-back event
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
    failed, succeeded = receiver.hits()
    assert failed.body == succeeded.body
    payload = Webhook(endpoint.secret).verify(succeeded.body, succeeded.headers)
    assert payload["data"] == {"batch_id": "b_1", "count": 3}


def test_the_sweep_resends_lost_messages_and_takes_back_claims_of_dead_workers(
    owner: User, receiver: Receiver, worker: Callable[[], None]
) -> None:
    endpoint = services.endpoint_create(user=owner, url=receiver.url(), events=["export.completed"])
    now = timezone.now()
    body = services.payload_body("export.completed", {"export_id": "e_1"}, now)
    # Rows written without their message: one lost in the broker, one held by a worker that died.
    lost = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_lost",
        event_type="export.completed",
        body=body,
        next_attempt_at=now - timedelta(minutes=1),
    )
    orphan = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_orphan",
        event_type="export.completed",
        body=body,
        status=WebhookDelivery.Status.DELIVERING,
        attempt_count=1,
        claimed_at=now - services.CLAIM_LEASE - timedelta(seconds=1),
        next_attempt_at=now,
    )
    not_due = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_later",
        event_type="export.completed",
        body=body,
        next_attempt_at=now + timedelta(hours=1),
    )

    assert services.webhook_deliveries_sweep() == 2
    worker()

    assert sorted(hit.headers["webhook-id"] for hit in receiver.hits()) == [
        "msg_lost",
        "msg_orphan",
    ]
    lost.refresh_from_db()
    orphan.refresh_from_db()
    not_due.refresh_from_db()
    assert (lost.status, orphan.status, not_due.status) == ("succeeded", "succeeded", "pending")
    assert [(a.number, a.error) for a in orphan.attempts.all()] == [(1, "worker_lost"), (2, "")]


@pytest.mark.services
def test_delivery_runs_through_the_redis_broker(
    owner: User, receiver: Receiver, worker: Callable[[], None]
) -> None:
    from dramatiq.brokers.redis import RedisBroker

    assert isinstance(broker, RedisBroker)
    endpoint = services.endpoint_create(user=owner, url=receiver.url(), events=["export.completed"])

    events.emit("export.completed", user_id=owner.pk, data={"export_id": "e_1"})
    worker()

    [hit] = receiver.hits()
    assert Webhook(endpoint.secret).verify(hit.body, hit.headers)["data"] == {"export_id": "e_1"}
    assert WebhookDelivery.objects.get().status == "succeeded"
