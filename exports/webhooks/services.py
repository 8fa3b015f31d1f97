"""Webhook writes: endpoints, deliveries, attempts, the sweep. Views and actors call these.

Delivery life cycle (the row is the truth, the Dramatiq message a hint):

    pending --claim (conditional UPDATE)--> delivering --> succeeded
                                                      \\-> pending (next_attempt_at = now + delay)
                                                      \\-> failed (not retryable, or schedule done)

A claim only succeeds on a pending row that is due, so two workers holding the same message never
send the same attempt. A worker that dies mid-attempt leaves the row `delivering`; the sweep puts
it back after CLAIM_LEASE, and re-sends the hint for due rows whose message was lost.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from exports.webhooks import signing
from exports.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from orlume_site import jobs, outbound
from orlume_site.api.errors import APIError
from orlume_site.broker import MAINTENANCE_QUEUE

logger = logging.getLogger("orlume.webhooks")

# Event types an endpoint can subscribe to. `ping` is only sent by the test button.
EVENT_TYPES = ("export.completed", "export.failed", "batch.completed")
PING_EVENT = "ping"

# Delay before each retry, after attempts 1, 2, ... (10 attempts in all, over about 3.2 days).
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_PAYLOAD_BYTES = 20 * 1024
REQUEST_TIMEOUT_SECONDS = 5.0
RESPONSE_READ_BYTES = 4096  # read at most this much of a receiver's answer
RESPONSE_KEEP_CHARS = 1024  # and keep this much of it on the attempt row
USER_AGENT = "Orlume-Webhooks/1"
ROTATION_GRACE = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=2)  # far above the request's total timeout
SWEEP_GRACE = timedelta(seconds=30)  # a due row's own message normally arrives within this
URL_MAX_LENGTH = 2000
DELIVER_ACTOR = "webhook_deliver"
DELIVER_QUEUE = MAINTENANCE_QUEUE


# --- endpoints ---------------------------------------------------------------------------------


def url_problem(url: str) -> tuple[str, str] | None:
    """Why `url` cannot be an endpoint, as (code, detail), or None. Names are resolved only when
    sending (the guard checks every address then); literal addresses are refused here already."""
    if len(url) > URL_MAX_LENGTH:
        return "url_too_long", f"URLs are at most {URL_MAX_LENGTH} characters."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "invalid_url", "URLs cannot contain spaces or control characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return "invalid_url", "This is not a valid URL."
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        return "insecure_url", "Webhook URLs must use https."
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "credentials_in_url", "Webhook URLs cannot contain credentials."
    host = parts.hostname
    if not host:
        return "invalid_url", "The URL names no host."
    if parts.fragment:
        return "invalid_url", "Webhook URLs cannot have a fragment."
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            return "refused_target", "Webhook URLs cannot point at this server."
        return None
    reason = outbound.refusal_reason(address)
    if reason is not None and not (allow_private and reason in outbound.PRIVATE_CLASSES):
        return "refused_target", f"Webhook URLs cannot point at {reason} addresses."
    return None


def _events_clean(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown or not events:
        raise APIError("invalid_events", f"Known events: {', '.join(EVENT_TYPES)}.", field="events")
    return [event for event in EVENT_TYPES if event in events]  # known order, no duplicates


def endpoint_create(
    *, user: User, url: str, events: list[str], description: str = "", enabled: bool = True
) -> WebhookEndpoint:
    """Creates an endpoint with a fresh secret (in `endpoint.secret`, to show once)."""
    problem = url_problem(url)
    if problem:
        raise APIError(*problem, field="url")
    events = _events_clean(events)
    with transaction.atomic():
        # The owner's row is the lock that keeps concurrent creations under the limit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        limit = settings.WEBHOOKS_MAX_ENDPOINTS_PER_USER
        if WebhookEndpoint.objects.filter(user=user).count() >= limit:
            raise APIError(
                "too_many_endpoints", f"At most {limit} webhook endpoints.", status_code=409
            )
        return WebhookEndpoint.objects.create(
            user=user,
            url=url,
            events=events,
            description=description,
            enabled=enabled,
            disabled_reason="" if enabled else WebhookEndpoint.DisabledReason.MANUAL,
            secret=signing.secret_generate(),
        )


def endpoint_update(*, endpoint: WebhookEndpoint, changes: Mapping[str, Any]) -> WebhookEndpoint:
    if "url" in changes:
        problem = url_problem(changes["url"])
        if problem:
            raise APIError(*problem, field="url")
        endpoint.url = changes["url"]
    if "events" in changes:
        endpoint.events = _events_clean(changes["events"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes:
        endpoint.enabled = bool(changes["enabled"])
        endpoint.disabled_reason = "" if endpoint.enabled else WebhookEndpoint.DisabledReason.MANUAL
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> WebhookEndpoint:
    """New secret; the current one keeps signing too for ROTATION_GRACE (older ones stop)."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_GRACE
    endpoint.secret = signing.secret_generate()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint


