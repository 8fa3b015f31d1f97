"""The room's hub in one process (Channels' WebsocketCommunicator, the configured channel layer):
group commit and one broadcast per group."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from accounts.models import User
from collab import hub, writes
from projects import recipe
from projects.models import Project, ProjectCollaborator
from tests.collab.conftest import joined_in_process

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_layer() -> Iterator[None]:
    # Each story runs its own event loop; the layer's queues must not outlive it.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def _project() -> tuple[Project, list[User]]:
    owner = User.objects.create_user("owner@example.com")
    project = Project.objects.create(owner=owner, name="Harbour", edits_json=recipe.default())
    editors = []
    for name in ("ed", "al"):
        user = User.objects.create_user(f"{name}@example.com")
        ProjectCollaborator.objects.create(project=project, user=user, permission="edit")
        editors.append(user)
    return project, [owner, *editors]


async def _ack_and_broadcasts(
    comm: WebsocketCommunicator, count: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The client's ack and the first `count` ops broadcasts, in whichever order they come."""
    ack: dict[str, Any] | None = None
    broadcasts: list[dict[str, Any]] = []
    while ack is None or len(broadcasts) < count:
        message = await comm.receive_json_from(timeout=5)
        if message["type"] == "ack":
            ack = message
        elif message["type"] == "ops":
            broadcasts.append(message)
    return ack, broadcasts


def _set(op_id: str, path: str, value: float) -> dict[str, Any]:
    return {"type": "op", "ops": [{"id": op_id, "path": path, "value": value}]}


def test_ops_that_arrive_while_a_write_is_in_flight_are_written_and_broadcast_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, (owner, ed, al) = _project()
    groups: list[list[str]] = []
    first_started, release = asyncio.Event(), asyncio.Event()
    aapply_group = writes.aapply_group

    async def recording(project_id: Any, batches: list[Any]) -> Any:
        groups.append([ops[0].id for _, ops in batches])
        if len(groups) == 1:  # the first write waits until the others have queued behind it
            first_started.set()
            await release.wait()
        return await aapply_group(project_id, batches)

    monkeypatch.setattr(writes, "aapply_group", recording)

    async def story() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        clients = [await joined_in_process(project, user) for user in (owner, ed, al)]
        room = hub._hubs[(asyncio.get_running_loop(), str(project.pk))]
        # Given a write in flight
        await clients[0].send_json_to(_set("o1", "/develop/light/exposure", 0.5))
        await asyncio.wait_for(first_started.wait(), 10)
        # When two more editors' ops arrive meanwhile, one after the other (each client's
        # consumer is its own task, so the second is sent only once the first has queued:
        # the hub's order is arrival order, and arrival is what this story fixes)
        for queued, (client, op) in enumerate(
            [
                (clients[1], _set("e1", "/develop/light/contrast", 10)),
                (clients[2], _set("a1", "/develop/light/exposure", 1.5)),
            ],
            start=1,
        ):
            await client.send_json_to(op)
            for _ in range(500):
                if len(room.queue) == queued:
                    break
                await asyncio.sleep(0.01)
            assert len(room.queue) == queued
        release.set()
        acks, seen = [], []
        for client in clients:
            ack, broadcasts = await _ack_and_broadcasts(client, 2)
            acks.append(ack)
            seen.append(broadcasts)
            await client.disconnect()
        # Then everyone receives the same two broadcasts: the first write, then the group
        assert seen[1] == seen[2] == seen[0]
        return acks, seen[0]

    acks, broadcasts = asyncio.run(story())
    assert groups == [["o1"], ["e1", "a1"]]
    assert [a["seqs"] for a in acks] == [[1], [2], [3]]
    assert [[o["id"] for o in b["ops"]] for b in broadcasts] == [["o1"], ["e1", "a1"]]
    assert [b["version"] for b in broadcasts] == [acks[0]["version"], acks[2]["version"]]
    project.refresh_from_db()
    assert project.edits_json["develop"]["light"]["exposure"] == 1.5


def test_the_hub_is_gone_once_the_last_member_leaves() -> None:
    project, (owner, ed, _) = _project()

    async def story() -> tuple[bool, bool]:
        first, second = (
            await joined_in_process(project, owner),
            await joined_in_process(project, ed),
        )
        key = (asyncio.get_running_loop(), str(project.pk))
        await first.disconnect()
        kept = key in hub._hubs
        await second.disconnect()
        return kept, key in hub._hubs

    assert asyncio.run(story()) == (True, False)
