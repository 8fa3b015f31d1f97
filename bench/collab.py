"""Sync room throughput and latency through channels-redis, beside a bare Channels echo.

    DATABASE_URL=postgres://... REDIS_URL=redis://host:6379/N BROKER_URL=redis://host:6379/M \
        python bench/collab.py [--clients 200] [--rooms 20] [--rate 5] [--seconds 40]
        [--processes 2] [--client-processes 1] [--previews 40] [--skip-previews]

Three halves, one after the other, on the same machine:

1. echo: `--processes` Daphnes serving the bare echo consumer below (a room group, nothing else).
2. sync: `--processes` Daphnes serving orlume_site (validation, one transaction per batch,
   sequence numbers, acks), the same clients, rooms and rate.
3. previews: a real Dramatiq worker (`render_worker.actors`, CPU backend) on BROKER_URL; one
   client in a room of a project made from a real photo (skimage.data) uploaded through the
   normal services asks for 1600 px previews and sends an op every 1.5 s; latency is op sent →
   `preview` message for that op's sequence received.

Clients are `websockets` connections in one asyncio process (or `--client-processes` forked
ones). Every client sends `rate` ops/s with a random phase; a latency is send → the sender's own
receipt of the broadcast (every member of the room receives it too, so each op costs room-size
deliveries). Only ops sent inside the measured window count; ops/s is broadcasts received for
those ops per second of window. Tickets are issued through the cache just before connecting
(they live 30 s: issuing all of them before the echo half made every sync connection close with
4401, which is why an earlier version of this file recorded 0 sync ops). At 200 clients @ 1 op/s a
second cause remained, saturation, not measurement: acks came back (~80%) but broadcasts ran
tens of seconds behind, so no op sent in the window came back before the end; `never_back`
and the ack latency now show that instead of a bare n=0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

DEBUG = bool(os.environ.get("BENCH_DEBUG"))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orlume_site.settings")

from channels.consumer import get_handler_name  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class Echo(AsyncWebsocketConsumer):
    """The bare baseline: a room group, no validation, no storage."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch hops to its one database thread (close_old_connections) for
        # every message, broadcast deliveries included: that hop, not the channel layer, is
        # what saturated the baseline at ~500 ops/s. The echo touches no database; the sync
        # consumer skips the hop in the same way (collab.consumers.SyncConsumer.dispatch).
        await getattr(self, get_handler_name(message))(message)

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
    """ASGI app for the baseline Daphnes (`bench.collab:echo_application`)."""
    global _echo_router
    if _echo_router is None:
        import django

        django.setup()
        _echo_router = URLRouter([path("echo/<str:room>", Echo.as_asgi())])
    await _echo_router(scope, receive, send)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
    )


# Served as in production: DEBUG off (no query log, no debug cursor wrapper). WebSockets on
# loopback: no TLS redirect.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-" + "k" * 60,
    "SECURE_SSL_REDIRECT": "0",
}


# The worker runs as deployed: its interactive queue's prompt pickup on Redis comes from
# orlume_site.broker (a Redis consumer's idle backoff otherwise grows to 1 s).
INTERACTIVE_WORKER_ENV: dict[str, str] = {}


def start_daphne(app: str, port: int) -> subprocess.Popen[bytes]:
    return start(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", app],
        PRODUCTION_ENV,
    )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_port(port: int) -> None:
    for _ in range(600):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing on {port}")


async def wait_ports(ports: list[int]) -> None:
    await asyncio.wait_for(asyncio.gather(*(wait_port(p) for p in ports)), 60)


# --- load ----------------------------------------------------------------------------------------


