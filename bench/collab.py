"""Sync room throughput and latency through channels-redis, beside a bare Channels echo.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/collab.py [--clients 200]
        [--rooms 20] [--rate 5] [--seconds 20] [--processes 2]

Starts Daphne processes on loopback serving orlume_site (and one serving the echo consumer in
this file), drives `clients` WebSocket clients in `rooms` rooms at `rate` ops/s each, and prints
sustained ops/s and p50/p99 from send to the sender's receipt of the op's broadcast. Preview
latency needs the render worker's `preview_render` actor, which is not on this branch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orlume_site.settings")

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class Echo(AsyncWebsocketConsumer):
    """The bare baseline: a room group, no validation, no storage."""

    async def connect(self) -> None:
        self.group = "echo." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(self.group, {"type": "echo.msg", "text": text_data})

    async def echo_msg(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


_echo_router: Any = None


async def echo_application(scope: Any, receive: Any, send: Any) -> None:
    """ASGI app for the baseline Daphne (`bench.collab:echo_application`)."""
    global _echo_router
    if _echo_router is None:
        import django

        django.setup()
        _echo_router = URLRouter([path("echo/<str:room>", Echo.as_asgi())])
    await _echo_router(scope, receive, send)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def start_daphne(app: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", app],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def wait_port(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing on {port}")


async def drive(
    urls: list[tuple[str, int]], rate: float, seconds: float, sync: bool
) -> tuple[int, list[float]]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    latencies: list[float] = []
    done = 0
    stop = time.monotonic() + seconds

    async def client(url: str, index: int) -> None:
        nonlocal done
        host = url.split("/")[2]
        async with connect(url, origin=Origin(f"http://{host}"), max_size=2**22) as ws:
            sent: dict[str, float] = {}
            received = 0
            if sync:
                await ws.send(json.dumps({"type": "hello"}))

            async def reader() -> None:
                nonlocal done, received
                async for raw in ws:
                    received += 1
                    msg = json.loads(raw)
                    ids = [o["id"] for o in msg.get("ops", [])] if sync else [msg.get("id")]
                    for op_id in ids:
                        if op_id in sent:
                            latencies.append(time.monotonic() - sent.pop(op_id))
                            done += 1
                    if sync and received % 200 == 0:
                        await ws.send(json.dumps({"type": "seen", "received": received}))

            task = asyncio.create_task(reader())
            await asyncio.sleep(random.random() / rate + 1.0)
            n = 0
            while time.monotonic() < stop:
                op_id = f"c{index}-{n}"
                n += 1
                sent[op_id] = time.monotonic()
                if sync:
                    body = {
                        "type": "op",
                        "ops": [
                            {
                                "id": op_id,
                                "path": "/develop/light/exposure",
                                "value": random.uniform(-1, 1),
                            }
                        ],
                    }
                else:
                    body = {"id": op_id}
                await ws.send(json.dumps(body))
                await asyncio.sleep(1 / rate)
            await asyncio.sleep(1.0)
            task.cancel()

    await asyncio.gather(*(client(url, i) for i, (url, _) in enumerate(urls)))
    return done, latencies if latencies else [float("nan")]


async def wait_all(ports: list[int]) -> None:
    await asyncio.gather(*(wait_port(p) for p in ports))


def setup_rooms(clients: int, rooms: int, ports: list[int]) -> list[tuple[str, int]]:
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import User
    from collab import tickets
    from projects import recipe
    from projects.models import Project, ProjectCollaborator

    call_command("migrate", verbosity=0)
    tag = str(int(time.time()))
    owner = User.objects.create_user(f"bench-owner-{tag}@example.com")
    projects = [
        Project.objects.create(owner=owner, name=f"bench {i}", edits_json=recipe.default())
        for i in range(rooms)
    ]
    urls = []
    for i in range(clients):
        user = User.objects.create_user(f"bench-{tag}-{i}@example.com")
        project = projects[i % rooms]
        ProjectCollaborator.objects.create(project=project, user=user, permission="edit")
        port = ports[i % len(ports)]
        urls.append(
            (
                f"ws://127.0.0.1:{port}/api/v1/sync/{project.pk}?ticket={tickets.issue(user.pk, project.pk)}",
                i,
            )
        )
    return urls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("REDIS_URL (and DATABASE_URL) are required: this measures channels-redis")
    os.environ["COLLAB_OPS_PER_SECOND"] = str(max(30.0, args.rate * 2))
    os.environ["COLLAB_MAX_CONNECTIONS_PER_ROOM"] = str(args.clients)
    base = 18700 + random.randint(0, 500)
    ports = [base + i for i in range(args.processes)]
    procs = [start_daphne("orlume_site.asgi:application", p) for p in ports]
    echo_port = base + args.processes
    procs.append(start_daphne("bench.collab:echo_application", echo_port))
    try:
        asyncio.run(wait_all([*ports, echo_port]))
        urls = setup_rooms(args.clients, args.rooms, ports)
        for name, targets, sync in (
            (
                "echo",
                [
                    (f"ws://127.0.0.1:{echo_port}/echo/r{i % args.rooms}", i)
                    for i in range(args.clients)
                ],
                False,
            ),
            ("sync", urls, True),
        ):
            done, lat = asyncio.run(drive(targets, args.rate, args.seconds, sync))
            print(
                f"{name}: {args.clients} clients / {args.rooms} rooms @ {args.rate}/s: "
                f"{done / args.seconds:.0f} ops/s acknowledged by broadcast, "
                f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, n={len(lat)}"
            )
        print("preview latency: not measured (no preview_render actor on this branch)")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
