"""A room as one serving process holds it: its writer and its ops stream, for every connection
of the room on this process's event loop.

Writes (group commit): members' op batches queue here. While one group is being written, the
next batches arrive and are written together in the next transaction (`collab.writes`: one
lock, one sequence range, one recipe write), each answered to its sender on its own. The
queue is per room and per process, so one process has at most one write per room in flight.

Ops stream: one subscription to the room's ops group per process, instead of one delivery per
connection through the channel layer. Every process's writer publishes there (this one's
too: what a process receives from the channel layer keeps the order it was published in, and
access changes travel the same way, so an op written after someone lost access never reaches
them first). The hub puts ops in sequence order once, holding a batch that arrived ahead of a
gap until its predecessors arrive, or for GAP_FILL_SECONDS and then reading them from the
database once for the whole process. Each batch is encoded once, and every member sends the
same text. Members still check the sequence against their own place (they join mid-stream).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from accounts.models import User
from collab import broadcast, pg, previews, services, writes
from collab.conf import limit
from collab.protocol import OpIn
from collab.selectors import ops_between
from collab.threads import db, off_loop

logger = logging.getLogger("orlume.collab")

# Bounds one transaction: a group takes whole batches (at most MAX_BATCH ops each) until it
# holds this many ops; the rest wait for the next.
GROUP_MAX_OPS = 200


class Batch:
    """Consecutive ops as the room sends them, with the project version after the last; the
    `ops` message is encoded once, however many connections send it."""

    __slots__ = ("_text", "ops", "version")

    def __init__(self, ops: list[dict[str, Any]], version: int) -> None:
        self.ops = ops
        self.version = version
        self._text: str | None = None

    @property
    def first(self) -> int:
        return int(self.ops[0]["seq"])

    @property
    def last(self) -> int:
        return int(self.ops[-1]["seq"])

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json.dumps(
                {"type": "ops", "ops": self.ops, "version": self.version}, separators=(",", ":")
            )
        return self._text

    def after(self, seq: int) -> Batch:
        """The ops after `seq` (this batch when it has none before)."""
        if self.first > seq:
            return self
        return Batch([o for o in self.ops if o["seq"] > seq], self.version)


def runs(results: Iterable[services.Applied]) -> list[Batch]:
    """Written ops as batches of consecutive sequence numbers (a group's general-path batch may
    come after another process's write)."""
    out: list[Batch] = []
    for applied in results:
        if applied.duplicate or not applied.ops:
            continue
        if out and out[-1].last + 1 == applied.ops[0]["seq"]:
            out[-1] = Batch(out[-1].ops + applied.ops, applied.version)
        else:
            out.append(Batch(list(applied.ops), applied.version))
    return out


class Member(Protocol):
    async def room_batch(self, batch: Batch) -> None: ...

    def access_changed(self) -> None: ...


class Hub:
    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.members: set[Member] = set()
        self.started = asyncio.Event()
        self.stopped = False
        self.channel: str | None = None
        self.listener: asyncio.Task[None] | None = None
        # Sequence order: the last seq handed out in order, and batches ahead of a gap.
        self.seq: int | None = None
        self.held: dict[int, Batch] = {}
        self.filler: asyncio.Task[None] | None = None
        self.ordering = asyncio.Lock()
        # Group commit.
        self.queue: list[tuple[User, list[OpIn], asyncio.Future[services.Applied]]] = []
        self.writer: asyncio.Task[None] | None = None
        # Previews: the newest seq to ask for, and who asks. Wanted sizes are read from the
        # cache at most once per PREVIEW_SIZES_RECHECK_SECONDS while nobody wants any.
        self.preview_seq = 0
        self.previewer: asyncio.Task[None] | None = None
        self.sizes: list[int] = []
        self.sizes_read_at = -1e9

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            layer = get_channel_layer()
            assert layer is not None
            self.channel = await layer.new_channel()
            await layer.group_add(broadcast.ops_group(self.project_id), self.channel)
            self.listener = asyncio.get_running_loop().create_task(self._listen())
        finally:
            self.started.set()

    async def _stop_if_idle(self) -> None:
        if self.members or self.queue or self.writer is not None or self.stopped:
            return
        self.stopped = True
        _hubs.pop((asyncio.get_running_loop(), self.project_id), None)
        for task in (self.listener, self.filler, self.previewer):
            if task is not None:
                task.cancel()
        layer = get_channel_layer()
        if layer is not None and self.channel is not None:
            await layer.group_discard(broadcast.ops_group(self.project_id), self.channel)
        loop = asyncio.get_running_loop()
        if not any(key[0] is loop for key in _hubs):
            await pg.close()

    async def _listen(self) -> None:
        layer = get_channel_layer()
        assert layer is not None
        assert self.channel is not None
        while True:
            try:
                message = await layer.receive(self.channel)
            except Exception:
                # The layer lost its connection: members fill what they miss from the log.
                logger.exception("room ops not received", extra={"project": self.project_id})
                await asyncio.sleep(0.5)
                continue
            try:
                if message.get("type") == "room.access":
                    # Before any op that comes after it: each member re-reads its role, and
                    # sends no more ops until it has.
                    for member in list(self.members):
                        member.access_changed()
                elif message.get("ops"):
                    await self.arrived(Batch(message["ops"], int(message["version"])))
            except Exception:
                logger.exception("room message not handed out", extra={"project": self.project_id})

    # --- writes ----------------------------------------------------------------------------

    async def write(self, user: User, ops: list[OpIn]) -> services.Applied:
        """Applies one client's batch with whatever else arrives meanwhile; raises Rejected."""
        future: asyncio.Future[services.Applied] = asyncio.get_running_loop().create_future()
        self.queue.append((user, ops, future))
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write())
        return await future

    def _take_group(self) -> list[tuple[User, list[OpIn], asyncio.Future[services.Applied]]]:
        count, size = 0, 0
        for _, ops, _ in self.queue:
            if count and size + len(ops) > GROUP_MAX_OPS:
                break
            count, size = count + 1, size + len(ops)
        group, self.queue = self.queue[:count], self.queue[count:]
        return group

    async def _write(self) -> None:
        try:
            while self.queue:
                group = self._take_group()
                try:
                    results = await writes.aapply_group(
                        self.project_id, [(user, ops) for user, ops, _ in group]
                    )
                except Exception as exc:
                    for *_, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), result in zip(group, results, strict=True):
                    if future.done():
                        continue  # the sender left; its batch stands, a resend is answered
                    if isinstance(result, services.Rejected):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                applied = [r for r in results if isinstance(r, services.Applied)]
                if any(not r.duplicate and r.ops for r in applied):
                    await asyncio.sleep(0)  # the senders' acks go out before the broadcast
                    await self.publish(applied)
        finally:
            self.writer = None
            await self._stop_if_idle()

    async def publish(self, results: Iterable[services.Applied]) -> None:
        """Written ops go to the room (every process, this one included, through the channel
        layer), and a preview is asked for."""
        for batch in runs(results):
            await broadcast.asend_ops(self.project_id, batch.ops, batch.version)
            self._want_preview(batch.last)

    # --- sequence order --------------------------------------------------------------------

    def note_seq(self, seq: int) -> None:
        """A member's hello read the room at `seq`: where the stream starts if nothing came
        before (ops after it follow; earlier ones still arriving are passed on as old news)."""
        if self.seq is None:
            self.seq = seq

    async def arrived(self, batch: Batch) -> None:
        async with self.ordering:
            if self.seq is None:
                self.seq = batch.first - 1
            if batch.last <= self.seq:
                # Already handed out in order here; a member whose own place is behind it (it
                # joined while this was on its way) still takes it.
                await self._hand_out(batch)
                return
            if batch.first > self.seq + 1:
                self.held[batch.first] = batch
                if self.filler is None:
                    self.filler = asyncio.get_running_loop().create_task(self._fill_later())
                return
            await self._hand_out(batch.after(self.seq))
            await self._drain()

    async def _hand_out(self, batch: Batch) -> None:
        self.seq = max(self.seq or 0, batch.last)
        for member in list(self.members):
            try:
                await member.room_batch(batch)
            except Exception as exc:
                # Usually a socket that closed before its consumer left the room.
                logger.warning(
                    "ops not sent to a member: %r", exc, extra={"project": self.project_id}
                )

    async def _drain(self) -> None:
        while self.held:
            assert self.seq is not None
            first = min(self.held)
            if first > self.seq + 1:
                return
            batch = self.held.pop(first)
            if batch.last > self.seq:
                await self._hand_out(batch.after(self.seq))

    async def _fill_later(self) -> None:
        """The gap before the held batches, read from the database once for the process."""
        try:
            await asyncio.sleep(limit("GAP_FILL_SECONDS"))
            if not self.held or self.seq is None:
                return
            through = max(b.last for b in self.held.values())
            version = max(b.version for b in self.held.values())
            ops = await db(ops_between)(self.project_id, self.seq, through)
            async with self.ordering:
                ops = [o for o in ops if o["seq"] > self.seq]
                if ops and ops[0]["seq"] == self.seq + 1:
                    await self._hand_out(Batch(ops, version))
                elif self.held:
                    # Not in the log (pruned): members read what they miss themselves.
                    self.seq = min(self.held) - 1
                await self._drain()
        finally:
            self.filler = None
            if self.held and not self.stopped:
                self.filler = asyncio.get_running_loop().create_task(self._fill_later())

    # --- previews --------------------------------------------------------------------------

    def sizes_changed(self) -> None:
        """A member here asked for previews: read the wanted sizes on the next op."""
        self.sizes_read_at = -1e9

    def _want_preview(self, seq: int) -> None:
        if not self.sizes and time.monotonic() - self.sizes_read_at < limit(
            "PREVIEW_SIZES_RECHECK_SECONDS"
        ):
            return  # nobody wanted previews a moment ago: no cache read per op
        self.preview_seq = max(self.preview_seq, seq)
        if self.previewer is None:
            self.previewer = asyncio.get_running_loop().create_task(self._ask_previews())

    async def _ask_previews(self) -> None:
        """One request at a time, for the newest seq (collab.previews coalesces further)."""
        asked = 0
        try:
            while self.preview_seq > asked:
                asked = self.preview_seq
                read_at = time.monotonic()
                self.sizes = await off_loop(previews.request_all)(self.project_id, asked)
                self.sizes_read_at = read_at
        except Exception:
            logger.exception("preview not requested", extra={"project": self.project_id})
        finally:
            self.previewer = None


_hubs: dict[tuple[asyncio.AbstractEventLoop, str], Hub] = {}


async def join(project_id: str, member: Member) -> Hub:
    """The room's hub on this event loop (started on first use), with `member` in it."""
    key = (asyncio.get_running_loop(), project_id)
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = Hub(project_id)
        hub.members.add(member)
        await hub.start()
    else:
        hub.members.add(member)
        await hub.started.wait()
    return hub


async def leave(hub: Hub, member: Member) -> None:
    hub.members.discard(member)
    await hub._stop_if_idle()
