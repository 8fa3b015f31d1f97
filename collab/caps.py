"""Connection caps per room and per user, counted in the cache so every process sees them.

A process that dies without closing its sockets leaves counts behind until COUNT_TTL passes.
"""

from __future__ import annotations

import contextlib

from django.core.cache import cache

from collab.conf import limit

COUNT_TTL = 6 * 3600


def _room_key(project_id: str) -> str:
    return f"collab:conns:room:{project_id}"


def _user_key(user_id: str) -> str:
    return f"collab:conns:user:{user_id}"


def _take(key: str, cap: int) -> bool:
    cache.add(key, 0, timeout=COUNT_TTL)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=COUNT_TTL)
        count = 1
    if count > cap:
        _give(key)
        return False
    cache.touch(key, COUNT_TTL)
    return True


def _give(key: str) -> None:
    with contextlib.suppress(ValueError):
        cache.decr(key)


def acquire(project_id: str, user_id: str) -> str | None:
    """None when the connection may open, else which cap it hit ("room" or "user")."""
    if not _take(_room_key(project_id), limit("MAX_CONNECTIONS_PER_ROOM")):
        return "room"
    if not _take(_user_key(user_id), limit("MAX_CONNECTIONS_PER_USER")):
        _give(_room_key(project_id))
        return "user"
    return None


def release(project_id: str, user_id: str) -> None:
    _give(_room_key(project_id))
    _give(_user_key(user_id))
