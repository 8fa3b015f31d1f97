"""What reaches a project's room from other apps: export and batch events (registered with
`exports.events`) and recipe writes outside the room (`projects.signals.project_recipe_changed`,
sent once a REST save, restore or preset apply commits)."""

from __future__ import annotations

import logging
from typing import Any

from collab import broadcast, previews, services
from exports.events import Event

logger = logging.getLogger("orlume.collab")


def room_sink(event: Event) -> None:
    if event.project_id is None:
        return
    broadcast.project_event(event.project_id, {"type": event.type, **dict(event.data)})


def recipe_changed(sender: Any, project_id: Any, version: int, **kwargs: Any) -> None:
    """The room logs the write as a `sync` op now and every client receives it at once (not
    only when the room's next op notices the version moved). The write has committed: a
    failure here is logged, never raised into the request that made it."""
    try:
        applied = services.record_outside_write(project_id)
        if applied is None or not applied.ops:
            return
        broadcast.send_ops(project_id, applied.ops, applied.version)
        previews.request_all(project_id, applied.ops[-1]["seq"])
    except Exception:
        logger.exception("room not told of a recipe write", extra={"project": str(project_id)})


def access_changed(sender: Any, project_id: Any, **kwargs: Any) -> None:
    """Someone's access to the project changed: every connection in the room checks its role
    again (told by its process's hub) and closes when it has none left. Logged, never raised."""
    try:
        broadcast.send_access_changed(project_id)
    except Exception:
        logger.exception("room not told of an access change", extra={"project": str(project_id)})
