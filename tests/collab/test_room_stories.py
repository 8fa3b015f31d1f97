"""Stories of a room, told with real WebSocket clients against a real Daphne server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from collab.models import Op
from projects.models import Project, ProjectCollaborator
from tests.collab.conftest import Client, Room, op


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def exposure(project: Project) -> float:
    project.refresh_from_db()
    return float(project.edits_json["develop"]["light"]["exposure"])


def test_two_editors_and_a_viewer_see_every_op_in_the_same_server_order(room: Room) -> None:
    async def story() -> list[list[dict[str, Any]]]:
        owner, ed, vi = [await room.join(w) for w in ("owner", "ed", "vi")]

        async def edit(client: Client, name: str) -> None:
            for i in range(5):
                await client.send(
                    type="op", ops=[op(f"{name}{i}", "/develop/light/exposure", i / 10)]
                )
                await client.expect(lambda m: m["type"] == "ack")

        await asyncio.gather(edit(owner, "o"), edit(ed, "e"))
        return [await c.ops_until(10) for c in (owner, ed, vi)]

    seen = run(story())
    assert [o["seq"] for o in seen[0]] == list(range(1, 11))
    assert seen[0] == seen[1] == seen[2]
    # The last op in server order is what the project holds.
    assert exposure(room.project) == seen[0][-1]["value"]


def test_a_viewers_op_is_rejected_to_the_viewer_only(room: Room) -> None:
    async def story() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        ed, vi = await room.join("ed"), await room.join("vi")
        await vi.send(type="op", ops=[op("v1", "/develop/light/exposure", 1.0)])
        reject = await vi.expect(lambda m: m["type"] == "reject")
        await ed.send(type="op", ops=[op("e1", "/develop/light/contrast", 10)])
        return reject, await ed.ops_until(1)

    reject, ed_ops = run(story())
    assert reject["code"] == "permission_denied"
    assert reject["ids"] == ["v1"]
    assert [(o["seq"], o["id"]) for o in ed_ops] == [(1, "e1")]
    assert exposure(room.project) == 0.0


def test_an_invalid_op_is_rejected_with_its_code_and_the_pointer_of_the_bad_value(
    room: Room,
) -> None:
    async def story() -> dict[str, Any]:
        ed = await room.join("ed")
        await ed.send(type="op", ops=[op("e1", "/develop/light/exposure", 99)])
        return await ed.expect(lambda m: m["type"] == "reject")

    reject = run(story())
    assert (reject["code"], reject["path"]) == ("out_of_range", "/develop/light/exposure")
    assert not Op.objects.exists()


def test_an_outsider_gets_no_ticket_and_cannot_connect_without_one(room: Room) -> None:
    assert room.ticket("out").status_code == 404

    async def story() -> int | None:
        client = await Client.open(room.host, f"/api/v1/sync/{room.project.pk}")
        return await client.closed_with()

    assert run(story()) == 4401


def test_a_ticket_opens_one_connection_only(room: Room) -> None:
    url = room.ticket("ed").json()["url"]

    async def story() -> tuple[dict[str, Any], int | None]:
        first = await Client.open(room.host, url)
        await first.send(type="hello")
        state = await first.expect(lambda m: m["type"] == "state")
        second = await Client.open(room.host, url)
        return state, await second.closed_with()

    state, code = run(story())
    assert state["role"] == "edit"
    assert code == 4401


def test_someone_removed_after_taking_a_ticket_is_refused_before_the_room_hears_of_them(
    room: Room,
) -> None:
    url = room.ticket("vi").json()["url"]
    ProjectCollaborator.objects.filter(user=room.people["vi"].user).delete()

    async def story() -> tuple[int | None, list[str]]:
        ed = await room.join("ed")
        refused = await Client.open(room.host, url)
        code = await refused.closed_with()
        await ed.send(type="op", ops=[op("e1", "/develop/light/contrast", 5)])
        await ed.ops_until(1)
        return code, [m["type"] for m in ed.seen]

    code, ed_saw = run(story())
    assert code == 4404
    assert "join" not in ed_saw


def test_a_client_that_reconnects_with_its_last_seq_receives_exactly_what_it_missed(
    room: Room,
) -> None:
    async def story() -> tuple[int, dict[str, Any]]:
        ed, vi = await room.join("ed"), await room.join("vi")
        await ed.send(type="op", ops=[op("e1", "/develop/light/exposure", 0.1)])
        last = (await vi.ops_until(1))[-1]["seq"]
        await vi.close()
        for i in range(2, 5):
            await ed.send(type="op", ops=[op(f"e{i}", "/develop/light/exposure", i / 10)])
            await ed.expect(lambda m: m["type"] == "ack")
        back = await room.join("vi", hello=False)
        await back.send(type="hello", last_seq=last)
        return last, await back.expect(lambda m: m["type"] in ("state", "catchup"))

    last, answer = run(story())
    assert last == 1
    assert answer["type"] == "catchup"
    assert [(o["seq"], o["id"], o["value"]) for o in answer["ops"]] == [
        (2, "e2", 0.2),
        (3, "e3", 0.3),
        (4, "e4", 0.4),
    ]
    assert answer["seq"] == 4


def test_an_op_resent_after_a_reconnect_is_acknowledged_again_but_applied_once(
    room: Room,
) -> None:
    batch = [op("e1", "/develop/light/exposure", 0.5), op("e2", "/develop/light/contrast", 20)]

    async def story() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        ed, owner = await room.join("ed"), await room.join("owner")
        await ed.send(type="op", ops=batch)
        first = await ed.expect(lambda m: m["type"] == "ack")
        await ed.close()
        again = await room.join("ed", last_seq=first["seqs"][-1])
        await again.send(type="op", ops=batch)
        second = await again.expect(lambda m: m["type"] == "ack")
        await owner.send(type="op", ops=[op("o1", "/develop/light/whites", 3)])
        return first, second, await owner.ops_until(3)

    first, second, owner_ops = run(story())
    assert second["seqs"] == first["seqs"] == [1, 2]
    assert second["duplicate"] is True
    assert [o["id"] for o in owner_ops] == ["e1", "e2", "o1"]
    assert Op.objects.count() == 3


def test_the_ops_log_over_rest_is_the_same_log(room: Room) -> None:
    async def story() -> list[dict[str, Any]]:
        ed = await room.join("ed")
        for i in range(3):
            await ed.send(type="op", ops=[op(f"e{i}", "/develop/light/exposure", i / 10)])
        return await ed.ops_until(3)

    ws_ops = run(story())
    response = httpx.get(
        f"http://{room.host}/api/v1/projects/{room.project.pk}/ops?since=1",
        headers={"Authorization": f"Bearer {room.people['vi'].access}"},
    )
    assert response.status_code == 200
    assert response.json()["ops"] == ws_ops[1:]
    outsider = httpx.get(
        f"http://{room.host}/api/v1/projects/{room.project.pk}/ops",
        headers={"Authorization": f"Bearer {room.people['out'].access}"},
    )
    assert outsider.status_code == 404


def test_a_rest_patch_reaches_everyone_in_the_room_at_once_as_a_sync_op(room: Room) -> None:
    async def story() -> dict[str, Any]:
        ed = await room.join("ed")
        await ed.send(type="op", ops=[op("e1", "/develop/light/contrast", 10)])
        await ed.ops_until(1)
        version = (await asyncio.to_thread(Project.objects.get, pk=room.project.pk)).version
        response = await asyncio.to_thread(
            httpx.patch,
            f"http://{room.host}/api/v1/projects/{room.project.pk}",
            json={"edits": {"develop": {"light": {"exposure": 0.75}}}},
            headers={
                "Authorization": f"Bearer {room.people['owner'].access}",
                "If-Match": f'"{version}"',
            },
        )
        assert response.status_code == 200, response.text
        # Nobody edits in the room after the PATCH: the op comes from the write itself.
        return await ed.expect(lambda m: m["type"] == "ops")

    message = run(story())
    [sync] = message["ops"]
    assert (sync["seq"], sync["kind"], sync["path"]) == (2, "sync", "")
    assert sync["value"]["develop"]["light"]["exposure"] == 0.75
    assert sync["value"]["develop"]["light"]["contrast"] == 10
    assert message["version"] == project_version(room.project)


def project_version(project: Project) -> int:
    project.refresh_from_db()
    return project.version
