"""Enqueue work by actor name once the transaction that wrote its row commits.

Apps never import `render_worker`: they name the actor, so the worker can be deployed alone on
GPU hosts and no import circle forms. The row is the truth; the message is only a hint, and the
sweep re-sends it if it is lost — so a broker outage after commit is logged, never raised into the
request that already committed its row.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from dramatiq import Message

from orlume_site.broker import broker

logger = logging.getLogger("orlume.jobs")


def enqueue(
    actor_name: str, *args: Any, queue: str, delay_ms: int | None = None, **kwargs: Any
) -> None:
    """Sends now (after `delay_ms` if given). Prefer `enqueue_on_commit` in a transaction."""
    message: Message[Any] = Message(
        queue_name=queue, actor_name=actor_name, args=args, kwargs=kwargs, options={}
    )
    broker.enqueue(message, delay=delay_ms)


def enqueue_on_commit(
    actor_name: str, *args: Any, queue: str, delay_ms: int | None = None, **kwargs: Any
) -> None:
    def send() -> None:
        try:
            enqueue(actor_name, *args, queue=queue, delay_ms=delay_ms, **kwargs)
        except Exception:
            logger.exception("enqueue failed; the sweep will re-send", extra={"actor": actor_name})

    transaction.on_commit(send)
