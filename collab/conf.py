"""Collaboration limits: `settings.COLLAB` (from the environment) over these defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "TICKET_TTL_SECONDS": 30,
    "MAX_MESSAGE_BYTES": 64 * 1024,
    "OPS_PER_SECOND": 30.0,
    "OP_BURST": 20,
    "PRESENCE_PER_SECOND": 20.0,
    "PRESENCE_BURST": 20,
    "MAX_CONNECTIONS_PER_ROOM": 50,
    "MAX_CONNECTIONS_PER_USER": 10,
    "MAX_UNREAD_MESSAGES": 2000,
    "CATCHUP_MAX_OPS": 1000,
    "SNAPSHOT_SECONDS": 5.0,
    "OPS_RETAIN": 10_000,
    "PREVIEW_INFLIGHT_SECONDS": 10.0,
    # How long a broadcast that arrived ahead of a gap waits for the missing ones before the
    # connection reads them from the database.
    "GAP_FILL_SECONDS": 0.1,
    # While nobody in a room wants previews, how long a process trusts that before it reads the
    # wanted sizes from the cache again (a client on another process asking for previews gets
    # them from its next op at most this much later; one here, at once).
    "PREVIEW_SIZES_RECHECK_SECONDS": 1.0,
    # PostgreSQL connections per serving process for the rooms' group writes (collab.pg).
    "WRITE_CONNECTIONS": 4,
}


def limit(name: str) -> Any:
    return {**DEFAULTS, **getattr(settings, "COLLAB", {})}[name]
