"""Short-lived single-use tickets that let an API client open the sync WebSocket.

A JWT never travels in a URL: the client exchanges it for a ticket (`POST /api/v1/sync/ticket`)
and connects with `?ticket=...` within TICKET_TTL_SECONDS. The cache (Redis in production) holds
only the ticket's hash; taking it deletes it, and only the caller whose delete removed it wins,
so a ticket opens at most one connection across every process.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from django.core.cache import cache

from collab.conf import limit

PREFIX = "collab:ticket:"


def _key(ticket: str) -> str:
    return PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def issue(user_id: Any, project_id: uuid.UUID) -> str:
    ticket = secrets.token_urlsafe(32)
    cache.set(
        _key(ticket),
        {"user": str(user_id), "project": str(project_id)},
        timeout=limit("TICKET_TTL_SECONDS"),
    )
    return ticket


def redeem(ticket: str, project_id: Any) -> str | None:
    """The user id the ticket was issued to, if it is valid for this project. Single use."""
    if not ticket or len(ticket) > 100:
        return None
    key = _key(ticket)
    grant = cache.get(key)
    if grant is None or not cache.delete(key):
        return None
    if grant["project"] != str(project_id):
        return None
    return str(grant["user"])
