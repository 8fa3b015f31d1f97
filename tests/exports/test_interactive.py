"""The interactive actors: live previews handed to the collaboration app, asset processing."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from django.core.files.storage import default_storage

from render_worker import previews
from tests.exports.conftest import project_with_photo

pytestmark = pytest.mark.django_db


def test_a_preview_is_rendered_at_the_size_asked_stored_and_delivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivered: list[dict[str, Any]] = []
    collab_previews = types.ModuleType("collab.previews")
    collab_previews.deliver_preview = lambda **kw: delivered.append(kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "collab.previews", collab_previews)
    project = project_with_photo(width=96, height=64)
    key = previews.preview_render(str(project.pk), 7, 48, "req-1")
    assert key is not None
    assert default_storage.exists(key)
    assert [(d["sequence"], d["size"], d["request_id"]) for d in delivered] == [(7, 48, "req-1")]
    from PIL import Image

    with default_storage.open(key, "rb") as fh:
        assert Image.open(fh).size == (48, 32)


def test_a_preview_without_the_collab_function_is_stored_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "collab.previews", None)
    project = project_with_photo()
    assert previews.preview_render(str(project.pk), 1, 32, "r") is not None
    assert "no collab.previews.deliver_preview" in caplog.text


def test_asset_process_actor_hands_the_asset_to_the_projects_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from projects import asset_processing
    from render_worker.export_actors import asset_process

    seen: list[str] = []
    monkeypatch.setattr(asset_processing, "asset_process", seen.append)
    asset_process.fn("a-uuid")
    assert seen == ["a-uuid"]
