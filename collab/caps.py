"""Connection caps per room and per user, counted in the cache so every process sees them.

Counts live in epoch keys (`EPOCH_SECONDS` long): a live connection is counted in the current
epoch's key and the next one's. Taking a connection increments both (the current one atomically
checks the cap); each process's heartbeat (`heartbeat`, every EPOCH_SECONDS / 4) adds its live
connections to the next epoch's key before that epoch begins; closing decrements every key it
was added to. A process that dies without closing its sockets stops re-counting them, so its
connections vanish from the counts within two epochs (at most 2 * EPOCH_SECONDS), not hours.

A process whose heartbeat is starved for a whole epoch undercounts its own connections in the
next epoch until its heartbeat runs again: caps are a guard against abuse, not an exact quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from django.core.cache import cache

from collab.conf import limit

logger = logging.getLogger("orlume.collab")

EPOCH_SECONDS = 30.0


@dataclass
class _Held:
    keys: tuple[str, ...]
    epochs: set[int] = field(default_factory=set)


_live: dict[str, _Held] = {}
_lock = threading.Lock()
_heartbeats: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}


def _epoch(now: float | None) -> int:
    return int((time.time() if now is None else now) // EPOCH_SECONDS)


def _room_key(project_id: str) -> str:
    return f"collab:conns:room:{project_id}"


def _user_key(user_id: str) -> str:
    return f"collab:conns:user:{user_id}"


def _at(key: str, epoch: int) -> str:
    return f"{key}:{epoch}"


def _incr(key: str) -> int:
    cache.add(key, 0, timeout=int(EPOCH_SECONDS * 3))
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=int(EPOCH_SECONDS * 3))
        return 1


def _decr(key: str) -> None:
    with contextlib.suppress(ValueError):
        cache.decr(key)


def acquire(project_id: str, user_id: str, conn: str, now: float | None = None) -> str | None:
    """None when connection `conn` may open, else which cap it hit ("room" or "user")."""
    epoch = _epoch(now)
    caps = (
        (_room_key(project_id), limit("MAX_CONNECTIONS_PER_ROOM"), "room"),
        (_user_key(user_id), limit("MAX_CONNECTIONS_PER_USER"), "user"),
    )
    taken: list[str] = []
    for key, cap, name in caps:
        if _incr(_at(key, epoch)) > cap:
            _decr(_at(key, epoch))
            for done in taken:
                _decr(_at(done, epoch))
            return name
        taken.append(key)
    for key in taken:
        _incr(_at(key, epoch + 1))
    with _lock:
        _live[conn] = _Held(tuple(taken), {epoch, epoch + 1})
    return None


def release(conn: str, now: float | None = None) -> None:
    with _lock:
        held = _live.pop(conn, None)
    if held is None:
        return
    current = _epoch(now)
    for epoch in held.epochs:
        if epoch >= current:
            for key in held.keys:
                _decr(_at(key, epoch))


def heartbeat(now: float | None = None) -> None:
    """Counts this process's live connections in the current and the next epoch."""
    current = _epoch(now)
    with _lock:
        todo: list[str] = []
        for held in _live.values():
            held.epochs = {e for e in held.epochs if e >= current}
            for epoch in (current, current + 1):
                if epoch not in held.epochs:
                    held.epochs.add(epoch)
                    todo.extend(_at(key, epoch) for key in held.keys)
    for key in todo:
        _incr(key)


def forget_process() -> None:
    """Tests: this process dies, leaving its counts behind in the cache."""
    with _lock:
        _live.clear()


async def keep_counting() -> None:
    """Starts this event loop's heartbeat once (each serving process runs one loop)."""
    loop = asyncio.get_running_loop()
    if loop in _heartbeats:
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(EPOCH_SECONDS / 4)
            try:
                await loop.run_in_executor(None, heartbeat)
            except Exception:  # a cache hiccup must not stop the heartbeat
                logger.warning("connection-count heartbeat failed", exc_info=True)

    task = loop.create_task(beat())
    _heartbeats[loop] = task
    task.add_done_callback(lambda _: _heartbeats.pop(loop, None))
