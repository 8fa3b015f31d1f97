"""Reads of the ops log."""

from __future__ import annotations

import uuid
from typing import Any

from collab.models import Op, Room


def op_out(op: Op) -> dict[str, Any]:
    """An op as the wire (and REST) show it."""
    return {
        "seq": op.seq,
        "path": op.path,
        "op": op.op,
        "value": op.value if op.op == "set" else None,
        "user": str(op.user_id) if op.user_id else None,
        "id": op.client_op_id or None,
        "kind": op.kind,
    }


def room_of(project_id: uuid.UUID | str) -> Room | None:
    return Room.objects.filter(project_id=project_id).first()


def ops_between(
    project_id: uuid.UUID | str, after: int, through: int | None
) -> list[dict[str, Any]]:
    """Ops with after < seq <= through (through None: to the end), in order."""
    qs = Op.objects.filter(project_id=project_id, seq__gt=after)
    if through is not None:
        qs = qs.filter(seq__lte=through)
    return [op_out(op) for op in qs.order_by("seq")]


def ops_page(project_id: uuid.UUID | str, since: int, limit: int) -> list[dict[str, Any]]:
    qs = Op.objects.filter(project_id=project_id, seq__gt=since).order_by("seq")[:limit]
    return [op_out(op) for op in qs]
