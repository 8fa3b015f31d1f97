"""Enqueue work by actor name once the transaction that wrote its row commits.

Apps never import `render_worker`: they name the actor, so the worker can be deployed alone on
GPU hosts and no import circle forms. The row is the truth; the message is only a hint, and the
sweep re-sends it if it is lost.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from dramatiq import Message

from orlume_site.broker import broker


def enqueue(actor_name: str, *args: Any, queue: str, **kwargs: Any) -> None:
    """Sends now. Prefer `enqueue_on_commit` inside a transaction."""
    broker.enqueue(
        Message(queue_name=queue, actor_name=actor_name, args=args, kwargs=kwargs, options={})
    )


def enqueue_on_commit(actor_name: str, *args: Any, queue: str, **kwargs: Any) -> None:
    transaction.on_commit(lambda: enqueue(actor_name, *args, queue=queue, **kwargs))
