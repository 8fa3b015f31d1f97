"""Export and batch events reach the project's room (registered with `exports.events`)."""

from __future__ import annotations

from collab import broadcast
from exports.events import Event


def room_sink(event: Event) -> None:
    if event.project_id is None:
        return
    broadcast.project_event(event.project_id, {"type": event.type, **dict(event.data)})
