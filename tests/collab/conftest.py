"""Real Daphne servers on loopback, real WebSocket clients (`websockets`), real HTTP (httpx)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from accounts.models import User
from projects import recipe
from projects.models import Project, ProjectCollaborator

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    url = urlparse(os.environ["DATABASE_URL"])
    return url._replace(path=f"/{db['NAME']}").geturl()


@contextlib.contextmanager
def daphne(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A Daphne process serving orlume_site on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url(), **(extra_env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            str(64 * 1024 + 1024),
            "-v",
            "0",
            "orlume_site.asgi:application",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("daphne exited while starting")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("daphne did not answer /healthz")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait_for_sessions_to_end() -> None:
    """PostgreSQL notices the server's closed connections a moment later; the test database
    cannot be dropped until it has."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


@pytest.fixture(scope="session")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with daphne() as host:
        yield host
    with django_db_blocker.unblock():
        _wait_for_sessions_to_end()


@dataclass
class Person:
    email: str
    access: str
    user: User


@dataclass
class Room:
    """A project with an owner, an editor, a viewer and an outsider, each signed in over HTTP."""

    host: str
    project: Project
    people: dict[str, Person] = field(default_factory=dict)

    def ticket(self, who: str, project: Any = None, host: str | None = None) -> httpx.Response:
        return httpx.post(
            f"http://{host or self.host}/api/v1/sync/ticket",
            json={"project": str(project or self.project.pk)},
            headers={"Authorization": f"Bearer {self.people[who].access}"},
        )

    async def join(
        self, who: str, host: str | None = None, *, hello: bool = True, **fields: Any
    ) -> Client:
        response = self.ticket(who, host=host)
        assert response.status_code == 201, response.text
        client = await Client.open(host or self.host, response.json()["url"])
        if hello:
            await client.send(type="hello", **fields)
            await client.expect(lambda m: m["type"] in ("state", "catchup"))
        return client


def register(host: str, email: str) -> Person:
    response = httpx.post(
        f"http://{host}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": email.split("@")[0]},
    )
    assert response.status_code == 201, response.text
    return Person(email, response.json()["tokens"]["access"], User.objects.get(email=email))


@pytest.fixture
def room(server: str, transactional_db: None) -> Room:
    people = {
        name: register(server, f"{name}@example.com") for name in ("owner", "ed", "vi", "out")
    }
    project = Project.objects.create(
        owner=people["owner"].user, name="Harbour", edits_json=recipe.default()
    )
    ProjectCollaborator.objects.create(project=project, user=people["ed"].user, permission="edit")
    ProjectCollaborator.objects.create(project=project, user=people["vi"].user, permission="view")
    return Room(server, project, people)


class Client:
    """One WebSocket connection that keeps every message it reads."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, host: str, path: str, **kwargs: Any) -> Client:
        ws = await connect(
            f"ws://{host}{path}",
            origin=Origin(f"http://{host}"),
            max_size=2**22,
            **kwargs,
        )
        return cls(ws)

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def expect(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        """The first unread message that matches (failing, not hanging, if none comes)."""
        for index, message in enumerate(self.pending):
            if predicate(message):
                del self.pending[index]
                return message
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            self.seen.append(message)
            if predicate(message):
                return message
            self.pending.append(message)

    async def ops_until(self, seq: int) -> list[dict[str, Any]]:
        """Every op this client is sent up to `seq`, in the order it was sent."""
        out: list[dict[str, Any]] = []
        while not out or out[-1]["seq"] < seq:
            message = await self.expect(lambda m: m["type"] == "ops")
            out.extend(message["ops"])
        return out

    async def closed_with(self) -> int | None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.wait_for(self.ws.recv(), 10)
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


def op(op_id: str, path: str, value: Any) -> dict[str, Any]:
    return {"id": op_id, "path": path, "value": value}


async def joined_in_process(project: Project, user: User) -> WebsocketCommunicator:
    """A connection to the room through Channels' test communicator (this process, this event
    loop, the configured channel layer), synced by its hello."""
    from asgiref.sync import sync_to_async

    from collab import tickets
    from orlume_site.asgi import application

    ticket = await sync_to_async(tickets.issue)(user.pk, project.pk)
    client = WebsocketCommunicator(
        application,
        f"/api/v1/sync/{project.pk}?ticket={ticket}",
        headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")],
    )
    connected, _ = await client.connect()
    assert connected
    await client.send_json_to({"type": "hello"})
    while (await client.receive_json_from(timeout=5))["type"] != "state":
        pass
    return client
