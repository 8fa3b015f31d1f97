"""Live previews: the room's newest recipe rendered on the project's proxy, stored, delivered.

The collaboration app owns the room side: `collab.previews.preview_source` reads the room's
sequence and recipe together (so the preview is labelled with the state it shows) and
`collab.previews.deliver` sends the signed URL to the room and starts the next coalesced request.

A room asks for a preview of nearly every op, so each worker process keeps the proxies it
decoded (linear float32, the kernels' input) in memory, newest used last out, within
PREVIEW_PROXY_CACHE_BYTES: a preview then costs a render and an encode, not a storage read
and a JPEG decode too. Proxies never change under their key (a new proxy is a new asset).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage

from collab import previews as room_previews
from exports import rendering, services
from kernels import io as kio
from projects import recipe as recipes
from projects import storage as project_storage
from projects.models import Asset

logger = logging.getLogger("orlume.previews")

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


class ProxyCache:
    """Decoded proxies by (storage key, size hint), least recently used evicted first, their
    pixel bytes bounded. One per process, shared by its worker threads. Arrays handed out are
    read-only: a render that wrote into its input would fail, not spoil the next preview."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, size: int) -> np.ndarray:
        with self._lock:
            found = self._items.get((key, size))
            if found is not None:
                self._items.move_to_end((key, size))
                return found
        with default_storage.open(key, "rb") as fh:
            rgb = kio.decode(fh.read(), size_hint=size).rgb
        rgb.flags.writeable = False
        self._put((key, size), rgb)
        return rgb

    def _put(self, item: tuple[str, int], rgb: np.ndarray) -> None:
        if rgb.nbytes > self.max_bytes:
            return  # never kept: it would push out everything else and still not fit
        with self._lock:
            if item in self._items:
                return
            self._items[item] = rgb
            self.bytes += rgb.nbytes
            while self.bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= dropped.nbytes


_cache: ProxyCache | None = None
# original asset id -> storage key of what previews render on (its proxy, or itself)
_sources: dict[Any, str] = {}
_sources_lock = threading.Lock()


def proxy_cache() -> ProxyCache:
    global _cache
    if _cache is None:
        limit = getattr(settings, "PREVIEW_PROXY_CACHE_BYTES", DEFAULT_CACHE_BYTES)
        _cache = ProxyCache(int(limit))
    return _cache


def _source_key(original_id: Any) -> str | None:
    """The key previews render from: the original's proxy, or the original when it has none
    yet. A proxy, once there, is remembered (it never changes); an original is asked again."""
    with _sources_lock:
        known = _sources.get(original_id)
    if known is not None:
        return known
    proxy = Asset.objects.filter(source_id=original_id, kind=Asset.Kind.PROXY).first()
    if proxy is not None:
        with _sources_lock:
            if len(_sources) > 10_000:
                _sources.clear()
            _sources[original_id] = proxy.key
        return proxy.key
    original = Asset.objects.filter(pk=original_id).values_list("key", flat=True).first()
    return str(original) if original else None


def preview_render(project_id: str, sequence: int, size: int, request_id: str) -> str | None:
    source = room_previews.preview_source(project_id)
    if source is None or source.original_id is None:
        return None
    key = _source_key(source.original_id)
    if key is None:
        return None
    try:
        develop = recipes.parse(source.recipe).develop
    except recipes.RecipeError:
        logger.info("preview skipped: recipe invalid", extra={"project": project_id})
        return None
    rgb = proxy_cache().get(key, size)
    height, width = rgb.shape[:2]
    out = rendering.develop(
        rgb,
        develop,
        size=rendering.output_size(width, height, long_edge=size),
        backend=str(getattr(settings, "RENDER_BACKEND", "auto")),
    )
    stored = f"previews/{project_id}/{request_id}-{int(source.seq)}.jpg"
    services.store_output(
        stored, kio.encode(out, format="jpeg", quality=82, metadata_policy="strip_all")
    )
    ttl = int(getattr(settings, "ASSET_URL_TTL_SECONDS", 300))
    url = project_storage.signed_url(stored, ttl=ttl)
    room_previews.deliver(project_id, int(source.seq), int(size), url, request_id)
    return stored
