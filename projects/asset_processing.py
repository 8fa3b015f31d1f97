"""The work behind the `asset_process` job: thumbnail and proxy for a new original.

The render worker's actor calls `asset_process(asset_id)`; it is idempotent (a re-sent message
replaces nothing that is already there).
"""

from __future__ import annotations

import hashlib
import io
import logging

from django.core.files.storage import default_storage

from projects import probing, storage
from projects.models import Asset

logger = logging.getLogger("orlume.projects")

THUMBNAIL_EDGE = 512
PROXY_EDGE = 2048


def asset_process(asset_id: str) -> None:
    asset = Asset.objects.filter(pk=asset_id, kind=Asset.Kind.ORIGINAL).first()
    if asset is None or asset.processing == Asset.Processing.READY:
        return
    try:
        for kind, edge in ((Asset.Kind.THUMBNAIL, THUMBNAIL_EDGE), (Asset.Kind.PROXY, PROXY_EDGE)):
            if asset.derived.filter(kind=kind).exists():
                continue
            with default_storage.open(asset.key, "rb") as fh:
                data = probing.make_derived(fh, long_edge=edge)
            key = f"derived/{asset.owner_id}/{asset.id}/{kind}.jpg"
            storage.save_exact(key, io.BytesIO(data))
            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
            Asset.objects.create(
                owner_id=asset.owner_id,
                kind=kind,
                source=asset,
                key=key,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                format="JPEG",
                mime_type="image/jpeg",
                width=width,
                height=height,
            )
    except Exception as exc:
        logger.exception("asset %s processing failed", asset_id)
        Asset.objects.filter(pk=asset.pk).update(
            processing=Asset.Processing.FAILED, processing_error=str(exc)[:200]
        )
        raise
    Asset.objects.filter(pk=asset.pk).update(processing=Asset.Processing.READY)
