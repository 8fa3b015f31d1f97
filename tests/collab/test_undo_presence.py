"""Undo/redo per user and presence, with real WebSocket clients."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async

from projects import recipe
from projects.models import Project
from tests.collab.conftest import Room, op


def light(project: Project) -> dict[str, Any]:
    project.refresh_from_db()
    return dict(project.edits_json["develop"]["light"])


def test_undo_writes_back_what_i_replaced_and_skips_what_someone_else_changed_since(
    room: Room,
) -> None:
    async def story() -> dict[str, Any]:
        owner, ed = await room.join("owner"), await room.join("ed")
        await owner.send(
            type="op",
            ops=[op("o1", "/develop/light/exposure", 1.0), op("o2", "/develop/light/contrast", 30)],
        )
        await owner.expect(lambda m: m["type"] == "ack")
        await ed.send(type="op", ops=[op("e1", "/develop/light/contrast", -10)])
        await ed.expect(lambda m: m["type"] == "ack")
        await owner.send(type="undo", id="u1")
        return await owner.expect(lambda m: m["type"] == "ack")

    ack = asyncio.run(story())
    assert ack["skipped"] == ["/develop/light/contrast"]
    assert len(ack["seqs"]) == 1
    assert light(room.project)["exposure"] == 0.0  # the owner's change is undone
    assert light(room.project)["contrast"] == -10  # the editor's later change stands


def test_undo_all_then_redo_all_returns_the_document_to_where_it_was(room: Room) -> None:
    async def story() -> list[dict[str, Any]]:
        ed = await room.join("ed")
        steps = [("exposure", 0.5), ("contrast", 12), ("exposure", -1.0), ("whites", 7)]
        for i, (name, value) in enumerate(steps):
            await ed.send(type="op", ops=[op(f"e{i}", f"/develop/light/{name}", value)])
            await ed.expect(lambda m: m["type"] == "ack")
        edited = await sync_to_async(light)(room.project)
        for i in range(len(steps)):
            await ed.send(type="undo", id=f"u{i}")
            await ed.expect(lambda m: m["type"] == "ack")
        undone = await sync_to_async(light)(room.project)
        for i in range(len(steps)):
            await ed.send(type="redo", id=f"r{i}")
            await ed.expect(lambda m: m["type"] == "ack")
        await ed.send(type="undo", id="u-extra")
        await ed.expect(lambda m: m["type"] == "ack")
        await ed.send(type="redo", id="r-extra")
        await ed.expect(lambda m: m["type"] == "ack")
        await ed.send(type="redo", id="r-none")
        nothing = await ed.expect(lambda m: m["type"] == "reject")
        return [edited, undone, await sync_to_async(light)(room.project), nothing]

    edited, undone, redone, nothing = asyncio.run(story())
    assert undone == light_defaults()
    assert redone == edited
    assert edited["exposure"] == -1.0
    assert nothing["code"] == "nothing_to_redo"


def light_defaults() -> dict[str, Any]:
    return dict(recipe.default()["develop"]["light"])


def test_presence_tells_who_is_here_and_where_their_cursor_is_without_storing_it(
    room: Room,
) -> None:
    async def story() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        owner = await room.join("owner")
        await owner.send(type="presence", tool="brush", cursor={"x": 0.25, "y": 0.5})
        vi = await room.join("vi")
        here = await vi.expect(lambda m: m["type"] == "here")
        joined = await owner.expect(lambda m: m["type"] == "join")
        await vi.send(type="presence", cursor={"x": 0.1, "y": 0.9}, selection=["mask-1"])
        moved = await owner.expect(lambda m: m["type"] == "presence")
        await vi.close()
        left = await owner.expect(lambda m: m["type"] == "leave")
        return here, joined, moved, left

    here, joined, moved, left = asyncio.run(story())
    assert (here["user"]["name"], here["tool"], here["cursor"]) == (
        "owner",
        "brush",
        {"x": 0.25, "y": 0.5},
    )
    assert (joined["user"]["name"], joined["role"]) == ("vi", "view")
    assert (moved["conn"], moved["selection"]) == (joined["conn"], ["mask-1"])
    assert left["conn"] == joined["conn"]