async def _drive(
    targets: list[tuple[int, str]],
    rate: float,
    t0: float,
    warmup: float,
    seconds: float,
    sync: bool,
) -> dict[str, Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Origin

    lat: list[float] = []
    ack_lat: list[float] = []
    # never_back: ops sent in the window whose own broadcast had not come back by the end (3 s
    # after the window): a saturated server shows here, not as a latency.
    counts = {"sent": 0, "received": 0, "rejected": 0, "closed": 0, "errors": 0, "acks": 0}
    close_codes: dict[str, int] = {}
    types: dict[str, int] = {}
    window = (t0 + warmup, t0 + warmup + seconds)
    end = window[1] + 3.0  # in-flight ops may still arrive
    gate = asyncio.Semaphore(50)

    async def client(index: int, url: str) -> None:
        host = url.split("/")[2]
        async with gate:
            ws = await connect(url, origin=Origin(f"http://{host}"), max_size=2**22)
            if sync:
                await ws.send('{"type":"hello"}')
                while '"state"' not in await ws.recv():
                    pass
        sent: dict[str, float] = {}
        acked: dict[str, float] = {}
        marker = f'"c{index}-'
        received = 0

        async def reader() -> None:
            nonlocal received
            async for raw in ws:
                now = time.monotonic()
                received += 1
                counts["received"] += 1
                if sync and received % 500 == 0:
                    await ws.send(f'{{"type":"seen","received":{received}}}')
                if DEBUG:
                    t = json.loads(raw).get("type", "echo")
                    types[t] = types.get(t, 0) + 1
                if marker not in raw:  # someone else's op: the cheap common case
                    continue
                msg = json.loads(raw)
                kind = msg.get("type", "echo")
                if kind == "reject":
                    counts["rejected"] += 1
                    continue
                if kind == "ack":
                    counts["acks"] += 1
                    for op_id in msg["ids"]:
                        stamp = acked.pop(op_id, None)
                        if stamp is not None and window[0] <= stamp < window[1]:
                            ack_lat.append(now - stamp)
                    continue
                ids = [o["id"] for o in msg["ops"]] if kind == "ops" else [msg.get("id")]
                for op_id in ids:
                    stamp = sent.pop(op_id, None)
                    if stamp is not None and window[0] <= stamp < window[1]:
                        lat.append(now - stamp)

        task = asyncio.create_task(reader())
        try:
            await asyncio.sleep(max(0.0, t0 - time.monotonic()) + random.random() / rate)
            n = 0
            next_at = time.monotonic()
            while next_at < window[1]:
                op_id = f"c{index}-{n}"
                n += 1
                if sync:
                    value = random.uniform(-1, 1)
                    body = (
                        f'{{"type":"op","ops":[{{"id":"{op_id}",'
                        f'"path":"/develop/light/exposure","value":{value:.4f}}}]}}'
                    )
                else:
                    body = f'{{"id":"{op_id}"}}'
                sent[op_id] = time.monotonic()
                if sync:
                    acked[op_id] = sent[op_id]
                counts["sent"] += 1
                await ws.send(body)
                next_at += 1 / rate
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            await asyncio.sleep(max(0.0, end - time.monotonic()))
        except ConnectionClosed:
            pass
        finally:
            in_window = [t for t in sent.values() if window[0] <= t < window[1]]
            counts["never_back"] = counts.get("never_back", 0) + len(in_window)
            if ws.close_code is not None and ws.close_code != 1000:
                counts["closed"] += 1
                close_codes[str(ws.close_code)] = close_codes.get(str(ws.close_code), 0) + 1
            task.cancel()
            await ws.close()

    results = await asyncio.gather(*(client(i, u) for i, u in targets), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            counts["errors"] += 1
            close_codes[type(r).__name__] = close_codes.get(type(r).__name__, 0) + 1
    if DEBUG:
        print("message types", types, flush=True)
    return {"lat": lat, "ack_lat": ack_lat, "counts": counts, "close_codes": close_codes}


def _child(targets: list[tuple[int, str]], rate: float, t0: float, warmup: float,
           seconds: float, sync: bool, out: Any) -> None:  # fmt: skip
    out.put(asyncio.run(_drive(targets, rate, t0, warmup, seconds, sync)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[int, int]:
    """(all, idle) jiffies of the machine: everyone's work, other engineers' included."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return sum(values), values[3] + values[4]


class CpuProbe(threading.Thread):
    """CPU spent inside the measured window by the servers and by the clients' process, and
    how busy the whole machine was: latency on a shared box means little without them."""

    def __init__(self, servers: list[int], start_at: float, end_at: float) -> None:
        super().__init__(daemon=True)
        self.pids = {"servers": servers, "client": [os.getpid()]}
        self.start_at, self.end_at = start_at, end_at
        self.used: dict[str, float] = {}
        self.busy = float("nan")
        self.load = ""

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        before = {k: sum(_cpu_seconds(p) for p in v) for k, v in self.pids.items()}
        machine = _machine_busy()
        time.sleep(max(0.0, self.end_at - time.monotonic()))
        after = {k: sum(_cpu_seconds(p) for p in v) for k, v in self.pids.items()}
        total, idle = (a - b for a, b in zip(_machine_busy(), machine, strict=True))
        self.used = {k: after[k] - before[k] for k in before}
        self.busy = 100.0 * (total - idle) / max(1, total)
        self.load = Path("/proc/loadavg").read_text().split(" ")[0]


def drive(
    targets: list[tuple[int, str]], rate: float, warmup: float, seconds: float, sync: bool,
    processes: int, servers: list[int],
) -> dict[str, Any]:  # fmt: skip
    # CLOCK_MONOTONIC is one clock for every process on the machine: one start for all.
    t0 = time.monotonic() + 3.0 + len(targets) / 100
    probe = CpuProbe(servers, t0 + warmup, t0 + warmup + seconds)
    probe.start()
    result = _drive_all(targets, rate, t0, warmup, seconds, sync, processes, probe)
    probe.join()
    result["cpu"] = probe
    return result


def _drive_all(
    targets: list[tuple[int, str]], rate: float, t0: float, warmup: float, seconds: float,
    sync: bool, processes: int, probe: CpuProbe,
) -> dict[str, Any]:  # fmt: skip
    if processes <= 1:
        return asyncio.run(_drive(targets, rate, t0, warmup, seconds, sync))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    kids = [
        ctx.Process(
            target=_child, args=(targets[i::processes], rate, t0, warmup, seconds, sync, out)
        )
        for i in range(processes)
    ]
    for kid in kids:
        kid.start()
    # Started seconds before the window opens: the probe counts the clients that do the work.
    probe.pids["client"] = [kid.pid for kid in kids if kid.pid is not None]
    parts = [out.get() for _ in kids]
    for kid in kids:
        kid.join()
    merged: dict[str, Any] = {"lat": [], "ack_lat": [], "counts": {}, "close_codes": {}}
    for part in parts:
        merged["lat"].extend(part["lat"])
        merged["ack_lat"].extend(part["ack_lat"])
        for key in ("counts", "close_codes"):
            for k, v in part[key].items():
                merged[key][k] = merged[key].get(k, 0) + v
    return merged


def report(name: str, args: argparse.Namespace, result: dict[str, Any]) -> float:
    lat = result["lat"]
    rate = len(lat) / args.seconds
    print(
        f"{name}: {args.clients} clients / {args.rooms} rooms @ {args.rate:g} ops/s each "
        f"(offered {args.clients * args.rate:.0f} ops/s, "
        f"{args.clients * args.rate * args.clients / args.rooms:.0f} deliveries/s), "
        f"{args.seconds:g} s window: {rate:.0f} ops/s broadcast back, "
        f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, n={len(lat)}; "
        + (
            f"ack p50 {pct(result['ack_lat'], 0.5):.1f} ms, p99 {pct(result['ack_lat'], 0.99):.1f}"
            f" ms, n={len(result['ack_lat'])}; "
            if result["ack_lat"]
            else ""
        )
        + f"{result['counts']} closes={result['close_codes']}",
        flush=True,
    )
    cpu: CpuProbe = result["cpu"]
    servers = cpu.used.get("servers", float("nan"))
    print(
        f"  {name} CPU in the window: servers {servers / args.seconds * 100:.0f}% of a core "
        f"({servers / max(1, len(lat)) * 1e6:.0f} us per op broadcast back), client processes "
        f"{cpu.used.get('client', float('nan')) / args.seconds * 100:.0f}% of a core; "
        f"machine {cpu.busy:.0f}% busy (all users), load {cpu.load}",
        flush=True,
    )
    return rate


# --- fixtures ------------------------------------------------------------------------------------


def setup_rooms(clients: int, rooms: int) -> list[tuple[Any, Any]]:
    """(user, project) per client: `rooms` projects, one editor account per client."""
    from accounts.models import User
    from projects import recipe
    from projects.models import Project, ProjectCollaborator

    tag = f"{int(time.time())}-{random.randint(0, 9999)}"
    owner = User.objects.create_user(f"bench-owner-{tag}@example.com")
    projects = [
        Project.objects.create(owner=owner, name=f"bench {i}", edits_json=recipe.default())
        for i in range(rooms)
    ]
    people = []
    for i in range(clients):
        user = User.objects.create_user(f"bench-{tag}-{i}@example.com")
        project = projects[i % rooms]
        ProjectCollaborator.objects.create(project=project, user=user, permission="edit")
        people.append((user, project))
    return people


def photo_project() -> Any:
    """A project from skimage's `chelsea` photo, enlarged to 3000 px on the long edge, uploaded
    through projects.services (grant, bytes to storage, complete, create) and proxied (2048 px)
    by the asset service, as an upload from the browser would be."""
    import hashlib
    import io

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image
    from skimage import data

    from accounts.models import User
    from projects import services
    from projects.asset_processing import asset_process
    from projects.models import Upload

    photo = Image.fromarray(data.chelsea()).resize((3000, 1995), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    photo.save(buf, format="JPEG", quality=92)
    body = buf.getvalue()
    user = User.objects.create_user(f"bench-photo-{time.time()}@example.com")
    user.plan_type = "pro"
    user.save(update_fields=["plan_type"])
    grant = services.upload_grant(
        user=user, filename="chelsea.jpg", size=len(body), sha256=hashlib.sha256(body).hexdigest()
    )
    upload = Upload.objects.get(pk=grant["upload_id"])
    default_storage.save(upload.key, ContentFile(body))
    project, _ = services.project_create(user=user, name="chelsea", upload_key=upload.key)
    asset_process(str(project.original_id))
    return user, project


async def previews(url: str, count: int) -> list[float]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    lat: list[float] = []
    host = url.split("/")[2]
    async with connect(url, origin=Origin(f"http://{host}"), max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "hello", "preview_size": 1600}))
        while json.loads(await ws.recv())["type"] != "state":
            pass
        # The first op's preview warms the worker (imports, proxy read): not counted.
        for i in range(-1, count):
            await ws.send(
                json.dumps(
                    {
                        "type": "op",
                        "ops": [
                            {"id": f"p{i}", "path": "/develop/light/exposure", "value": i % 7 / 10}
                        ],
                    }
                )
            )
            t = time.monotonic()
            seq = None
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if msg["type"] == "ack":
                    seq = msg["seqs"][-1]
                elif msg["type"] == "preview" and seq is not None and msg["seq"] >= seq:
                    if i >= 0:
                        lat.append(time.monotonic() - t)
                    break
            await asyncio.sleep(1.5)  # one at a time: no coalescing in the figure
    return lat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--previews", type=int, default=40)
    parser.add_argument("--skip-previews", action="store_true")
    parser.add_argument("--only", choices=["echo", "sync", "previews"], default=None)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
        raise SystemExit("REDIS_URL and DATABASE_URL are required: this measures channels-redis")
    if not os.environ.get("BROKER_URL") and not args.skip_previews:
        raise SystemExit("BROKER_URL is required for the preview half (or --skip-previews)")
    os.environ["COLLAB_OPS_PER_SECOND"] = str(max(30.0, args.rate * 2))
    os.environ["COLLAB_MAX_CONNECTIONS_PER_ROOM"] = str(args.clients)
    os.environ["EMBEDDED_WORKERS"] = "0"
    os.environ["RENDER_BACKEND"] = "cpu"

    import django

    django.setup()
    from django.core.management import call_command

    from collab import tickets

    call_command("migrate", verbosity=0)
    base = 18700 + random.randint(0, 500)
    ports = [base + i for i in range(args.processes)]
    rooms = args.rooms
    echo_rate = sync_rate = 0.0

    if args.only in (None, "echo"):
        procs = [start_daphne("bench.collab:echo_application", p) for p in ports]
        try:
            asyncio.run(wait_ports(ports))
            targets = [
                (i, f"ws://127.0.0.1:{ports[i % len(ports)]}/echo/r{i % rooms}")
                for i in range(args.clients)
            ]
            result = drive(targets, args.rate, args.warmup, args.seconds, False,
                           args.client_processes, [p.pid for p in procs])  # fmt: skip
            echo_rate = report("echo", args, result)
        finally:
            stop(procs)

    procs = [start_daphne("orlume_site.asgi:application", p) for p in ports]
    try:
        asyncio.run(wait_ports(ports))
        if args.only in (None, "sync"):
            people = setup_rooms(args.clients, rooms)
            targets = [
                (
                    i,
                    f"ws://127.0.0.1:{ports[i % len(ports)]}/api/v1/sync/{project.pk}"
                    f"?ticket={tickets.issue(user.pk, project.pk)}",
                )
                for i, (user, project) in enumerate(people)
            ]
            result = drive(targets, args.rate, args.warmup, args.seconds, True,
                           args.client_processes, [p.pid for p in procs])  # fmt: skip
            sync_rate = report("sync", args, result)
            if echo_rate:
                print(f"sync/echo throughput ratio: {sync_rate / echo_rate:.2f}")
        if args.only in (None, "previews") and not args.skip_previews:
            worker = start(
                [sys.executable, "-m", "dramatiq", "render_worker.actors", "--queues",
                 "interactive", "--processes", "1", "--threads", "1"],
                INTERACTIVE_WORKER_ENV,
            )  # fmt: skip
            try:
                user, project = photo_project()
                url = (
                    f"ws://127.0.0.1:{ports[0]}/api/v1/sync/{project.pk}"
                    f"?ticket={tickets.issue(user.pk, project.pk)}"
                )
                lat = asyncio.run(previews(url, args.previews))
                print(
                    f"previews: 1600 px, CPU backend, one worker process/thread, one op every "
                    f"1.5 s: op sent -> preview received p50 {pct(lat, 0.5):.0f} ms, "
                    f"p99 {pct(lat, 0.99):.0f} ms, n={len(lat)}",
                    flush=True,
                )
            finally:
                stop([worker])
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
