"""Consumer-level stories (Channels' WebsocketCommunicator): bounds with their close codes,
session-cookie sign-in, previews and export events reaching the room."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client as DjangoClient
from django.test import override_settings

from accounts.models import User
from collab import broadcast, previews, tickets
from collab.routing import websocket_urlpatterns
from projects import recipe
from projects.models import Project, ProjectCollaborator

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
def _fresh_layer() -> Iterator[None]:
    # Each story runs its own event loop; the layer's queues must not outlive it.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def project() -> Project:
    owner = User.objects.create_user("owner@example.com")
    project = Project.objects.create(owner=owner, name="Harbour", edits_json=recipe.default())
    project.editor = collaborator(project, "edit")  # type: ignore[attr-defined]
    return project


def collaborator(project: Project, permission: str) -> User:
    user = User.objects.create_user(f"{uuid.uuid4().hex[:8]}@example.com")
    ProjectCollaborator.objects.create(project=project, user=user, permission=permission)
    return user


def editor(project: Project) -> User:
    return project.editor  # type: ignore[attr-defined]


async def connect(project: Project, user: User, *, hello: bool = True) -> WebsocketCommunicator:
    ticket = await sync_to_async(tickets.issue)(user.pk, project.pk)
    comm = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns),
        f"/api/v1/sync/{project.pk}?ticket={ticket}",
        headers=[ORIGIN],
    )
    connected, _ = await comm.connect()
    assert connected
    if hello:
        await comm.send_json_to({"type": "hello"})
        assert (await comm.receive_json_from())["type"] == "state"
    return comm


async def close_code(comm: WebsocketCommunicator) -> int:
    while True:
        output = await comm.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return int(output["code"])


async def next_of(comm: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        message = await comm.receive_json_from(timeout=5)
        if message["type"] == kind:
            return dict(message)


def set_op(op_id: str, value: float) -> dict[str, Any]:
    return {"type": "op", "ops": [{"id": op_id, "path": "/develop/light/exposure", "value": value}]}


def test_a_message_over_64_kib_closes_with_1009(project: Project) -> None:
    async def story() -> int:
        comm = await connect(project, editor(project))
        await comm.send_to(text_data=json.dumps({"type": "seen", "received": 0, "x": "a" * 65536}))
        return await close_code(comm)

    assert asyncio.run(story()) == 1009


def test_a_binary_frame_closes_with_1003(project: Project) -> None:
    async def story() -> int:
        comm = await connect(project, editor(project))
        await comm.send_to(bytes_data=b"\x00")
        return await close_code(comm)

    assert asyncio.run(story()) == 1003


@override_settings(COLLAB={"OPS_PER_SECOND": 0.001, "OP_BURST": 3})
def test_ops_beyond_the_burst_close_with_4429_and_are_not_applied(project: Project) -> None:
    async def story() -> int:
        comm = await connect(project, editor(project))
        for i in range(3):
            await comm.send_json_to(set_op(f"e{i}", i / 10))
            await next_of(comm, "ack")
        await comm.send_json_to(set_op("e3", 1.0))
        return await close_code(comm)

    assert asyncio.run(story()) == 4429
    project.refresh_from_db()
    assert project.edits_json["develop"]["light"]["exposure"] == 0.2


@override_settings(COLLAB={"MAX_CONNECTIONS_PER_ROOM": 2, "MAX_CONNECTIONS_PER_USER": 1})
def test_connection_caps_per_user_and_per_room_close_with_their_codes(project: Project) -> None:
    viewer = collaborator(project, "view")
    third = collaborator(project, "view")

    async def story() -> tuple[int, int]:
        first = await connect(project, editor(project))
        again = await connect(project, editor(project), hello=False)
        user_code = await close_code(again)
        await connect(project, viewer)
        full = await connect(project, third, hello=False)
        room_code = await close_code(full)
        await first.disconnect()
        # A place freed by a disconnect can be taken again: the hello is answered.
        await connect(project, third)
        return user_code, room_code

    assert asyncio.run(story()) == (4431, 4430)


@override_settings(COLLAB={"MAX_UNREAD_MESSAGES": 4})
def test_a_client_that_does_not_keep_up_reading_is_closed_with_4408(project: Project) -> None:
    async def story() -> tuple[int, int]:
        reader = await connect(project, editor(project))
        for i in range(6):  # keeps confirming what it read: stays open
            await reader.send_to(text_data="not json")
            await next_of(reader, "error")
            await reader.send_json_to({"type": "seen", "received": 2 + i})
        await reader.send_json_to(set_op("ok", 0.1))
        ack = await next_of(reader, "ack")
        laggard = await connect(project, editor(project))
        for _ in range(5):
            await laggard.send_to(text_data="not json")
        return ack["seqs"][0], await close_code(laggard)

    seq, code = asyncio.run(story())
    assert seq == 1
    assert code == 4408


def test_a_browser_session_opens_the_room_without_a_ticket(project: Project) -> None:
    browser = DjangoClient()
    browser.force_login(editor(project))
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    async def story() -> tuple[str, int]:
        url = f"/api/v1/sync/{project.pk}"
        comm = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), url, headers=[ORIGIN, (b"cookie", cookie)]
        )
        await comm.connect()
        await comm.send_json_to({"type": "hello"})
        state = await comm.receive_json_from()
        anonymous = WebsocketCommunicator(URLRouter(websocket_urlpatterns), url, headers=[ORIGIN])
        await anonymous.connect()
        return state["role"], await close_code(anonymous)

    assert asyncio.run(story()) == ("edit", 4401)


def test_previews_are_requested_once_in_flight_and_the_newest_sequence_follows(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        previews, "enqueue", lambda actor, *args, queue: enqueued.append((actor, queue, *args))
    )

    async def story() -> dict[str, Any]:
        comm = await connect(project, editor(project), hello=False)
        await comm.send_json_to({"type": "hello", "preview_size": 1600})
        await next_of(comm, "state")
        for i in range(3):
            await comm.send_json_to(set_op(f"e{i}", i / 10))
            await next_of(comm, "ack")
        while (await next_of(comm, "ops"))["ops"][-1]["seq"] < 3:
            pass
        # The room asks for previews after it broadcasts (from a task of its own): wait until
        # the first render is enqueued and the room has asked for the newest seq too.
        want_key = previews._want_key(project.pk, 1600)
        for _ in range(500):
            if enqueued and await sync_to_async(cache.get)(want_key) == 3:
                break
            await asyncio.sleep(0.02)
        first = enqueued[0]
        await sync_to_async(previews.deliver)(project.pk, first[3], 1600, "https://x/p1.jpg")
        return await next_of(comm, "preview")

    preview = asyncio.run(story())
    assert preview == {"type": "preview", "seq": 1, "size": 1600, "url": "https://x/p1.jpg"}
    assert [(e[0], e[1], e[3], e[4]) for e in enqueued] == [
        ("preview_render", "interactive", 1, 1600),
        ("preview_render", "interactive", 3, 1600),  # 2 was coalesced away
    ]
    source = previews.preview_source(project.pk)
    assert source is not None
    assert source.seq == 3


def test_export_events_from_a_worker_thread_reach_everyone_in_the_room(project: Project) -> None:
    viewer = collaborator(project, "view")

    async def story() -> dict[str, Any]:
        comm = await connect(project, viewer)
        event = {"type": "export.progress", "export": "e-1", "progress": 0.5}
        await sync_to_async(broadcast.project_event, thread_sensitive=False)(project.pk, event)
        return await next_of(comm, "event")

    assert asyncio.run(story())["event"]["progress"] == 0.5


def test_an_editor_demoted_to_viewer_mid_session_has_ops_rejected(project: Project) -> None:
    async def story() -> dict[str, Any]:
        comm = await connect(project, editor(project))
        await sync_to_async(project.collaborators.update)(permission="view")
        await comm.send_json_to(set_op("e1", 0.3))
        return await next_of(comm, "reject")

    assert asyncio.run(story())["code"] == "permission_denied"


def test_an_unknown_user_id_in_a_forged_cache_entry_is_refused(project: Project) -> None:
    ghost = User.objects.create_user("ghost@example.com")
    ticket = tickets.issue(ghost.pk, project.pk)
    ghost.delete()

    async def story() -> int:
        comm = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns),
            f"/api/v1/sync/{project.pk}?ticket={ticket}",
            headers=[ORIGIN],
        )
        await comm.connect()
        return await close_code(comm)

    assert asyncio.run(story()) == 4401


def test_a_viewer_removed_while_connected_is_closed_and_hears_nothing_more(
    project: Project,
) -> None:
    """Owner, editor, viewer: the owner removes the viewer mid-session. The viewer's socket is
    closed with 4404 at once, before the editor's next op, instead of going on receiving
    every op, presence update and export event of a project they no longer may see."""
    from projects import services as project_services

    viewer = collaborator(project, "view")

    async def story() -> tuple[int, list[str]]:
        ed = await connect(project, editor(project))
        vi = await connect(project, viewer)
        await database_sync_to_async(project_services.collaborator_remove)(
            user=project.owner, project_id=project.pk, user_id=viewer.pk
        )
        await ed.send_json_to(set_op("e1", 0.4))
        await next_of(ed, "ack")
        seen: list[str] = []
        while True:
            output = await vi.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                return int(output["code"]), seen
            seen.append(json.loads(output["text"])["type"])

    code, seen = asyncio.run(story())
    assert code == 4404
    assert "ops" not in seen


def test_an_outsider_in_a_public_room_is_closed_when_the_project_goes_private(
    project: Project,
) -> None:
    from projects import services as project_services

    Project.objects.filter(pk=project.pk).update(is_public=True)
    outsider = User.objects.create_user("outsider@example.com")

    async def story() -> int:
        comm = await connect(project, outsider)
        await database_sync_to_async(project_services.project_save)(
            user=project.owner, project_id=project.pk, expected_version=None, is_public=False
        )
        return await close_code(comm)

    assert asyncio.run(story()) == 4404


def test_an_editor_demoted_while_connected_is_told_the_new_role(project: Project) -> None:
    from projects import services as project_services

    async def story() -> dict[str, Any]:
        comm = await connect(project, editor(project))
        await database_sync_to_async(project_services.collaborator_update)(
            user=project.owner, project_id=project.pk, user_id=editor(project).pk, permission="view"
        )
        return await next_of(comm, "role")

    assert asyncio.run(story())["role"] == "view"


@pytest.mark.services
def test_room_visits_in_one_event_loop_give_every_pooled_connection_back(project: Project) -> None:
    """Production serves every connection on one long-lived loop: twenty visits (connect,
    hello, an op, leave) leave the PostgreSQL pool with as many connections checked out as
    before, instead of one stranded per executor thread that touched the database."""
    from django.db import connection

    def checked_out() -> int:
        stats = connection.pool.get_stats()  # type: ignore[attr-defined]
        return int(stats["pool_size"]) - int(stats["pool_available"])

    before = checked_out()

    async def story() -> int:
        for i in range(20):
            comm = await connect(project, editor(project))
            await comm.send_json_to(set_op(f"e{i}", i / 100))
            await next_of(comm, "ack")
            await comm.disconnect()
        return checked_out()

    assert asyncio.run(story()) == before
