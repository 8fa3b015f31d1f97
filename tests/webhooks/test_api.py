"""The /api/v1/webhooks API: owner-only, secret shown once, validation, deliveries, replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from exports import events
from exports.webhooks import services
from exports.webhooks.models import WebhookDelivery, WebhookEndpoint

Client = Callable[[User], APIClient]
VALID = {"url": "https://hooks.example.com/orlume", "events": ["export.completed"]}


def create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", {**VALID, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_owner_creates_an_endpoint_and_sees_its_secret_only_once(
    user: User, client_for: Client
) -> None:
    client = client_for(user)
    created = create(client, description="CI")
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True

    listed = client.get("/api/v1/webhooks").json()["results"]
    detail = client.get(f"/api/v1/webhooks/{created['id']}").json()

    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in detail
    assert detail["events"] == ["export.completed"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "http://hooks.example.com/x"}, "insecure_url", "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "credentials_in_url", "url"),
        ({"url": "https://10.0.0.1/x"}, "refused_target", "url"),
        ({"url": "https://[::ffff:169.254.169.254]/x"}, "refused_target", "url"),
        ({"url": "https://localhost/x"}, "refused_target", "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2000}, "max_length", "url"),
        ({"events": ["export.deleted"]}, "invalid_choice", "events.0"),
        ({"events": []}, "min_length", "events"),
        ({"colour": "red"}, "unknown_field", "colour"),
    ],
)
def test_invalid_endpoints_are_refused_with_the_field_to_blame(
    user: User, client_for: Client, body: dict[str, Any], code: str, field: str
) -> None:
    response = client_for(user).post("/api/v1/webhooks", {**VALID, **body}, format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert not WebhookEndpoint.objects.exists()


def test_http_and_private_targets_are_accepted_for_on_premises_installs(
    user: User, client_for: Client, private_targets: None
) -> None:
    created = create(client_for(user), url="http://10.0.0.7:8080/hook")
    assert created["url"] == "http://10.0.0.7:8080/hook"


def test_a_user_has_at_most_the_configured_number_of_endpoints(
    user: User, client_for: Client, settings: Any
) -> None:
    settings.WEBHOOKS_MAX_ENDPOINTS_PER_USER = 2
    client = client_for(user)
    create(client)
    create(client)
    response = client.post("/api/v1/webhooks", VALID, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "too_many_endpoints")


def test_the_owner_disables_edits_and_deletes_an_endpoint(user: User, client_for: Client) -> None:
    client = client_for(user)
    endpoint_id = create(client)["id"]
    url = f"/api/v1/webhooks/{endpoint_id}"

    patched = client.patch(
        url, {"enabled": False, "events": ["batch.completed", "export.failed"]}, format="json"
    ).json()
    assert (patched["enabled"], patched["disabled_reason"]) == (False, "manual")
    assert patched["events"] == ["export.failed", "batch.completed"]
    assert client.patch(url, {"enabled": True}, format="json").json()["disabled_reason"] == ""

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_rotating_returns_a_new_secret_and_announces_the_grace(
    user: User, client_for: Client
) -> None:
    client = client_for(user)
    created = create(client)
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    assert rotated["secret_rotation_ends_at"] is not None
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.previous_secret == created["secret"]


def test_the_owner_sees_deliveries_with_attempts_and_replays_one(
    user: User, client_for: Client, receiver: Any, private_targets: None
) -> None:
    client = client_for(user)
    endpoint_id = create(client, url=receiver.url())["id"]
    events.emit("export.completed", user_id=user.pk, data={"export_id": "exp_1"})
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery.pk)

    page = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json()
    [shown] = page["results"]
    assert shown["status"] == "succeeded"
    assert shown["payload"]["data"] == {"export_id": "exp_1"}
    [attempt] = shown["attempts"]
    assert (attempt["number"], attempt["response_status"], attempt["outcome"]) == (
        1,
        200,
        "succeeded",
    )

    replay = client.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery.pk}/replay")
    assert replay.status_code == 202
    assert replay.json()["message_id"] == delivery.message_id
    assert replay.json()["replay_of"] == str(delivery.pk)
    # A replay still under way cannot be replayed again.
    again = client.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/{replay.json()['id']}/replay")
    assert (again.status_code, again.json()["code"]) == (409, "delivery_in_progress")


def test_the_test_button_queues_a_ping(user: User, client_for: Client) -> None:
    client = client_for(user)
    endpoint_id = create(client, events=["batch.completed"])["id"]
    response = client.post(f"/api/v1/webhooks/{endpoint_id}/test")
    assert response.status_code == 202
    assert response.json()["event_type"] == "ping"
    assert response.json()["payload"]["data"] == {"endpoint_id": endpoint_id}


def test_an_outsider_cannot_see_or_touch_anothers_endpoint(
    user: User, outsider: User, client_for: Client
) -> None:
    endpoint_id = create(client_for(user))["id"]
    events.emit("export.completed", user_id=user.pk, data={})
    delivery_id = WebhookDelivery.objects.get().pk
    stranger = client_for(outsider)
    base = f"/api/v1/webhooks/{endpoint_id}"

    answers = [
        stranger.get(base),
        stranger.patch(base, {"enabled": False}, format="json"),
        stranger.delete(base),
        stranger.post(f"{base}/rotate-secret"),
        stranger.post(f"{base}/test"),
        stranger.get(f"{base}/deliveries"),
        stranger.post(f"{base}/deliveries/{delivery_id}/replay"),
    ]

    assert [a.status_code for a in answers] == [404] * 7
    assert stranger.get("/api/v1/webhooks").json()["results"] == []
    assert WebhookEndpoint.objects.get().enabled is True
    assert APIClient().get("/api/v1/webhooks").status_code == 401
