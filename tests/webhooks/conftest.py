"""A real HTTP receiver on loopback, users with tokens, and a Dramatiq worker on the broker."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import factory
import pytest
from django.db.models import Q
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import tokens_issue
from exports.webhooks import services
from exports.webhooks.models import WebhookDelivery


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    drip: bool = False  # headers, then one byte every 50 ms until the client goes away


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: dict[str, list[Reply]] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.scheme = "http"
        self.port = 0

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def reply(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.replies.setdefault(path, []).extend(replies)

    def hits(self, path: str = "/hook") -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def _next(self, path: str) -> Reply:
        with self.lock:
            queue = self.replies.get(path)
            return queue.pop(0) if queue else Reply()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with receiver.lock:
                receiver.received.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
            reply = receiver._next(self.path)
            with contextlib.suppress(OSError):
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.drip:
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    while not receiver.stopping.wait(0.05):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        do_POST = do_GET = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-answer are part of the stories


@contextlib.contextmanager
def running_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver = Receiver()
    server = _Server(("127.0.0.1", 0), _handler(receiver))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        receiver.scheme = "https"
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def private_targets(settings: Any) -> None:
    """The on-premises setting, so webhooks may reach the receiver on loopback."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same number of retries, each due at once."""
    monkeypatch.setattr(services, "RETRY_SCHEDULE", (timedelta(0),) * len(services.RETRY_SCHEDULE))


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("first_name")
    password = factory.django.Password(None)  # unusable: these users log in with tokens only


@pytest.fixture
def user(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def outsider(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(who: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=who).access}")
        return client

    return make


@pytest.fixture
def worker() -> Iterator[Callable[[], None]]:
    """A Dramatiq worker on the configured broker (StubBroker, or Redis in pass 2); call the
    yielded function to wait until every webhook message, delayed ones included, is handled."""
    import render_worker.webhook_actors  # noqa: F401  (declares the actors)
    from orlume_site.broker import broker
    from tests.workers import running_worker

    broker.flush_all()
    with running_worker(broker, worker_threads=1, worker_timeout=50) as running:
        yield _drainer(broker, running)


def _drainer(broker: Any, running: Any) -> Callable[[], None]:

    def drain() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            broker.join(services.DELIVER_QUEUE, timeout=30_000)
            running.join()
            # Redis' join sees queued messages only: also wait until no row is due or claimed.
            due = WebhookDelivery.objects.filter(
                Q(status=WebhookDelivery.Status.DELIVERING)
                | Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now())
            )
            if not due.exists():
                return
            time.sleep(0.02)
        raise AssertionError("webhook deliveries did not settle")

    return drain
