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
