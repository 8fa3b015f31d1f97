"""Messages to a project's room through the channel layer, from async or sync code.

`project_event(project_id, event)` is the sink the exports app registers: export progress and
completion reach every client in the room as `{"type": "event", "event": {...}}`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

# The serving event loop. Sync callers in its process's other threads (request threads,
# embedded worker threads) hand their sends to it: the in-memory layer's queues belong to it,
# and a Redis layer already has its connection there.
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_loop() -> None:
    global _server_loop
    _server_loop = asyncio.get_running_loop()


def room_group(project_id: Any) -> str:
    """Every connection in the room: presence, joins, events, previews, access changes."""
    return f"collab.{uuid.UUID(str(project_id)).hex}"


def ops_group(project_id: Any) -> str:
    """The room's ops, to one subscriber per serving process (collab.hub), which orders them
    once and hands them to its connections: not one delivery per connection."""
    return f"collab.ops.{uuid.UUID(str(project_id)).hex}"


def ops_message(ops: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return {"type": "room.ops", "ops": ops, "version": version}


async def asend_room(project_id: Any, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(room_group(project_id), message)


async def asend_ops(project_id: Any, ops: list[dict[str, Any]], version: int) -> None:
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(ops_group(project_id), ops_message(ops, version))


# Sync senders outside a serving process (render workers) send from one loop of their own,
# kept running on a thread: async_to_sync made a new event loop per call, and with it a new
# connection to the channel layer's Redis, a few ms of every preview's delivery.
_sender: asyncio.AbstractEventLoop | None = None
_sender_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _sender
    with _sender_lock:
        if _sender is None or _sender.is_closed():
            _sender = asyncio.new_event_loop()
            thread = threading.Thread(target=_sender.run_forever, name="collab-send", daemon=True)
            thread.start()
        return _sender


def _send_group(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None
    loop = _server_loop
    if loop is None or not loop.is_running():
        if isinstance(layer, InMemoryChannelLayer):
            # No serving loop to hand it to; the in-memory layer's queues belong to the
            # caller's outer loop, if it has one (tests).
            async_to_sync(layer.group_send)(group, message)
            return
        loop = _sender_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError("sync sends would block their own loop: await asend_room there")
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
    future.result(timeout=5)


def send_room(project_id: Any, message: dict[str, Any]) -> None:
    """From sync code (workers, services): sends to the room."""
    _send_group(room_group(project_id), message)


def send_ops(project_id: Any, ops: list[dict[str, Any]], version: int) -> None:
    """From sync code: ops written outside a serving process's writer (REST saves)."""
    _send_group(ops_group(project_id), ops_message(ops, version))


def send_access_changed(project_id: Any) -> None:
    """Someone's access to the project changed. On the ops group, so that every process sees
    it in order with the ops: none written after it reaches a connection before its check."""
    _send_group(ops_group(project_id), {"type": "room.access"})


def project_event(project_id: Any, event: dict[str, Any]) -> None:
    send_room(project_id, {"type": "room.event", "event": event})


async def aproject_event(project_id: Any, event: dict[str, Any]) -> None:
    await asend_room(project_id, {"type": "room.event", "event": event})
