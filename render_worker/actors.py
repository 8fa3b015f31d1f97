"""Dramatiq actors. Thin: load a job's rows, call kernels, store results, report.

Start a worker against Redis or RabbitMQ with:
    BROKER_URL=redis://... dramatiq render_worker.actors --queues interactive bulk maintenance
GPU hosts consume the render queues only, with the CUDA backend:
    RENDER_BACKEND=cuda BROKER_URL=... dramatiq render_worker.actors --queues interactive bulk
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orlume_site.settings")

django.setup()

import dramatiq  # noqa: E402

from orlume_site.broker import MAINTENANCE_QUEUE  # noqa: E402


@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0)
def ping(token: str) -> str:
    """Round-trip check for operators and tests: proves a worker consumes the broker."""
    return token


from render_worker import export_actors, webhook_actors  # noqa: E402, F401  (declare actors)
