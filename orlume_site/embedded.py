"""The embedded default: Dramatiq worker threads inside the web process.

Only the server entry point (asgi.py) starts them, never tests or management commands.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger("orlume.embedded")
_started = threading.Event()


def start_if_enabled() -> None:
    if _started.is_set():
        return
    _started.set()
    if settings.EXPORT_SWEEPER_IN_WEB:
        from exports.services import Sweeper

        Sweeper().start()
        logger.info("export sweeper started in the web process")
    if not settings.EMBEDDED_WORKERS:
        return
    from dramatiq import Worker

    from orlume_site.broker import broker
    from render_worker import actors  # noqa: F401  (declares the actors on the broker)

    worker = Worker(broker, worker_threads=settings.EMBEDDED_WORKER_THREADS)
    worker.start()
    logger.info("embedded workers started", extra={"threads": settings.EMBEDDED_WORKER_THREADS})
