"""The interactive actors: live previews handed to the collaboration app, asset processing."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.storage import default_storage
from PIL import Image

from collab import broadcast
from exports import events
from render_worker import previews
from tests.exports.conftest import project_with_photo

pytestmark = pytest.mark.django_db


def _listen_to_room(project_id: Any) -> tuple[Any, str]:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(broadcast.room_group(project_id), channel)
    return layer, channel


def test_a_preview_is_rendered_at_the_size_asked_stored_and_sent_to_the_room() -> None:
    project = project_with_photo(width=96, height=64)
    layer, channel = _listen_to_room(project.pk)

    key = previews.preview_render(str(project.pk), 7, 48, "req-1")

    assert key is not None
    assert default_storage.exists(key)
    message = async_to_sync(layer.receive)(channel)
    # Labelled with the room's own sequence (no ops yet), the state the preview really shows.
    assert (message["type"], message["seq"], message["size"]) == ("room.preview", 0, 48)
    assert message["url"]
    with default_storage.open(key, "rb") as fh:
        assert Image.open(fh).size == (48, 32)


@pytest.mark.django_db(transaction=True)
def test_export_events_reach_the_project_room() -> None:
    project = project_with_photo()
    layer, channel = _listen_to_room(project.pk)

    events.emit(
        "export.progress",
        user_id=project.owner_id,
        project_id=str(project.pk),
        data={"export_id": "e1", "progress": 40, "stage": "develop"},
    )

    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "room.event"
    assert message["event"]["type"] == "export.progress"
    assert message["event"]["progress"] == 40


def test_asset_process_actor_hands_the_asset_to_the_projects_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from projects import asset_processing
    from render_worker.export_actors import asset_process

    seen: list[str] = []
    monkeypatch.setattr(asset_processing, "asset_process", seen.append)
    asset_process.fn("a-uuid")
    assert seen == ["a-uuid"]
