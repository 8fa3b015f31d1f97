"""The documented worker command on RabbitMQ: an export sent through an amqp:// broker is rendered
by a real `dramatiq` worker process against PostgreSQL and S3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from dramatiq import Message

from exports import services
from exports.models import Export
from orlume_site.broker import BULK_QUEUE, build_broker
from tests.exports.conftest import ask, client_for, project_with_photo, user_on
from tests.exports.test_workers_killed import ROOT, wait_for, worker_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_an_export_sent_through_rabbitmq_is_rendered_by_a_worker_process(tmp_path: Path) -> None:
    amqp = os.environ["ORLUME_TEST_AMQP_URL"]
    rabbit = build_broker(amqp)
    rabbit.declare_queue(BULK_QUEUE)
    rabbit.flush(BULK_QUEUE)
    owner = user_on("pro")
    export_id = ask(client_for(owner), project_with_photo(owner), format="png").json()["id"]
    env: dict[str, Any] = {**worker_env(tmp_path), "BROKER_URL": amqp}
    env.pop("ORLUME_TEST_RENDER_DELAY", None)
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115  (closed below)
    worker = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "render_worker.actors", "--processes", "1",
         "--threads", "1", "--queues", BULK_QUEUE],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        rabbit.enqueue(
            Message(
                queue_name=BULK_QUEUE,
                actor_name=services.EXPORT_ACTOR,
                args=(export_id,),
                kwargs={},
                options={},
            )
        )
        done = wait_for(
            lambda: Export.objects.get(pk=export_id).status in ("complete", "failed"), limit=120
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
        rabbit.close()
    export = Export.objects.get(pk=export_id)
    assert done, (tmp_path / "worker.log").read_text()[-2000:]
    assert export.status == "complete", export.failure_reason
    assert default_storage.exists(export.output_key)
