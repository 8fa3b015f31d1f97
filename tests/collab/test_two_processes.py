"""Two Daphne processes on real Redis and PostgreSQL: one room, a client on each."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collab.models import Op
from tests.collab.conftest import Room, daphne, op


@pytest.mark.services
def test_clients_on_two_daphne_processes_share_one_gap_free_order(room: Room) -> None:
    with daphne() as second:

        async def story() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            ed = await room.join("ed")  # on the session's server
            owner = await room.join("owner", host=second)  # on the second process
            joined = await ed.expect(lambda m: m["type"] == "join")
            assert joined["user"]["name"] == "owner"

            async def edit(client: Any, name: str) -> None:
                for i in range(6):
                    path = f"/develop/light/{'exposure' if i % 2 else 'contrast'}"
                    await client.send(type="op", ops=[op(f"{name}{i}", path, i / 10)])
                    await client.expect(lambda m: m["type"] == "ack")

            await asyncio.gather(edit(ed, "e"), edit(owner, "o"))
            return await ed.ops_until(12), await owner.ops_until(12)

        on_first, on_second = asyncio.run(story())
    assert [o["seq"] for o in on_first] == list(range(1, 13))
    assert on_first == on_second
    assert sorted(Op.objects.values_list("seq", flat=True)) == list(range(1, 13))


@pytest.mark.services
def test_concurrent_writers_on_two_processes_get_one_gap_free_order_and_the_last_write_wins(
    room: Room,
) -> None:
    """Three connections on each process send ops as fast as they can, without waiting for
    acks: batches meet in each process's writer and are written in groups. Every connection
    still sees every op once, in one order, numbered without gaps; every ack names the
    numbers its ops have in that order; the recipe holds the last op of each path."""
    paths = ["/develop/light/exposure", "/develop/light/contrast", "/develop/light/shadows"]
    per_client = 8

    with daphne() as second:

        async def story() -> tuple[list[list[dict[str, Any]]], dict[str, list[int]]]:
            clients = []
            for i, who in enumerate(("owner", "ed", "owner", "ed", "owner", "ed")):
                clients.append(await room.join(who, host=second if i % 2 else None))
            acked: dict[str, list[int]] = {}

            async def edit(index: int, client: Any) -> None:
                for n in range(per_client):
                    value = (index * per_client + n) / 100
                    await client.send(
                        type="op", ops=[op(f"c{index}-{n}", paths[n % len(paths)], value)]
                    )
                for _ in range(per_client):
                    ack = await client.expect(lambda m: m["type"] == "ack")
                    acked[ack["ids"][0]] = ack["seqs"]

            await asyncio.gather(*(edit(i, c) for i, c in enumerate(clients)))
            total = per_client * len(clients)
            return [await c.ops_until(total) for c in clients], acked

        seen, acked = asyncio.run(story())
    total = per_client * 6
    assert [o["seq"] for o in seen[0]] == list(range(1, total + 1))
    assert all(view == seen[0] for view in seen)
    assert {o["id"]: [o["seq"]] for o in seen[0]} == acked
    assert sorted(Op.objects.values_list("seq", flat=True)) == list(range(1, total + 1))
    room.project.refresh_from_db()
    light = room.project.edits_json["develop"]["light"]
    for path in paths:
        last = [o for o in seen[0] if o["path"] == path][-1]
        assert light[path.rsplit("/", 1)[1]] == last["value"]