# --- deliveries --------------------------------------------------------------------------------


def payload_body(event_type: str, data: Mapping[str, Any], occurred_at: datetime) -> str:
    """The Standard Webhooks payload `{"type","timestamp","data"}` as compact JSON text."""
    payload = {
        "type": event_type,
        "timestamp": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    body = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    size = len(body.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{event_type} payload is {size} bytes, over {MAX_PAYLOAD_BYTES}")
    return body


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def deliveries_create_for_event(
    *,
    user_id: Any,
    event_type: str,
    project_id: str | None,
    data: Mapping[str, Any],
    occurred_at: datetime,
) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint of the user subscribed to `event_type`, enqueued after
    commit. Runs inside the caller's transaction, so no delivery exists for an event rolled back."""
    body = payload_body(event_type, data, occurred_at)
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(user_id=user_id, enabled=True)
        if event_type in endpoint.events
    ]
    if not endpoints:
        return []
    message_id = _message_id()
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    message_id=message_id,
                    event_type=event_type,
                    project_id=project_id or "",
                    body=body,
                    next_attempt_at=occurred_at,
                )
                for endpoint in endpoints
            ]
        )
        for delivery in deliveries:
            _enqueue_on_commit(delivery.pk)
    return deliveries


def delivery_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `ping` event to one endpoint, whatever it subscribes to (enabled endpoints only)."""
    if not endpoint.enabled:
        raise APIError("endpoint_disabled", "Enable the endpoint first.", status_code=409)
    now = timezone.now()
    body = payload_body(PING_EVENT, {"endpoint_id": str(endpoint.pk)}, now)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            message_id=_message_id(),
            event_type=PING_EVENT,
            body=body,
            next_attempt_at=now,
        )
        _enqueue_on_commit(delivery.pk)
    return delivery


def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends a finished delivery again as a new delivery with the same webhook-id and body."""
    if delivery.status not in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED):
        raise APIError(
            "delivery_in_progress", "This delivery is still being attempted.", status_code=409
        )
    if not delivery.endpoint.enabled:
        raise APIError("endpoint_disabled", "Enable the endpoint first.", status_code=409)
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint,
            message_id=delivery.message_id,
            event_type=delivery.event_type,
            project_id=delivery.project_id,
            body=delivery.body,
            next_attempt_at=timezone.now(),
            replay_of=delivery,
        )
        _enqueue_on_commit(replay.pk)
    return replay


def _enqueue(delivery_id: Any, delay: timedelta | None = None) -> None:
    jobs.enqueue(DELIVER_ACTOR, str(delivery_id), queue=DELIVER_QUEUE, delay_ms=_ms(delay))


def _enqueue_on_commit(delivery_id: Any, delay: timedelta | None = None) -> None:
    jobs.enqueue_on_commit(
        DELIVER_ACTOR, str(delivery_id), queue=DELIVER_QUEUE, delay_ms=_ms(delay)
    )


def _ms(delay: timedelta | None) -> int | None:
    return int(delay.total_seconds() * 1000) if delay else None


def _retryable(status: int | None, error: str) -> bool:
    if status is None:
        return error.startswith(("timeout", "connection_error"))
    return status >= 500 or status in (408, 429)


