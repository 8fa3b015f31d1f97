"""The one way export and batch events leave the system.

    emit("export.completed", user_id=user.pk, project_id=str(project.pk), data={...})

Every event, progress included, goes through `emit`:

* Webhooks: for types in `exports.webhooks.services.EVENT_TYPES` (`export.completed`,
  `export.failed`, `batch.completed`) one delivery row is written per enabled endpoint of the user
  subscribed to it, in the caller's transaction, and delivery is enqueued after commit. The
  payload is `{"type", "timestamp", "data"}` (Standard Webhooks); `data` gains `project_id` when
  one is given. It must serialise (DjangoJSONEncoder) to under 20 KB, else ValueError: send IDs,
  states and links, never whole objects. Other types (e.g. `export.progress`) make no webhooks.
* Sinks: every callable in `sinks` (register with `register_sink`) receives the `Event` after the
  caller's transaction commits (at once outside one). The collaboration app registers one that
  broadcasts to project rooms. A sink that raises is logged and does not affect the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from exports.webhooks import services as webhook_services

logger = logging.getLogger("orlume.events")

EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


@dataclass(frozen=True)
class Event:
    type: str
    user_id: str
    project_id: str | None
    data: Mapping[str, Any]
    occurred_at: datetime = field(default_factory=timezone.now)


EventSink = Callable[[Event], None]
sinks: list[EventSink] = []


def register_sink(sink: EventSink) -> None:
    """Adds a sink (idempotent: registering twice delivers once). Call from AppConfig.ready."""
    if sink not in sinks:
        sinks.append(sink)


def unregister_sink(sink: EventSink) -> None:
    if sink in sinks:
        sinks.remove(sink)


def _call_sink(sink: EventSink, event: Event) -> None:
    try:
        sink(event)
    except Exception:
        logger.exception("event sink failed", extra={"sink": repr(sink), "event": event.type})


def emit(
    event_type: str,
    *,
    user_id: Any,
    project_id: str | None = None,
    data: Mapping[str, Any],
) -> Event:
    """Records webhook deliveries for `event_type` and hands the event to every sink."""
    if not EVENT_TYPE_PATTERN.match(event_type):
        raise ValueError(f"event types look like 'export.completed', not {event_type!r}")
    payload = dict(data)
    if project_id is not None:
        payload.setdefault("project_id", project_id)
    event = Event(
        type=event_type,
        user_id=str(user_id),
        project_id=project_id,
        data=payload,
    )
    if event_type in webhook_services.EVENT_TYPES:
        webhook_services.deliveries_create_for_event(
            user_id=user_id,
            event_type=event_type,
            project_id=project_id,
            data=payload,
            occurred_at=event.occurred_at,
        )
    for sink in list(sinks):
        transaction.on_commit(lambda sink=sink: _call_sink(sink, event))  # type: ignore[misc]
    return event
