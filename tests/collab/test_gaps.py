"""Broadcasts that arrive out of order or not at all, in-process (the consumer, the room's hub and
the configured channel layer: in-memory in the first pass, channels-redis in the second)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts.models import User
from collab import broadcast, services, writes
from collab.protocol import OpIn
from projects import recipe
from projects.models import Project, ProjectCollaborator
from tests.collab.conftest import joined_in_process

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _project() -> tuple[User, Project]:
    owner = User.objects.create_user("owner@example.com")
    project = Project.objects.create(owner=owner, name="Harbour", edits_json=recipe.default())
    editor = User.objects.create_user("ed@example.com")
    ProjectCollaborator.objects.create(project=project, user=editor, permission="edit")
    return editor, project


async def _ops(client: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < count:
        message = await client.receive_json_from(timeout=5)
        if message["type"] == "ops":
            out.extend(message["ops"])
    return out


def _op(seq: int, value: float) -> dict[str, Any]:
    return {"seq": seq, "path": "/develop/light/exposure", "op": "set", "value": value,
            "user": None, "id": None, "kind": "edit"}  # fmt: skip


async def test_a_broadcast_ahead_of_its_predecessor_waits_for_it_and_goes_out_after_it(
    settings: Any,
) -> None:
    # A hold far longer than the gap between the two sends, so a loaded machine can't turn this
    # story into the database-fill one below.
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "GAP_FILL_SECONDS": 5.0}
    editor, project = await sync_to_async(_project)()
    client = await joined_in_process(project, editor)
    layer = get_channel_layer()
    assert layer is not None
    group = broadcast.ops_group(project.pk)
    # Two processes published seq 2 before seq 1. Neither is in the database: only holding
    # seq 2 until seq 1 arrives can deliver both.
    await layer.group_send(group, broadcast.ops_message([_op(2, 0.2)], 3))
    await asyncio.sleep(0.02)
    await layer.group_send(group, broadcast.ops_message([_op(1, 0.1)], 2))
    assert [(o["seq"], o["value"]) for o in await _ops(client, 2)] == [(1, 0.1), (2, 0.2)]
    await client.disconnect()


async def test_a_broadcast_that_never_arrives_is_read_from_the_database() -> None:
    editor, project = await sync_to_async(_project)()
    client = await joined_in_process(project, editor)

    def edit(op_id: str, value: float) -> services.Applied:
        op = OpIn(id=op_id, path="/develop/light/exposure", value=value)
        return writes.apply_ops(editor, project.pk, [op])

    await sync_to_async(edit)("lost", 0.1)  # stored, its broadcast lost
    second = await sync_to_async(edit)("kept", 0.2)
    await broadcast.asend_ops(project.pk, second.ops, second.version)
    ops = await _ops(client, 2)
    assert [(o["seq"], o["id"], o["value"]) for o in ops] == [(1, "lost", 0.1), (2, "kept", 0.2)]
    await client.disconnect()
