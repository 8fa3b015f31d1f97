"""Work enqueued by actor name after commit reaches a worker, on whichever broker is set."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from django.db import transaction
from dramatiq import Worker

from accounts.models import User
from orlume_site.broker import MAINTENANCE_QUEUE, broker
from orlume_site.jobs import enqueue_on_commit
from tests.workers import running_worker

seen: list[str] = []
arrived = threading.Event()


@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, actor_name="tests_record_token", max_retries=0)
def record_token(token: str) -> None:
    seen.append(token)
    arrived.set()


@pytest.fixture
def worker() -> Iterator[Worker]:
    with running_worker(broker, worker_timeout=100, worker_threads=1) as worker:
        yield worker


@pytest.mark.django_db(transaction=True)
def test_a_message_is_sent_only_after_its_transaction_commits(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen.clear()
    arrived.clear()
    sent: list[str] = []
    original = broker.enqueue

    def spy(message: Any, **kw: Any) -> Any:
        # Only this story's actor: the worker also re-enqueues other runs' delayed messages.
        if message.actor_name == "tests_record_token":
            sent.append(message.actor_name)
        return original(message, **kw)

    monkeypatch.setattr(broker, "enqueue", spy)
    with transaction.atomic():
        User.objects.create_user("q@example.com", "long enough password")
        enqueue_on_commit("tests_record_token", "committed", queue=MAINTENANCE_QUEUE)
        assert sent == []  # nothing leaves while the row is uncommitted

    assert arrived.wait(10)
    assert seen == ["committed"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(worker: Worker) -> None:
    seen.clear()
    arrived.clear()

    def write_then_fail() -> None:
        with transaction.atomic():
            enqueue_on_commit("tests_record_token", "rolled back", queue=MAINTENANCE_QUEUE)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        write_then_fail()
    enqueue_on_commit("tests_record_token", "after", queue=MAINTENANCE_QUEUE)
    assert arrived.wait(10)
    assert seen == ["after"]


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_after_commit_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(message: Any, **kw: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(broker, "enqueue", down)
    with transaction.atomic():
        user = User.objects.create_user("outage@example.com", "long enough password")
        enqueue_on_commit("tests_record_token", "lost", queue=MAINTENANCE_QUEUE)

    assert User.objects.filter(pk=user.pk).exists()  # the row stands; the sweep re-sends
    assert "enqueue failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_worker_threads_hand_their_database_connection_back_after_each_message(
    worker: Worker,
) -> None:
    from django.db import connection

    opened: list[bool] = []
    done = threading.Event()

    @dramatiq.actor(queue_name=MAINTENANCE_QUEUE, actor_name="tests_touch_db", max_retries=0)
    def touch_db() -> None:
        User.objects.exists()
        opened.append(connection.connection is not None)
        done.set()

    worker.broker.declare_actor(touch_db)
    enqueue_on_commit("tests_touch_db", queue=MAINTENANCE_QUEUE)
    assert done.wait(10)
    assert opened == [True]
    # After the message the thread's connection is closed (back in the pool, if pooled).
    closed = threading.Event()

    @dramatiq.actor(queue_name=MAINTENANCE_QUEUE, actor_name="tests_check_closed", max_retries=0)
    def check_closed() -> None:
        opened.append(connection.connection is not None)
        closed.set()

    worker.broker.declare_actor(check_closed)
    enqueue_on_commit("tests_check_closed", queue=MAINTENANCE_QUEUE)
    assert closed.wait(10)
    assert opened == [True, False]


def test_an_idle_redis_worker_polls_the_interactive_queue_promptly_and_the_others_lazily() -> None:
    # Given a Redis broker (building one and its consumers touches no server) and a worker's
    # default idle timeout of a second
    from dramatiq.common import dq_name

    from orlume_site.broker import (
        BULK_QUEUE,
        INTERACTIVE_POLL_MS,
        INTERACTIVE_QUEUE,
        PromptRedisBroker,
        build_broker,
    )

    redis_broker = build_broker("redis://127.0.0.1:1/0")
    assert isinstance(redis_broker, PromptRedisBroker)
    # When consumers are made for each queue, as a worker makes them
    timeouts = {
        name: redis_broker.consume(name, timeout=1000).timeout  # type: ignore[attr-defined]
        for name in (INTERACTIVE_QUEUE, dq_name(INTERACTIVE_QUEUE), BULK_QUEUE, MAINTENANCE_QUEUE)
    }
    # Then previews are picked up within INTERACTIVE_POLL_MS of arriving, bulk work within 1 s
    assert timeouts == {
        INTERACTIVE_QUEUE: INTERACTIVE_POLL_MS,
        dq_name(INTERACTIVE_QUEUE): INTERACTIVE_POLL_MS,
        BULK_QUEUE: 1000,
        MAINTENANCE_QUEUE: 1000,
    }
