"""Export and batch reads: a caller sees only their own jobs; anything else is 404."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from exports.models import Batch, Export, JobStatus
from orlume_site.api.errors import APIError


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise APIError("not_found", f"No such {what}.", status_code=404) from None


def export_get(*, user: User, export_id: Any) -> Export:
    export = Export.objects.filter(pk=_uuid(export_id, "export"), user=user).first()
    if export is None:
        raise APIError("not_found", "No such export.", status_code=404)
    return export


def exports_for_user(
    *, user: User, project_id: str | None = None, status: str | None = None
) -> QuerySet[Export]:
    qs = Export.objects.filter(user=user)
    if project_id:
        qs = (
            qs.filter(project_id=_uuid(project_id, "project"))
            if _is_uuid(project_id)
            else qs.none()
        )
    if status:
        if status not in JobStatus.values:
            raise APIError(
                "invalid_status", f"Statuses: {', '.join(JobStatus.values)}.", field="status"
            )
        qs = qs.filter(status=status)
    return qs


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def batch_get(*, user: User, batch_id: Any) -> Batch:
    batch = Batch.objects.filter(pk=_uuid(batch_id, "batch"), user=user).first()
    if batch is None:
        raise APIError("not_found", "No such batch.", status_code=404)
    return batch


def batches_for_user(*, user: User) -> QuerySet[Batch]:
    return Batch.objects.filter(user=user)
