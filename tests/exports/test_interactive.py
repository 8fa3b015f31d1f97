"""The interactive actors: live previews handed to the collaboration app, asset processing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.files.storage import default_storage
from django.db import connections
from PIL import Image

from collab import broadcast
from exports import events
from kernels import io as kio
from render_worker import previews
from tests.exports.conftest import project_with_photo

pytestmark = pytest.mark.django_db


def _closing(action: Callable[[], Any]) -> Callable[[], Any]:
    """Runs `action` and hands the executor thread's connection back to the pool."""

    def run() -> Any:
        try:
            return action()
        finally:
            connections.close_all()

    return run


def _room_receives(project_id: Any, action: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Runs `action` while listening to the project's room; returns its result and the message.

    One event loop for listening: the Redis pub/sub layer keeps one connection per loop.
    """

    async def story() -> tuple[Any, dict[str, Any]]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(broadcast.room_group(project_id), channel)
        result = await sync_to_async(_closing(action), thread_sensitive=False)()
        message = await asyncio.wait_for(layer.receive(channel), timeout=10)
        return result, message

    return asyncio.run(story())


@pytest.mark.django_db(transaction=True)
def test_a_preview_is_rendered_at_the_size_asked_stored_and_sent_to_the_room() -> None:
    project = project_with_photo(width=96, height=64)

    key, message = _room_receives(
        project.pk, lambda: previews.preview_render(str(project.pk), 7, 48, "req-1")
    )

    assert key is not None
    assert default_storage.exists(key)
    # Labelled with the room's own sequence (no ops yet), the state the preview really shows.
    assert (message["type"], message["seq"], message["size"]) == ("room.preview", 0, 48)
    assert message["url"]
    with default_storage.open(key, "rb") as fh:
        assert Image.open(fh).size == (48, 32)


@pytest.mark.django_db(transaction=True)
def test_a_second_preview_of_a_project_renders_from_the_proxy_decoded_the_first_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = project_with_photo(width=96, height=64)
    monkeypatch.setattr(previews, "_cache", previews.ProxyCache(1 << 20))
    decoded: list[int] = []
    decode = kio.decode

    def counting(data: bytes, **options: Any) -> Any:
        decoded.append(len(data))
        return decode(data, **options)

    monkeypatch.setattr(kio, "decode", counting)

    first, _ = _room_receives(
        project.pk, lambda: previews.preview_render(str(project.pk), 1, 48, "req-1")
    )
    project.edits_json["develop"]["light"]["exposure"] = 1.0
    project.save(update_fields=["edits_json"])
    second, _ = _room_receives(
        project.pk, lambda: previews.preview_render(str(project.pk), 2, 48, "req-2")
    )

    assert len(decoded) == 1
    # The same pixels underneath, a different recipe on top: a different, brighter preview.
    with default_storage.open(first, "rb") as a, default_storage.open(second, "rb") as b:
        dark, bright = (np.asarray(Image.open(f).convert("L"), dtype=float) for f in (a, b))
    assert bright.mean() > dark.mean()


@pytest.mark.django_db(transaction=True)
def test_the_proxy_cache_keeps_within_its_bytes_and_drops_the_least_recently_used() -> None:
    originals = [project_with_photo(width=96, height=64, seed=i).original for i in range(3)]
    keys = [o.key for o in originals if o is not None]
    one = 96 * 64 * 3 * 4  # float32 RGB
    cache = previews.ProxyCache(max_bytes=2 * one + one // 2)
    first = cache.get(keys[0], 96)
    cache.get(keys[1], 96)
    assert cache.get(keys[0], 96) is first  # used again: now the most recent
    cache.get(keys[2], 96)  # over the bound: the least recently used (keys[1]) goes

    assert cache.bytes <= cache.max_bytes
    assert cache.get(keys[0], 96) is first
    assert list(cache._items) == [(keys[2], 96), (keys[0], 96)]
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0, 0] = 1.0


@pytest.mark.django_db(transaction=True)
def test_export_events_reach_the_project_room() -> None:
    project = project_with_photo()

    _, message = _room_receives(
        project.pk,
        lambda: events.emit(
            "export.progress",
            user_id=project.owner_id,
            project_id=str(project.pk),
            data={"export_id": "e1", "progress": 40, "stage": "develop"},
        ),
    )

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
