"""Live previews: the room's newest recipe rendered on the project's proxy, stored, delivered.

The collaboration app owns the room side: `collab.previews.preview_source` reads the room's
sequence and recipe together (so the preview is labelled with the state it shows) and
`collab.previews.deliver` sends the signed URL to the room and starts the next coalesced request.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.storage import default_storage

from collab import previews as room_previews
from exports import rendering, services
from kernels import io as kio
from projects import recipe as recipes
from projects import storage as project_storage
from projects.models import Asset, Project

logger = logging.getLogger("orlume.previews")


def preview_render(project_id: str, sequence: int, size: int, request_id: str) -> str | None:
    project = Project.objects.select_related("original").filter(pk=project_id).first()
    if project is None or project.original is None:
        return None
    proxy = (
        Asset.objects.filter(source=project.original, kind=Asset.Kind.PROXY).first()
        or project.original
    )
    sequence, recipe = room_previews.preview_source(project.pk)
    try:
        develop = recipes.parse(recipe).develop
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
    room_previews.deliver(project.pk, int(sequence), int(size), url, request_id)
    return key
