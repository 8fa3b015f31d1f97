"""Export, batch, asset and preview actors. Thin: each loads its row(s) and calls one service.

Messages are hints, the rows are the truth, so no actor retries itself: a lost or failed message
is re-sent by the sweep (`exports.services.sweep`), which also fails jobs past their attempts.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orlume_site.settings")

django.setup()

import dramatiq  # noqa: E402
from django.conf import settings  # noqa: E402

from exports import services  # noqa: E402
from orlume_site.broker import BULK_QUEUE, INTERACTIVE_QUEUE, MAINTENANCE_QUEUE  # noqa: E402
from render_worker import previews  # noqa: E402

# Dramatiq's own limit sits past the attempt's deadline: the lease, not this, is what counts.
_EXPORT_TIME_LIMIT_MS = int((settings.EXPORT_ATTEMPT_TIMEOUT_SECONDS + 120) * 1000)


@dramatiq.actor(
    actor_name=services.EXPORT_ACTOR,
    queue_name=BULK_QUEUE,
    max_retries=0,
    time_limit=_EXPORT_TIME_LIMIT_MS,
)
def export_render(export_id: str) -> str:
    return services.export_run(export_id)


@dramatiq.actor(actor_name=services.BATCH_FINISH_ACTOR, queue_name=BULK_QUEUE, max_retries=0)
def batch_finish(batch_id: str) -> str:
    return services.batch_finish(batch_id)


@dramatiq.actor(actor_name=services.SWEEP_ACTOR, queue_name=MAINTENANCE_QUEUE, max_retries=0)
def exports_sweep() -> None:
    """One sweep, for schedulers that prefer sending a message to running `manage.py sweep`."""
    services.Sweeper().once()


@dramatiq.actor(actor_name="asset_process", queue_name=INTERACTIVE_QUEUE, max_retries=1)
def asset_process(asset_id: str) -> None:
    """Thumbnail and proxy of a new original: the projects app's service does the work."""
    from projects.asset_processing import asset_process as process

    process(asset_id)


@dramatiq.actor(
    actor_name="preview_render", queue_name=INTERACTIVE_QUEUE, max_retries=0, time_limit=60_000
)
def preview_render(project_id: str, sequence: int, size: int, request_id: str) -> None:
    """A live preview of the project's current recipe on its cached proxy, handed to the
    collaboration app (see render_worker/previews.py)."""
    previews.preview_render(project_id, sequence, size, request_id)


@dramatiq.actor(actor_name="collab_snapshot", queue_name=MAINTENANCE_QUEUE, max_retries=0)
def collab_snapshot(project_id: str) -> None:
    """The room's trailing snapshot: its last state as a project version once edits stop inside
    the snapshot window (collab.services.schedule_trailing_snapshot sends it, delayed)."""
    from collab import services as room_services

    room_services.snapshot_trailing(project_id)
