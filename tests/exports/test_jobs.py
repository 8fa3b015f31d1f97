"""Claim, lease, sweep and the worker's pipeline: no job is lost, stuck or silently failed."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from exports import events, rendering, services
from exports.models import Export
from orlume_site.broker import broker
from tests.exports.conftest import ask, client_for, project_with_photo
from tests.workers import running_worker

pytestmark = pytest.mark.django_db


def new_export(**options: Any) -> Export:
    project = project_with_photo(exposure=options.pop("exposure", 0.0))
    response = ask(client_for(project.owner), project, **options)
    assert response.status_code == 202, response.json()
    return Export.objects.get(pk=response.json()["id"])


@pytest.fixture
def recorded() -> Any:
    seen: list[events.Event] = []
    events.register_sink(seen.append)
    yield seen
    events.unregister_sink(seen.append)


def test_only_one_worker_claims_a_row_and_the_loser_gets_nothing() -> None:
    export = new_export()
    first = services.export_claim(export.pk, worker="a")
    assert first is not None
    assert services.export_claim(export.pk, worker="b") is None
    row = Export.objects.get(pk=export.pk)
    assert (row.status, row.attempts, row.lease_token) == ("processing", 1, first[1].token)


def test_an_expired_lease_is_claimable_and_the_old_workers_late_writes_are_discarded() -> None:
    export = new_export()
    _, old = services.export_claim(export.pk, worker="old")  # type: ignore[misc]
    Export.objects.filter(pk=export.pk).update(lease_expires_at=timezone.now() - timedelta(1))
    claimed = services.export_claim(export.pk, worker="new")
    assert claimed is not None
    assert claimed[0].attempts == 2
    with pytest.raises(services.LeaseLost):
        services.ProgressReporter(export, old)("rendering", 0.5)
    assert not services.export_complete(old, size=1, width=1, height=1, timings={})
    assert not services.lease_renew(old)
    assert Export.objects.get(pk=export.pk).lease_token == claimed[1].token


def test_a_lease_is_not_renewed_past_the_attempts_deadline() -> None:
    export = new_export()
    _, lease = services.export_claim(export.pk)  # type: ignore[misc]
    assert services.lease_renew(lease)
    lease.attempt_deadline = timezone.now() - timedelta(seconds=1)
    assert not services.lease_renew(lease)


def test_a_run_renders_stores_under_the_deterministic_key_and_reports_through_events(
    recorded: list[events.Event], django_capture_on_commit_callbacks: Any
) -> None:
    export = new_export(format="jpeg", quality=85)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.export_run(export.pk) == "complete"
    row = Export.objects.get(pk=export.pk)
    assert (row.status, row.progress, row.stage, row.attempts) == ("complete", 100, "done", 1)
    assert default_storage.size(row.output_key) == row.output_size
    assert row.output_key == services.output_key(
        source_sha256=row.source_sha256,
        recipe=row.recipe,
        renderer=rendering.renderer_version(),
        options={
            **services.ExportOptions(format="jpeg", quality=85).as_dict(),
            "cap": 3840,
            "watermark": False,
        },
    )
    assert {"decoding_ms", "rendering_ms", "encoding_ms"} <= set(row.timings)
    types = [e.type for e in recorded]
    assert types[-1] == "export.completed"
    assert "export.progress" in types
    stages = [e.data["stage"] for e in recorded if e.type == "export.progress"]
    assert stages[0] == "loading"
    assert "rendering" in stages
    assert "storing" in stages


def test_asking_again_for_the_same_export_completes_at_once_from_the_stored_file() -> None:
    export = new_export(format="png")
    services.export_run(export.pk)
    again = ask(client_for(export.user), export.project, format="png").json()
    assert again["status"] == "complete"
    assert again["id"] != str(export.pk)
    assert Export.objects.get(pk=again["id"]).output_key == export.output_key
    different = ask(client_for(export.user), export.project, format="png", quality=50).json()
    assert different["status"] == "pending"  # other options: another file, rendered anew
    assert Export.objects.get(pk=different["id"]).output_key != export.output_key


def test_a_different_recipe_gives_a_different_key() -> None:
    a = new_export(exposure=0.5)
    project = a.project
    project.edits_json["develop"]["light"]["exposure"] = 1.0
    project.save(update_fields=["edits_json"])
    b = ask(client_for(project.owner), project).json()
    assert Export.objects.get(pk=b["id"]).output_key != a.output_key


def test_a_storage_failure_mid_write_retries_then_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    export = new_export()

    def broken(key: str, data: bytes) -> None:
        raise OSError("disk full while writing")

    monkeypatch.setattr(services, "store_output", broken)
    results = [services.export_run(export.pk) for _ in range(3)]
    assert results == ["retry", "retry", "failed"]
    row = Export.objects.get(pk=export.pk)
    assert (row.status, row.failure_code, row.attempts) == ("failed", "attempts_exhausted", 3)
    assert "disk full while writing" in row.failure_reason
    assert "3 attempts" in row.failure_reason
    assert not default_storage.exists(row.output_key)


def test_a_missing_original_fails_at_once_with_the_reason(recorded: list[events.Event]) -> None:
    export = new_export()
    default_storage.delete(export.source_key)
    assert services.export_run(export.pk) == "failed"
    row = Export.objects.get(pk=export.pk)
    assert (row.failure_code, row.attempts) == ("missing_original", 1)
    assert row.failure_reason == "The original photo is missing from storage."


def test_a_recipe_that_no_longer_validates_fails_the_job_with_its_reason() -> None:
    export = new_export()
    Export.objects.filter(pk=export.pk).update(
        recipe={**export.recipe, "develop": {"light": {"exposure": "bright"}}}
    )
    assert services.export_run(export.pk) == "failed"
    row = Export.objects.get(pk=export.pk)
    assert row.failure_code == "recipe_invalid"
    assert row.failure_reason.startswith("The recipe no longer validates")


def test_sweep_requeues_a_killed_workers_job_and_fails_it_after_max_attempts() -> None:
    export = new_export()
    for attempt in (1, 2, 3):
        assert services.export_claim(export.pk, worker=f"killed-{attempt}") is not None
        later = timezone.now() + timedelta(seconds=services.lease_seconds() + 1)
        counts = services.sweep(now=later)
        row = Export.objects.get(pk=export.pk)
        if attempt < 3:
            assert counts["requeued"] == 1
            assert row.status == "pending"
            assert row.last_error == "the worker stopped (killed or lost) before finishing"
    assert (row.status, row.failure_code) == ("failed", "worker_lost")
    assert row.failure_reason.startswith("Failed after 3 attempts")


def test_a_worker_hung_in_native_code_fails_with_deadline_exceeded(settings: Any) -> None:
    settings.EXPORT_MAX_ATTEMPTS = 1
    export = new_export()
    _, _lease = services.export_claim(export.pk, worker="hung")  # type: ignore[misc]
    # The heartbeat kept renewing up to the attempt's deadline, then stopped.
    deadline = timezone.now() + timedelta(seconds=5)
    Export.objects.filter(pk=export.pk).update(
        attempt_deadline_at=deadline, lease_expires_at=deadline + timedelta(seconds=30)
    )
    services.sweep(now=deadline + timedelta(seconds=31))
    row = Export.objects.get(pk=export.pk)
    assert (row.status, row.failure_code) == ("failed", "deadline_exceeded")
    assert "deadline exceeded" in row.failure_reason
    assert "native code" in row.failure_reason


def test_sweep_resends_a_pending_job_whose_message_was_lost(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    export = new_export()
    sent: list[Any] = []
    monkeypatch.setattr(broker, "enqueue", lambda message, **kw: sent.append(message.args))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep()["resent"] == 0  # just enqueued: not lost yet
        assert services.sweep(now=timezone.now() + timedelta(minutes=5))["resent"] == 1
        # Re-sent once: the next re-send waits twice as long (a backlog is not a loss).
        assert services.sweep(now=timezone.now() + timedelta(minutes=8))["resent"] == 0
        assert services.sweep(now=timezone.now() + timedelta(minutes=10))["resent"] == 1
    assert sent == [(str(export.pk),)] * 2


def test_sweep_fails_a_job_past_its_deadline_with_the_reason() -> None:
    export = new_export()
    services.sweep(now=export.deadline_at + timedelta(seconds=1))
    row = Export.objects.get(pk=export.pk)
    assert (row.status, row.failure_code) == ("failed", "deadline_exceeded")
    assert row.failure_reason.startswith("Deadline exceeded")


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_keeps_a_slow_render_alive_past_its_first_lease(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.EXPORT_LEASE_SECONDS = 1.5
    export = new_export()
    original_develop = rendering.develop
    original_renew = services.lease_renew
    renewed = threading.Event()
    swept: list[dict[str, int]] = []

    def renew(lease: Any) -> bool:
        alive = original_renew(lease)
        renewed.set()
        return alive

    def slow(*args: Any, **kwargs: Any) -> Any:
        # The render outlives several leases; right after each renewal the sweep must leave it.
        # Waiting on renewals, not on the clock, keeps the story true on a loaded machine.
        for _ in range(4):
            assert renewed.wait(30)
            renewed.clear()
            swept.append(services.sweep())
        return original_develop(*args, **kwargs)

    monkeypatch.setattr(services, "lease_renew", renew)
    monkeypatch.setattr(rendering, "develop", slow)
    assert services.export_run(export.pk) == "complete"
    assert all(c["requeued"] == 0 and c["exhausted"] == 0 for c in swept)


@pytest.mark.django_db(transaction=True)
def test_the_actor_renders_a_job_sent_through_the_broker() -> None:
    from render_worker import actors  # noqa: F401

    export = new_export(format="webp")
    with running_worker(broker, worker_timeout=100, worker_threads=1) as worker:
        broker.join("bulk", timeout=60_000)
        worker.join()
    assert Export.objects.get(pk=export.pk).status == "complete"
