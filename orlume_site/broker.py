"""The Dramatiq broker, chosen by BROKER_URL: Redis, RabbitMQ, or the in-process StubBroker.

Importing this module installs the broker globally, before any actor is declared.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from django.conf import settings
from dramatiq.broker import Consumer
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

# Queue names. Interactive work (previews, thumbnails) never waits behind bulk work (exports).
INTERACTIVE_QUEUE = "interactive"
BULK_QUEUE = "bulk"
MAINTENANCE_QUEUE = "maintenance"


class CloseDjangoConnections(dramatiq.Middleware):
    """Hands each worker thread's database connection back after every message.

    Worker threads live long; without this each keeps a pooled connection forever and a busy
    worker drains PostgreSQL's pool. One place, so no actor needs its own try/finally.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        from django.db import connections

        connections.close_all()

    after_skip_message = after_process_message


def _middleware() -> list[dramatiq.Middleware]:
    # Retries stay short: the database sweep, not the broker, is what guarantees completion.
    return [
        CloseDjangoConnections(),
        AgeLimit(),
        TimeLimit(time_limit=30 * 60 * 1000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=3, min_backoff=1000, max_backoff=60_000),
    ]


# An idle Redis consumer polls with a backoff that grows to the worker's timeout (1 s by
# default), so a preview asked for after a quiet spell waited up to a second to be picked up
# (RabbitMQ pushes; the StubBroker blocks on its queue). The interactive queue polls at least
# every 20 ms instead: about 50 cheap calls a second per idle worker process, against previews
# that otherwise take ~60 ms in all. Bulk and maintenance keep the default.
INTERACTIVE_POLL_MS = 20


class PromptRedisBroker(RedisBroker):
    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name in (INTERACTIVE_QUEUE, dq_name(INTERACTIVE_QUEUE)):
            timeout = min(timeout, INTERACTIVE_POLL_MS)
        return super().consume(queue_name, prefetch, timeout)


def build_broker(url: str) -> dramatiq.Broker:
    if url.startswith(("redis://", "rediss://")):
        return PromptRedisBroker(url=url, middleware=_middleware())
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=_middleware())
    if url:
        raise ValueError(
            f"BROKER_URL must be redis://, rediss://, amqp:// or amqps://, not {url!r}"
        )
    return StubBroker(middleware=_middleware())


broker = build_broker(settings.BROKER_URL)
for _queue in (INTERACTIVE_QUEUE, BULK_QUEUE, MAINTENANCE_QUEUE):
    broker.declare_queue(_queue)
dramatiq.set_broker(broker)


def ping() -> None:
    """Raises when the broker cannot be reached."""
    if isinstance(broker, StubBroker):
        return
    if isinstance(broker, RedisBroker):
        broker.client.ping()
        return
    channel = broker.channel  # type: ignore[attr-defined]
    channel.queue_declare(queue=INTERACTIVE_QUEUE, durable=True, passive=True)
