"""`WS /api/v1/sync/<project_id>`: one room per project.

Connect: a single-use ticket (`?ticket=`) or the session cookie (browsers only: an Origin header
is required, and asgi.py's AllowedHostsOriginValidator checks it). Outsiders are closed before
joining the room's group, so the room learns nothing of them. Ops go through the room's
hub on this process (`collab.hub`: batches arriving together are written in one transaction by
`collab.services`, and the room's ops come back in sequence order, encoded once); each
connection still delivers them gap-free from its own place, filling any gap from the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from pydantic import ValidationError

from accounts.models import User
from collab import broadcast, caps, hub, previews, services, tickets
from collab.conf import limit
from collab.protocol import (
    Hello,
    OpBatch,
    PresenceIn,
    PreviewIn,
    Redo,
    Seen,
    Undo,
    client_message,
)
from collab.ratelimit import TokenBucket
from collab.selectors import ops_between
from collab.threads import db, off_loop

logger = logging.getLogger("orlume.collab")


WRITERS = {"edit", "admin", "owner"}


class CloseCode(IntEnum):
    UNSUPPORTED_DATA = 1003  # binary frame
    MESSAGE_TOO_BIG = 1009  # over MAX_MESSAGE_BYTES (64 KiB)
    NOT_AUTHENTICATED = 4401  # no, expired, used or foreign ticket; no session
    NOT_FOUND = 4404  # no such project, or not yours to see
    SLOW_CONSUMER = 4408  # more than MAX_UNREAD_MESSAGES sent and not confirmed by `seen`
    RATE_LIMITED = 4429  # ops above OPS_PER_SECOND beyond OP_BURST
    ROOM_FULL = 4430  # MAX_CONNECTIONS_PER_ROOM
    TOO_MANY_CONNECTIONS = 4431  # MAX_CONNECTIONS_PER_USER


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(p) for p in loc) if loc else ""


class SyncConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first runs close_old_connections on the one thread-sensitive thread
        # for every message, each broadcast delivery included: a thread hop per delivery (2000/s
        # in a busy server) for nothing, since this consumer touches the database only through
        # db(), whose database_sync_to_async closes old connections on its own thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        broadcast.remember_loop()
        self.project_id = str(self.scope["url_route"]["kwargs"]["project_id"])
        self.conn = uuid.uuid4().hex[:12]
        self.user: User | None = None
        self.role = ""
        self.held = False
        self.joined = False
        self.closing = False
        self.sent = 0
        self.confirmed = 0
        self.last_seq: int | None = None
        self.preview_size: int | None = None
        self.last_preview_seq = -1
        self.presence: dict[str, Any] = {}
        # Broadcasts that arrived ahead of a gap, by first seq, and the task that fills the gap.
        self.early: dict[int, tuple[list[dict[str, Any]], int]] = {}
        self.gap_task: asyncio.Task[None] | None = None
        # Held by whoever sends ops to this connection (and by a role check, which must finish
        # before more of the room goes out); a batch arriving meanwhile waits in `early`.
        self.delivering = asyncio.Lock()
        self.access_checks = 0  # role checks under way: ops wait in `early` meanwhile
        self.tasks: set[asyncio.Task[None]] = set()
        self.hub: hub.Hub | None = None
        self.op_bucket = TokenBucket(limit("OPS_PER_SECOND"), limit("OP_BURST"))
        self.presence_bucket = TokenBucket(limit("PRESENCE_PER_SECOND"), limit("PRESENCE_BURST"))

        user = await self._authenticate()
        await self.accept()
        if user is None:
            await self._close(CloseCode.NOT_AUTHENTICATED)
            return
        role = await db(services.role_for)(user, self.project_id)
        if role is None:
            await self._close(CloseCode.NOT_FOUND)
            return
        await caps.keep_counting()
        refused = await off_loop(caps.acquire)(self.project_id, str(user.pk), self.conn)
        if refused:
            code = CloseCode.ROOM_FULL if refused == "room" else CloseCode.TOO_MANY_CONNECTIONS
            await self._close(code)
            return
        self.held = True
        self.user, self.role = user, role
        self.person = {"id": str(user.pk), "name": user.display_name or user.email.split("@")[0]}
        self.group = broadcast.room_group(self.project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.hub = await hub.join(self.project_id, self)
        self.joined = True
        await self.channel_layer.group_send(
            self.group, {"type": "room.join", **self._me(), "channel": self.channel_name}
        )

    async def _authenticate(self) -> User | None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        ticket = query.get("ticket", [""])[0]
        if ticket:
            user_id = await off_loop(tickets.redeem)(ticket, self.project_id)
            if user_id is None:
                return None
            return await db(User.objects.filter(pk=user_id, is_active=True).first)()
        user = self.scope.get("user")
        headers = dict(self.scope.get("headers", []))
        # Cookies ride along only from browsers, which always send Origin; asgi.py checks it.
        if user is not None and user.is_authenticated and b"origin" in headers:
            return user
        return None

    def _me(self) -> dict[str, Any]:
        return {"conn": self.conn, "user": self.person, "role": self.role, **self.presence}

    async def _close(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=int(code))

    async def disconnect(self, code: int) -> None:
        if self.joined:
            self.joined = False
            await self.channel_layer.group_send(
                self.group, {"type": "room.leave", "conn": self.conn, "user": self.person}
            )
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.hub is not None:
            room, self.hub = self.hub, None
            await hub.leave(room, self)
        if self.held and self.user is not None:
            self.held = False
            await off_loop(caps.release)(self.conn)
        if self.gap_task is not None:
            self.gap_task.cancel()
        for task in list(self.tasks):
            task.cancel()

    async def emit(self, message: dict[str, Any]) -> None:
        """Sends one message, unless the client has fallen too far behind reading."""
        await self.emit_text(json.dumps(message, separators=(",", ":")))

    async def emit_text(self, text: str) -> None:
        """Sends one message already encoded (a room broadcast, encoded once for everyone)."""
        if self.closing:
            return
        self.sent += 1
        if self.sent - self.confirmed > limit("MAX_UNREAD_MESSAGES"):
            await self._close(CloseCode.SLOW_CONSUMER)
            return
        await self.send(text_data=text)

    # --- from the client ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing or not self.joined:
            return
        if text_data is None:
            await self._close(CloseCode.UNSUPPORTED_DATA)
            return
        max_bytes = limit("MAX_MESSAGE_BYTES")
        if len(text_data) > max_bytes or len(text_data.encode()) > max_bytes:
            await self._close(CloseCode.MESSAGE_TOO_BIG)
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            await self.emit({"type": "error", "code": "bad_json", "detail": "Not JSON."})
            return
        try:
            message = client_message.validate_python(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            await self.emit(
                {
                    "type": "error",
                    "code": "bad_message",
                    "detail": first["msg"],
                    "path": _loc_to_path(tuple(first["loc"])),
                }
            )
            return
        if isinstance(message, Hello):
            await self.on_hello(message)
        elif isinstance(message, OpBatch):
            await self.on_ops(message)
        elif isinstance(message, Undo | Redo):
            await self.on_revert(message)
        elif isinstance(message, PresenceIn):
            await self.on_presence(message)
        elif isinstance(message, PreviewIn):
            await self.on_preview_size(message.size)
        elif isinstance(message, Seen):
            self.confirmed = max(self.confirmed, min(message.received, self.sent))

    async def on_hello(self, message: Hello) -> None:
        assert self.user is not None
        try:
            answer = await db(services.hello)(self.user, self.project_id, message.last_seq)
        except services.Rejected:
            await self._close(CloseCode.NOT_FOUND)  # access revoked since connecting
            return
        self.role = answer["role"]
        self.last_seq = answer["seq"]
        if self.hub is not None:
            self.hub.note_seq(answer["seq"])
        await self.emit({**answer, "conn": self.conn})
        if message.preview_size is not None:
            await self.on_preview_size(message.preview_size)

    async def _may_write(self, ids: list[str], cost: int) -> bool:
        if not self.op_bucket.take(cost):
            await self._close(CloseCode.RATE_LIMITED)
            return False
        if self.role not in WRITERS:
            await self.emit(
                {
                    "type": "reject",
                    "ids": ids,
                    "code": "permission_denied",
                    "detail": "Viewers cannot edit this project.",
                }
            )
            return False
        if self.last_seq is None:
            await self.emit(
                {"type": "reject", "ids": ids, "code": "hello_first", "detail": "Say hello first."}
            )
            return False
        return True

    async def on_ops(self, message: OpBatch) -> None:
        assert self.user is not None
        ids = [o.id for o in message.ops]
        if not await self._may_write(ids, len(ids)):
            return
        assert self.hub is not None
        try:
            applied = await self.hub.write(self.user, message.ops)
        except services.Rejected as exc:
            await self._reject(ids, exc)
            return
        await self._acknowledge(applied)  # the hub broadcasts what its group wrote

    async def on_revert(self, message: Undo | Redo) -> None:
        assert self.user is not None
        if not await self._may_write([message.id], 1):
            return
        action = services.redo if isinstance(message, Redo) else services.undo
        try:
            applied = await db(action)(self.user, self.project_id, message.id)
        except services.Rejected as exc:
            await self._reject([message.id], exc)
            return
        await self._acknowledge(applied)
        if self.hub is not None and not applied.duplicate:
            await self.hub.publish([applied])

    async def _reject(self, ids: list[str], exc: services.Rejected) -> None:
        body = {"type": "reject", "ids": ids, "code": exc.code, "detail": exc.detail}
        if exc.path is not None:
            body["path"] = exc.path
        await self.emit(body)

    async def _acknowledge(self, applied: services.Applied) -> None:
        await self.emit(
            {
                "type": "ack",
                "ids": applied.ids,
                "seqs": [o["seq"] for o in applied.ops],
                "version": applied.version,
                "duplicate": applied.duplicate,
                "skipped": applied.skipped,
            }
        )

    async def on_presence(self, message: PresenceIn) -> None:
        if not self.presence_bucket.take():
            return  # ephemeral: excess updates are dropped, never queued
        self.presence = message.model_dump(exclude={"type"}, exclude_none=True)
        await self.channel_layer.group_send(
            self.group,
            {"type": "room.presence", "conn": self.conn, "user": self.person, **self.presence},
        )

    async def on_preview_size(self, size: int | None) -> None:
        self.preview_size = size
        if size is not None:
            await off_loop(previews.register_size)(self.project_id, size)
            if self.hub is not None:
                self.hub.sizes_changed()

    # --- from the room -------------------------------------------------------------------------

    async def room_batch(self, batch: hub.Batch) -> None:
        """The room's ops from the hub, in sequence order for the process; this connection
        sends them from its own place (it may have joined, or said hello, mid-stream)."""
        if self.last_seq is None or self.closing or batch.last <= self.last_seq:
            return  # not synced yet (the hello answer comes from the database), or old news
        if self.access_checks or self.delivering.locked() or batch.first > self.last_seq + 1:
            # A role check or another send is under way, or this is ahead of a gap here: held
            # (a gap is read from the database if it is still open after GAP_FILL_SECONDS).
            self.early[batch.first] = (batch.ops, batch.version)
            if batch.first > self.last_seq + 1 and self.gap_task is None:
                self.gap_task = asyncio.get_running_loop().create_task(self._fill_gap_later())
            return
        async with self.delivering:
            if batch.first == self.last_seq + 1:
                self.last_seq = batch.last
                await self.emit_text(batch.text)
            else:
                await self._deliver(batch.after(self.last_seq).ops, batch.version)
            await self._drain()

    async def room_ops(self, event: dict[str, Any]) -> None:
        """Ops on the room group, as processes before the hub sent them (a rolling deploy):
        ignored here, where ops come from the hub, which reads any gap from the log."""

    async def _deliver(self, ops: list[dict[str, Any]], version: int) -> None:
        """Sends ops that continue last_seq (callers hold `delivering`, so deliveries from the
        hub and from the gap filler never interleave)."""
        self.last_seq = ops[-1]["seq"]
        await self.emit({"type": "ops", "ops": ops, "version": version})

    async def _drain(self) -> None:
        """Sends held batches that now continue last_seq; drops those already covered. Loops
        until none is left that fits: a batch may be held while a send here is awaited."""
        while self.early and not self.access_checks:
            assert self.last_seq is not None
            first = min(self.early)
            ops, version = self.early.pop(first)
            fresh = [o for o in ops if o["seq"] > self.last_seq]
            if not fresh:
                continue
            if fresh[0]["seq"] != self.last_seq + 1:
                self.early[first] = (ops, version)
                if self.gap_task is None:
                    self.gap_task = asyncio.get_running_loop().create_task(self._fill_gap_later())
                return
            await self._deliver(fresh, version)

    async def _fill_gap_later(self) -> None:
        try:
            await asyncio.sleep(limit("GAP_FILL_SECONDS"))
            if not self.early or self.last_seq is None or self.closing:
                return
            through = max(ops[-1]["seq"] for ops, _ in self.early.values())
            version = max(v for _, v in self.early.values())
            ops = await db(ops_between)(self.project_id, self.last_seq, through)
            async with self.delivering:
                ops = [o for o in ops if o["seq"] > self.last_seq]
                if ops and ops[0]["seq"] == self.last_seq + 1:
                    self.early[ops[0]["seq"]] = (ops, version)  # sent next, unless a check holds it
                await self._drain()
        finally:
            self.gap_task = None
            gap = self.last_seq is not None and self.early and min(self.early) > self.last_seq + 1
            if gap and not self.closing:
                self.gap_task = asyncio.get_running_loop().create_task(self._fill_gap_later())

    async def room_join(self, event: dict[str, Any]) -> None:
        if event["conn"] == self.conn:
            return
        await self.emit(
            {"type": "join", "conn": event["conn"], "user": event["user"], "role": event["role"]}
        )
        await self.channel_layer.send(event["channel"], {"type": "room.here", **self._me()})

    async def room_here(self, event: dict[str, Any]) -> None:
        await self.emit({**event, "type": "here"})

    async def room_leave(self, event: dict[str, Any]) -> None:
        if event["conn"] != self.conn:
            await self.emit({"type": "leave", "conn": event["conn"], "user": event["user"]})

    async def room_presence(self, event: dict[str, Any]) -> None:
        if event["conn"] != self.conn:
            await self.emit({**event, "type": "presence"})

    async def room_preview(self, event: dict[str, Any]) -> None:
        if event["size"] == self.preview_size and event["seq"] > self.last_preview_seq:
            self.last_preview_seq = event["seq"]
            await self.emit(
                {"type": "preview", "seq": event["seq"], "size": event["size"], "url": event["url"]}
            )

    async def room_access(self, event: dict[str, Any]) -> None:
        """An access change on the room group, as processes before the hub sent them (a
        rolling deploy): checked all the same."""
        self.access_changed()

    def access_changed(self) -> None:
        """Someone's access to the project changed (the hub tells every member, in order with
        the room's ops): this connection's role is read again, and no op goes out until it
        has been. No role left (removed, project made private or deleted): closed before
        anything more of the room reaches it. Another role: the client is told."""
        if self.user is None or self.closing:
            return
        self.access_checks += 1
        task = asyncio.get_running_loop().create_task(self._check_access())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _check_access(self) -> None:
        assert self.user is not None
        try:
            role = await db(services.role_for)(self.user, self.project_id)
            if role is None:
                await self._close(CloseCode.NOT_FOUND)
                return
            if role != self.role:
                self.role = role
                await self.emit({"type": "role", "role": role})
        finally:
            self.access_checks -= 1
        if not self.access_checks and self.last_seq is not None and not self.closing:
            async with self.delivering:
                await self._drain()

    async def room_event(self, event: dict[str, Any]) -> None:
        await self.emit({"type": "event", "event": event["event"]})
