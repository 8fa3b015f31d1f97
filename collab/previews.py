"""Live previews: the room asks the interactive queue for a render of the newest recipe.

Per (project, size) at most one render is in flight. A request while one is in flight only
raises the wanted sequence; when the worker delivers, the newest wanted sequence (if newer than
what it showed) is requested next, so older requests are coalesced away.

The worker side (render_worker/previews.py) runs the actor `preview_render(project_id, seq,
size, request_id)`: it reads `preview_source(project_id)` (the recipe and the sequence it
shows), renders it on the proxy (decoded once per worker process) at `size`, stores it, and
calls `deliver(project_id, seq, size, url, request_id)` with the signed URL.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from collab import broadcast
from collab.conf import limit
from orlume_site.broker import INTERACTIVE_QUEUE
from orlume_site.jobs import enqueue

ACTOR = "preview_render"
SIZES_TTL = 120.0


def _sizes_key(project_id: Any) -> str:
    return f"collab:preview:sizes:{project_id}"


def _want_key(project_id: Any, size: int) -> str:
    return f"collab:preview:want:{project_id}:{size}"


def _inflight_key(project_id: Any, size: int) -> str:
    return f"collab:preview:inflight:{project_id}:{size}"


def register_size(project_id: Any, size: int) -> None:
    """A client in the room wants previews at `size`; kept for SIZES_TTL, refreshed by use."""
    now = time.time()
    sizes = {s: t for s, t in (cache.get(_sizes_key(project_id)) or {}).items() if t > now}
    sizes[int(size)] = now + SIZES_TTL
    cache.set(_sizes_key(project_id), sizes, timeout=int(SIZES_TTL) * 2)


def wanted_sizes(project_id: Any) -> list[int]:
    now = time.time()
    return sorted(s for s, t in (cache.get(_sizes_key(project_id)) or {}).items() if t > now)


def request(project_id: Any, seq: int, size: int) -> bool:
    """Wants a preview of `seq` at `size`. True when a render was enqueued now."""
    want = cache.get(_want_key(project_id, size))
    if want is None or seq > want:
        cache.set(_want_key(project_id, size), seq, timeout=3600)
    request_id = uuid.uuid4().hex
    ttl = limit("PREVIEW_INFLIGHT_SECONDS")
    if not cache.add(_inflight_key(project_id, size), request_id, timeout=ttl):
        return False
    enqueue(ACTOR, str(project_id), seq, size, request_id, queue=INTERACTIVE_QUEUE)
    return True


def request_all(project_id: Any, seq: int) -> list[int]:
    """Wants a preview of `seq` at every size the room wants; returns those sizes."""
    sizes = wanted_sizes(project_id)
    for size in sizes:
        request(project_id, seq, size)
    return sizes


@dataclass(frozen=True)
class PreviewSource:
    seq: int
    recipe: dict[str, Any]
    original_id: Any


def preview_source(project_id: Any) -> PreviewSource | None:
    """What a preview renders: the room's newest state (seq and recipe, read together in one
    statement, so the preview is labelled with the state it shows) and the project's original.
    None when there is no such project."""
    from django.db.models import OuterRef, Subquery

    from collab.models import Room
    from projects.models import Project

    room_seq = Room.objects.filter(pk=OuterRef("pk")).values("seq")[:1]
    row = (
        Project.objects.filter(pk=project_id)
        .annotate(room_seq=Subquery(room_seq))
        .values_list("room_seq", "edits_json", "original_id")
        .first()
    )
    if row is None:
        return None
    seq, recipe, original_id = row
    return PreviewSource(seq=seq or 0, recipe=recipe, original_id=original_id)


def deliver(project_id: Any, seq: int, size: int, url: str, request_id: str = "") -> None:
    """Called by the worker once the preview is stored: the room gets its URL."""
    broadcast.send_room(project_id, {"type": "room.preview", "seq": seq, "size": size, "url": url})
    cache.delete(_inflight_key(project_id, size))
    want = cache.get(_want_key(project_id, size))
    if want is not None and want > seq:
        request(project_id, want, size)
