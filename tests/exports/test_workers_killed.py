"""Done-when story: real Redis broker, real worker processes, PostgreSQL and S3. Twenty exports
are enqueued, a worker is killed with SIGKILL mid-render and another started: every export
completes, each file is stored exactly once, nothing stays stuck, and a webhook receiver on
loopback gets a correctly signed `export.completed` for each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from exports import services
from exports.models import Export
from exports.webhooks import services as webhook_services
from exports.webhooks import signing
from tests.exports.conftest import ask, client_for, project_with_photo, user_on

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A webhook receiver on loopback that checks every signature."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                expected = signing.sign(
                    receiver.secret,
                    self.headers["webhook-id"],
                    int(self.headers["webhook-timestamp"]),
                    body,
                )
                valid = expected in self.headers["webhook-signature"].split(" ")
                receiver.received.append({"valid": valid, **json.loads(body)})
                self.send_response(204 if valid else 400)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def worker_env(tmp_path: Path) -> dict[str, str]:
    db = urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{connection.settings_dict['NAME']}")
    return {
        **os.environ,
        "DATABASE_URL": db.geturl(),
        "EXPORT_LEASE_SECONDS": "2",
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "ORLUME_TEST_RENDER_DELAY": "1.5",
        "ORLUME_TEST_WRITE_LOG": str(tmp_path / "writes.log"),
        "DATABASE_POOL_MIN": "1",
    }


def start_worker(env: dict[str, str], tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "tests.exports.slow_worker",
            "--processes",
            "1",
            "--threads",
            "2",
            "--queues",
            "bulk",
            "maintenance",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=open(tmp_path / f"{name}.log", "wb"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Any, *, limit: float, sweep: bool = False) -> bool:
    """Polls (and sweeps, as the sweeper would) until `condition()` or `limit` seconds pass."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if sweep:
            services.sweep()
            webhook_services.webhook_deliveries_sweep()
        if condition():
            return True
        time.sleep(0.5)
    return bool(condition())


def test_twenty_exports_survive_a_worker_killed_mid_render(
    tmp_path: Path, settings: Any, receiver: Receiver
) -> None:
    settings.EXPORT_RESEND_AFTER_SECONDS = 5
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    owner = user_on("pro")
    receiver.secret = webhook_services.endpoint_create(
        user=owner, url=receiver.url, events=["export.completed", "export.failed"]
    ).secret
    env = worker_env(tmp_path)
    first = start_worker(env, tmp_path, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        client = client_for(owner)
        ids = [
            ask(client, project_with_photo(owner, seed=n), format="jpeg").json()["id"]
            for n in range(20)
        ]
        assert len(set(ids)) == 20

        def rendering_now() -> list[Export]:
            return list(Export.objects.filter(status="processing", stage="rendering"))

        assert wait_for(lambda: rendering_now(), limit=120), (tmp_path / "first.log").read_text()
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        killed_pids = {e.lease_token.split(":")[1] for e in rendering_now()}
        victims = [
            e.pk
            for e in Export.objects.filter(status="processing")
            if e.lease_token.split(":")[1] in killed_pids
        ]
        assert victims  # the SIGKILL landed while these were rendering

        second = start_worker(env, tmp_path, "second")

        def all_final() -> bool:
            return not Export.objects.filter(
                pk__in=ids, status__in=["pending", "processing"]
            ).exists()

        assert wait_for(all_final, limit=240, sweep=True), (tmp_path / "second.log").read_text()
        rows = list(Export.objects.filter(pk__in=ids))
        assert {row.status for row in rows} == {"complete"}
        assert all(row.attempts >= 2 for row in rows if row.pk in victims)

        writes = (tmp_path / "writes.log").read_text().split()
        keys = {row.output_key for row in rows}
        # Each file stored once: no key written twice (a worker killed between storing and
        # logging leaves a file its successor reuses instead of writing again).
        assert len(keys) == 20
        assert len(writes) == len(set(writes))
        assert set(writes) <= keys
        assert all(default_storage.exists(key) for key in keys)

        def all_delivered() -> bool:
            return {r["data"]["export_id"] for r in receiver.received} >= set(ids)

        assert wait_for(all_delivered, limit=120, sweep=True)
        completed = [r for r in receiver.received if r["type"] == "export.completed"]
        assert all(r["valid"] for r in receiver.received)
        assert {r["data"]["export_id"] for r in completed} == set(ids)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
