"""Live previews: the current recipe rendered on the project's proxy, stored, then delivered.

Delivery goes through `collab.previews.deliver_preview(project_id=, sequence=, size=,
request_id=, url=)`, which the collaboration app owns (it sends `PreviewOut{seq, size, url}` to
the room). Until that function exists the preview is stored and a warning is logged.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from exports import rendering, services
from kernels import io as kio
from projects import recipe as recipes
from projects import storage as project_storage
from projects.models import Asset, Project

logger = logging.getLogger("orlume.previews")


def _deliver(**kwargs: Any) -> bool:
    try:
        module = importlib.import_module("collab.previews")
    except ImportError:
        module = None
    deliver = getattr(module, "deliver_preview", None)
    if deliver is None:
        logger.warning("no collab.previews.deliver_preview yet; preview stored only", extra=kwargs)
        return False
    deliver(**kwargs)
    return True


def preview_render(project_id: str, sequence: int, size: int, request_id: str) -> str | None:
    project = Project.objects.select_related("original").filter(pk=project_id).first()
    if project is None or project.original is None:
        return None
    proxy = (
        Asset.objects.filter(source=project.original, kind=Asset.Kind.PROXY).first()
        or project.original
    )
    try:
        develop = recipes.parse(project.edits_json).develop
    except recipes.RecipeError:
        logger.info("preview skipped: recipe invalid", extra={"project": project_id})
        return None
    with default_storage.open(proxy.key, "rb") as fh:
        decoded = kio.decode(fh.read(), size_hint=size)
    height, width = decoded.rgb.shape[:2]
    out = rendering.develop(
        decoded.rgb,
        develop,
        size=rendering.output_size(width, height, long_edge=size),
        backend=str(getattr(settings, "RENDER_BACKEND", "auto")),
    )
    key = f"previews/{project.pk}/{request_id}-{int(sequence)}.jpg"
    services.store_output(
        key, kio.encode(out, format="jpeg", quality=82, metadata_policy="strip_all")
    )
    url = project_storage.signed_url(key, ttl=int(getattr(settings, "ASSET_URL_TTL_SECONDS", 300)))
    _deliver(
        project_id=str(project.pk),
        sequence=int(sequence),
        size=int(size),
        request_id=request_id,
        url=url,
    )
    return key