def delivery_attempt(delivery_id: Any) -> str:
    """Makes the due attempt of one delivery, if it is still due; returns what happened.

    Idempotent: the claim is a conditional UPDATE, so a duplicate message finds nothing to do.
    """
    now = timezone.now()
    Status = WebhookDelivery.Status
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now
    ).update(
        status=Status.DELIVERING,
        claimed_at=now,
        attempt_count=F("attempt_count") + 1,
        updated_at=now,
    )
    if not claimed:
        return "not_due"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    number = delivery.attempt_count

    status_code: int | None = None
    response_body = ""
    error = ""
    started_at = timezone.now()
    clock = time.monotonic()
    if not endpoint.enabled:
        error = "endpoint_disabled"
    else:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                endpoint.signing_secrets(started_at), delivery.message_id, timestamp, delivery.body
            ),
        }
        try:
            response = outbound.request(
                "POST",
                endpoint.url,
                headers=headers,
                body=delivery.body.encode(),
                timeout=REQUEST_TIMEOUT_SECONDS,
                max_body_bytes=RESPONSE_READ_BYTES,
                allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS,
            )
        except outbound.OutboundRefused as exc:
            error = f"refused:{exc.kind}"
        except outbound.OutboundTimeout:
            error = "timeout"
        except outbound.OutboundError as exc:
            error = f"connection_error:{exc.kind}"
        else:
            status_code = response.status
            response_body = response.body.decode("utf-8", "replace")[:RESPONSE_KEEP_CHARS]
            if 300 <= status_code < 400:
                error = "redirect_not_followed"
    duration_ms = int((time.monotonic() - clock) * 1000)

    finished = timezone.now()
    next_attempt_at: datetime | None = None
    if status_code is not None and 200 <= status_code < 300:
        outcome, new_status = WebhookAttempt.Outcome.SUCCEEDED, Status.SUCCEEDED
    elif _retryable(status_code, error) and number <= len(RETRY_SCHEDULE):
        outcome, new_status = WebhookAttempt.Outcome.RETRY, Status.PENDING
        next_attempt_at = finished + RETRY_SCHEDULE[number - 1]
    else:
        outcome, new_status = WebhookAttempt.Outcome.FAILED, Status.FAILED

    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.DELIVERING, attempt_count=number
        ).update(
            status=new_status,
            next_attempt_at=next_attempt_at,
            claimed_at=None,
            completed_at=None if new_status == Status.PENDING else finished,
            updated_at=finished,
        )
        if not updated:
            # The sweep took the claim back (this worker was too slow); its record stands.
            return "claim_lost"
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration_ms=duration_ms,
            response_status=status_code,
            response_body=response_body,
            error=error,
            outcome=outcome,
        )
        if status_code == 410:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                enabled=False,
                disabled_reason=WebhookEndpoint.DisabledReason.GONE,
                updated_at=finished,
            )
        if next_attempt_at is not None:
            _enqueue_on_commit(delivery.pk, next_attempt_at - finished)
    logger.info(
        "webhook attempt",
        extra={
            "delivery_id": str(delivery.pk),
            "attempt": number,
            "outcome": outcome,
            "status": status_code,
            "error": error,
        },
    )
    return str(outcome)


def webhook_deliveries_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Recovers claims of workers that died and re-sends hints for due deliveries whose message
    was lost. Safe to run anywhere, any time, concurrently: claims make extra messages no-ops.
    Returns the number of messages sent."""
    now = now or timezone.now()
    Status = WebhookDelivery.Status
    recovered: list[Any] = []
    stale = WebhookDelivery.objects.filter(
        status=Status.DELIVERING, claimed_at__lt=now - CLAIM_LEASE
    ).values_list("pk", "attempt_count", "claimed_at")[:limit]
    for pk, number, claimed_at in stale:
        assert claimed_at is not None
        retry = number <= len(RETRY_SCHEDULE)
        with transaction.atomic():
            updated = WebhookDelivery.objects.filter(
                pk=pk, status=Status.DELIVERING, attempt_count=number
            ).update(
                status=Status.PENDING if retry else Status.FAILED,
                next_attempt_at=now if retry else None,
                claimed_at=None,
                completed_at=None if retry else now,
                updated_at=now,
            )
            if updated:
                WebhookAttempt.objects.create(
                    delivery_id=pk,
                    number=number,
                    started_at=claimed_at,
                    error="worker_lost",
                    outcome=WebhookAttempt.Outcome.RETRY
                    if retry
                    else WebhookAttempt.Outcome.FAILED,
                )
                if retry:
                    recovered.append(pk)
    due = list(
        WebhookDelivery.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in [*recovered, *due]:
        _enqueue(pk)
    return len(recovered) + len(due)
