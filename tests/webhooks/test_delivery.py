"""Deliveries to a real receiver on loopback, verified with the standardwebhooks library."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import User
from exports import events
from exports.webhooks import services
from exports.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import Receiver, Reply

pytestmark = pytest.mark.usefixtures("private_targets")

Status = WebhookDelivery.Status


def endpoint_for(
    user: User, receiver: Receiver, path: str = "/hook", **extra: Any
) -> WebhookEndpoint:
    return services.endpoint_create(
        user=user, url=receiver.url(path), events=extra.pop("events", ["export.completed"]), **extra
    )


def emit_completed(user: User, **data: Any) -> WebhookDelivery:
    events.emit(
        "export.completed",
        user_id=user.pk,
        project_id="prj_1",
        data={"export_id": "exp_1", **data},
    )
    return WebhookDelivery.objects.get(message_id__startswith="msg_", event_type="export.completed")


def test_a_delivery_arrives_signed_in_the_standard_webhooks_format(
    user: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(user, receiver)
    delivery = emit_completed(user)

    assert services.delivery_attempt(delivery.pk) == "succeeded"

    [hit] = receiver.hits()
    assert hit.headers["User-Agent"] == "Orlume-Webhooks/1"
    assert hit.headers["webhook-id"] == delivery.message_id
    payload = Webhook(endpoint.secret).verify(hit.body, hit.headers)
    assert payload["type"] == "export.completed"
    assert payload["data"] == {"export_id": "exp_1", "project_id": "prj_1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(services.signing.secret_generate()).verify(hit.body, hit.headers)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == (Status.SUCCEEDED, 1)
    [attempt] = delivery.attempts.all()
    assert (attempt.response_status, attempt.response_body, attempt.outcome) == (
        200,
        "ok",
        "succeeded",
    )


def test_only_the_owners_enabled_subscribed_endpoints_get_the_event(
    user: User, outsider: User, receiver: Receiver
) -> None:
    wanted = endpoint_for(user, receiver, "/wanted")
    endpoint_for(user, receiver, "/other-type", events=["export.failed"])
    endpoint_for(user, receiver, "/disabled", enabled=False)
    endpoint_for(outsider, receiver, "/outsider")

    events.emit("export.completed", user_id=user.pk, data={"export_id": "exp_1"})

    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [wanted.pk]


def test_5xx_is_retried_on_the_schedule_until_it_succeeds(
    user: User, receiver: Receiver, fast_retries: None
) -> None:
    endpoint_for(user, receiver)
    receiver.reply("/hook", Reply(status=500, body=b"boom"), Reply(status=503))
    delivery = emit_completed(user)

    outcomes = [services.delivery_attempt(delivery.pk) for _ in range(4)]

    assert outcomes == ["retry", "retry", "succeeded", "not_due"]
    assert [a.response_status for a in delivery.attempts.all()] == [500, 503, 200]
    assert len({hit.headers["webhook-id"] for hit in receiver.hits()}) == 1


def test_the_retry_schedule_spaces_attempts_and_then_gives_up(
    user: User, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [d.total_seconds() for d in services.RETRY_SCHEDULE] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        50400,
        72000,
        86400,
    ]
    endpoint_for(user, receiver)
    receiver.reply("/hook", *[Reply(status=502)] * 10)
    delivery = emit_completed(user)

    assert services.delivery_attempt(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > delivery.attempts.get().started_at + timedelta(seconds=4)
    assert services.delivery_attempt(delivery.pk) == "not_due"

    monkeypatch.setattr(services, "RETRY_SCHEDULE", (timedelta(0),) * 9)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    outcomes = [services.delivery_attempt(delivery.pk) for _ in range(10)]
    assert outcomes == ["retry"] * 8 + ["failed", "not_due"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == (Status.FAILED, 10)


def test_410_gone_disables_the_endpoint(user: User, receiver: Receiver) -> None:
    endpoint = endpoint_for(user, receiver)
    receiver.reply("/hook", Reply(status=410))
    delivery = emit_completed(user)

    assert services.delivery_attempt(delivery.pk) == "failed"

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "gone")
    events.emit("export.completed", user_id=user.pk, data={"export_id": "exp_2"})
    assert WebhookDelivery.objects.count() == 1


def test_a_redirect_is_not_followed_and_fails_the_delivery(user: User, receiver: Receiver) -> None:
    endpoint_for(user, receiver)
    receiver.reply("/hook", Reply(status=307, headers={"Location": receiver.url("/elsewhere")}))
    delivery = emit_completed(user)

    assert services.delivery_attempt(delivery.pk) == "failed"

    assert receiver.hits("/elsewhere") == []
    attempt = WebhookAttempt.objects.get()
    assert (attempt.response_status, attempt.error) == (307, "redirect_not_followed")


def test_a_huge_answer_is_stored_truncated_and_a_slow_one_times_out_into_a_retry(
    user: User, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    monkeypatch.setattr(services, "REQUEST_TIMEOUT_SECONDS", 0.5)
    endpoint_for(user, receiver)
    receiver.reply("/hook", Reply(drip=True), Reply(status=500, body=b"z" * 1_000_000))
    delivery = emit_completed(user)

    assert services.delivery_attempt(delivery.pk) == "retry"
    assert services.delivery_attempt(delivery.pk) == "retry"

    slow, huge = delivery.attempts.all()
    assert (slow.error, slow.response_status) == ("timeout", None)
    assert huge.response_body == "z" * services.RESPONSE_KEEP_CHARS


def test_a_target_the_guard_refuses_fails_without_retry(
    user: User, receiver: Receiver, settings: Any
) -> None:
    endpoint_for(user, receiver)
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    delivery = emit_completed(user)

    assert services.delivery_attempt(delivery.pk) == "failed"

    assert receiver.hits() == []
    assert WebhookAttempt.objects.get().error == "refused:loopback"


def test_during_a_rotation_both_secrets_sign_and_each_verifies(
    user: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(user, receiver)
    old_secret = endpoint.secret
    services.endpoint_rotate_secret(endpoint=endpoint)
    new_secret = endpoint.secret
    first = emit_completed(user)
    services.delivery_attempt(first.pk)

    [hit] = receiver.hits()
    signatures = hit.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(sig.startswith("v1,") for sig in signatures)
    for secret, signature in [(new_secret, signatures[0]), (old_secret, signatures[1])]:
        Webhook(secret).verify(hit.body, {**hit.headers, "webhook-signature": signature})

    # After the grace only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    events.emit("export.completed", user_id=user.pk, data={"export_id": "exp_2"})
    second = WebhookDelivery.objects.exclude(pk=first.pk).get()
    services.delivery_attempt(second.pk)
    last = receiver.hits()[-1]
    assert " " not in last.headers["webhook-signature"]
    Webhook(new_secret).verify(last.body, last.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(last.body, last.headers)


def test_a_replay_resends_the_same_message_with_its_id(user: User, receiver: Receiver) -> None:
    endpoint = endpoint_for(user, receiver)
    delivery = emit_completed(user)
    services.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()

    replay = services.delivery_replay(delivery=delivery)
    services.delivery_attempt(replay.pk)

    first, second = receiver.hits()
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    Webhook(endpoint.secret).verify(second.body, second.headers)
    assert replay.replay_of_id == delivery.pk


def test_a_second_message_for_the_same_attempt_sends_nothing(
    user: User, receiver: Receiver
) -> None:
    endpoint_for(user, receiver)
    delivery = emit_completed(user)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.DELIVERING, claimed_at=timezone.now(), attempt_count=1
    )

    assert services.delivery_attempt(delivery.pk) == "not_due"

    assert receiver.hits() == []


def test_payloads_over_20_kb_are_refused_at_emit(user: User, receiver: Receiver) -> None:
    endpoint_for(user, receiver)
    with pytest.raises(ValueError, match="over 20480"):
        events.emit("export.completed", user_id=user.pk, data={"blob": "x" * 21_000})
    assert not WebhookDelivery.objects.exists()


def test_sinks_get_every_event_after_commit_and_a_failing_sink_harms_no_one(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    seen: list[events.Event] = []

    def broken(event: events.Event) -> None:
        raise RuntimeError("room gone")

    events.register_sink(broken)
    events.register_sink(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            events.emit("export.progress", user_id=user.pk, project_id="prj_1", data={"pct": 40})
        assert seen == []  # not before the commit
        for callback in callbacks:
            callback()
    finally:
        events.unregister_sink(broken)
        events.unregister_sink(seen.append)
    [event] = seen
    assert (event.type, event.project_id, dict(event.data)) == (
        "export.progress",
        "prj_1",
        {"pct": 40, "project_id": "prj_1"},
    )
    assert not WebhookDelivery.objects.exists()  # progress is not a webhook event
