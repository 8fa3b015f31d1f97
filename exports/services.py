"""Exports: create (plan limits, deterministic keys, idempotency), claim and lease, run, sweep.

Job states: pending → processing → complete | failed | canceled (processing → pending again when
an attempt ends in a transient error or its worker is lost). The row is the truth:

* claim: one conditional UPDATE takes a pending row, or a processing row whose lease expired,
  with a fresh `lease_token`; `attempts` counts claims.
* every later write (progress, complete, fail, retry) is conditional on that token, so a worker
  presumed dead cannot overwrite its successor; it sees zero rows updated and stops.
* a heartbeat renews the lease every third of its length, but never past the attempt's own
  deadline: a worker hung in native code loses its lease and the sweep takes over.
* the sweep re-sends pending rows whose message was lost, returns expired leases to pending and
  fails rows past their attempts or their deadline, each with a reason a person can read.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from exports import events, limits, rendering
from exports.models import ACTIVE_STATUSES, FINAL_STATUSES, Batch, BatchItem, Export, JobStatus
from orlume_site.api.errors import APIError
from orlume_site.broker import BULK_QUEUE
from orlume_site.jobs import enqueue, enqueue_on_commit
from projects import recipe as recipes
from projects import storage as project_storage
from projects.models import Project
from projects.selectors import project_for_user

logger = logging.getLogger("orlume.exports")

EXPORT_ACTOR = "export_render"
BATCH_FINISH_ACTOR = "batch_finish"
SWEEP_ACTOR = "exports_sweep"

EXTENSIONS = {"jpeg": "jpg", "png": "png", "tiff": "tif", "webp": "webp", "avif": "avif"}
BIT_DEPTHS = {"png": (8, 16), "tiff": (8, 16, 32)}
PROFILES = ("srgb", "display-p3", "adobe-rgb")
METADATA_POLICIES = ("keep_all", "copyright_and_camera", "strip_all")
STAGE_SPAN = {  # stage -> (start %, end %)
    "loading": (0, 5),
    "decoding": (5, 20),
    "rendering": (20, 80),
    "encoding": (80, 92),
    "storing": (92, 99),
}


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def lease_seconds() -> float:
    return float(_setting("EXPORT_LEASE_SECONDS", 60))


def attempt_timeout_seconds() -> float:
    return float(_setting("EXPORT_ATTEMPT_TIMEOUT_SECONDS", 15 * 60))


# --- creating ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    format: str = "jpeg"
    quality: int = 90
    bit_depth: int = 8
    profile: str = "srgb"
    metadata_policy: str = "copyright_and_camera"
    width: int | None = None
    height: int | None = None
    long_edge: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ExportOptions:
        fields = cls.__dataclass_fields__
        options = cls(**{k: v for k, v in data.items() if k in fields})
        options.check()
        return options

    def check(self) -> None:
        if self.format not in limits.FORMATS:
            raise APIError(
                "invalid_format", f"Formats: {', '.join(limits.FORMATS)}.", field="format"
            )
        allowed = BIT_DEPTHS.get(self.format, (8,))
        if self.bit_depth not in allowed:
            depths = ", ".join(str(d) for d in allowed)
            raise APIError(
                "invalid_bit_depth",
                f"{self.format.upper()} exports at {depths} bits.",
                field="bit_depth",
            )

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def output_key(
    *, source_sha256: str, recipe: Mapping[str, Any], options: Mapping[str, Any], renderer: str
) -> str:
    """Same original, same canonical recipe, same options, same renderer: same key."""
    material = canonical_json(
        {"source": source_sha256, "recipe": recipe, "options": options, "renderer": renderer}
    )
    digest = hashlib.sha256(material.encode()).hexdigest()
    return f"exports/{digest[:2]}/{digest}.{EXTENSIONS[options['format']]}"


def _fingerprint(project_id: Any, options: Mapping[str, Any], extra: Any = None) -> str:
    return hashlib.sha256(canonical_json([str(project_id), options, extra]).encode()).hexdigest()


def _check_plan(user: User, options: ExportOptions, *, width: int, height: int) -> tuple[int, bool]:
    """Raises 403 naming the limit and the plan that lifts it. Returns (cap, watermark)."""
    plan = limits.limits_for(user.plan_type)
    limits.check_format(user.plan_type, options.format)
    asked = {"long_edge": options.long_edge, "width": options.width, "height": options.height}
    if any(asked.values()) and width and height:
        out_w, out_h = rendering.output_size(
            width,
            height,
            long_edge=options.long_edge,
            box_width=options.width,
            box_height=options.height,
        )
        field = next(name for name, value in asked.items() if value)
        limits.check_long_edge(user.plan_type, max(out_w, out_h), field=field)
    for name, value in asked.items():
        if value and value > limits.PLANS["enterprise"].long_edge:
            limits.check_long_edge(user.plan_type, value, field=name)
    return plan.long_edge, plan.watermark


def _recipe_error(exc: recipes.RecipeError) -> APIError:
    return APIError(
        "recipe_invalid",
        f"The project's recipe no longer validates: {exc.detail}",
        status_code=409,
        field=exc.pointer or None,
    )


def _event_data(export: Export) -> dict[str, Any]:
    data: dict[str, Any] = {
        "export_id": str(export.pk),
        "status": export.status,
        "stage": export.stage,
        "progress": export.progress,
        "format": export.format,
        "attempts": export.attempts,
    }
    if export.batch_id:
        data["batch_id"] = str(export.batch_id)
    if export.status == JobStatus.COMPLETE:
        data["download"] = f"/api/v1/exports/{export.pk}/download"
        data["size"] = export.output_size
    if export.status == JobStatus.FAILED:
        data["failure_code"] = export.failure_code
        data["failure_reason"] = export.failure_reason
    return data


def _emit(export: Export, event_type: str) -> None:
    events.emit(
        event_type,
        user_id=export.user_id,
        project_id=str(export.project_id),
        data=_event_data(export),
    )


def _build_export(
    *,
    user: User,
    project: Project,
    options: ExportOptions,
    edits: dict[str, Any],
    cap: int,
    watermark: bool,
    batch: Batch | None = None,
    idempotency_key: str = "",
    fingerprint: str = "",
) -> Export:
    """Writes the row (inside the caller's transaction) and enqueues it after commit, or completes
    it at once when the same output is already stored."""
    original = project.original
    assert original is not None
    renderer = rendering.renderer_version()
    key_options = {**options.as_dict(), "cap": cap, "watermark": watermark}
    key = output_key(
        source_sha256=original.sha256, recipe=edits, options=key_options, renderer=renderer
    )
    out_w, out_h = rendering.output_size(
        original.width or 1,
        original.height or 1,
        long_edge=options.long_edge,
        box_width=options.width,
        box_height=options.height,
        cap=cap,
    )
    now = timezone.now()
    export = Export(
        user=user,
        project=project,
        batch=batch,
        recipe=edits,
        project_version=project.version,
        source_key=original.key,
        source_sha256=original.sha256,
        format=options.format,
        quality=options.quality,
        bit_depth=options.bit_depth,
        profile=options.profile,
        metadata_policy=options.metadata_policy,
        requested_width=options.width,
        requested_height=options.height,
        requested_long_edge=options.long_edge,
        width=out_w if original.width else 0,
        height=out_h if original.height else 0,
        watermark=watermark,
        long_edge_cap=cap,
        renderer_version=renderer,
        output_key=key,
        max_attempts=int(_setting("EXPORT_MAX_ATTEMPTS", 3)),
        deadline_at=now + timedelta(seconds=float(_setting("EXPORT_DEADLINE_SECONDS", 6 * 3600))),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    done = (
        Export.objects.filter(output_key=key, status=JobStatus.COMPLETE)
        .order_by("-completed_at")
        .first()
    )
    if done is not None and _stored(key):
        export.status = JobStatus.COMPLETE
        export.stage = Export.Stage.DONE
        export.progress = 100
        export.output_size = done.output_size
        export.width, export.height = done.width, done.height
        export.completed_at = now
        export.timings = {"reused_from": str(done.pk)}
        export.save()
        _emit(export, "export.completed")
        return export
    export.enqueued_at = now
    export.save()
    enqueue_on_commit(EXPORT_ACTOR, str(export.pk), queue=BULK_QUEUE)
    return export


def export_create(
    *,
    user: User,
    project_id: Any,
    options: Mapping[str, Any],
    idempotency_key: str = "",
) -> tuple[Export, bool]:
    """Validates, checks the plan and writes the job. Returns (export, created); with a known
    `idempotency_key` the earlier export comes back (409 if it was asked with other values)."""
    opts = ExportOptions.from_mapping(options)
    fingerprint = _fingerprint(project_id, opts.as_dict())
    if idempotency_key:
        earlier = Export.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return _replay(earlier, fingerprint), False
    project = project_for_user(user, project_id, need="view")
    original = project.original
    if original is None:
        raise APIError(
            "no_original", "The project has no original photo to export.", status_code=409
        )
    try:
        edits = recipes.dump(recipes.parse(project.edits_json))
    except recipes.RecipeError as exc:
        raise _recipe_error(exc) from None
    cap, watermark = _check_plan(user, opts, width=original.width, height=original.height)
    try:
        with transaction.atomic():
            export = _build_export(
                user=user,
                project=project,
                options=opts,
                edits=edits,
                cap=cap,
                watermark=watermark,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
    except IntegrityError:
        # Two requests with the same key raced; the other one's row stands.
        earlier = Export.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if earlier is None:
            raise
        return _replay(earlier, fingerprint), False
    return export, True


def _replay(earlier: Export, fingerprint: str) -> Export:
    if earlier.request_fingerprint != fingerprint:
        raise APIError(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different export request.",
            status_code=409,
        )
    return earlier


def export_cancel(*, export: Export) -> Export:
    with transaction.atomic():
        changed = Export.objects.filter(pk=export.pk, status__in=ACTIVE_STATUSES).update(
            status=JobStatus.CANCELED,
            lease_token="",
            lease_expires_at=None,
            completed_at=timezone.now(),
            updated_at=timezone.now(),
        )
        export.refresh_from_db()
        if changed:
            _emit(export, "export.canceled")
            _batch_maybe_finished(export.batch_id)
    if export.status != JobStatus.CANCELED:
        raise APIError("not_cancelable", f"The export is already {export.status}.", status_code=409)
    return export


def export_download_url(*, export: Export) -> str:
    if export.status != JobStatus.COMPLETE:
        raise APIError(
            "not_ready",
            f"The export is {export.status}; only complete exports download.",
            status_code=409,
        )
    if not _stored(export.output_key):
        raise APIError("gone", "The exported file is no longer stored.", status_code=410)
    return project_storage.signed_url(
        export.output_key, ttl=int(_setting("ASSET_URL_TTL_SECONDS", 300))
    )


# --- storage ------------------------------------------------------------------------------------


def _stored(key: str) -> bool:
    try:
        return bool(default_storage.exists(key))
    except OSError:
        return False


def store_output(key: str, data: bytes) -> None:
    """Writes the finished file under its key so that the key exists only when complete: on
    local disk through a temporary file and a rename, on S3 with one PUT (atomic there)."""
    if isinstance(default_storage, FileSystemStorage):
        path = default_storage.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:
        raise RuntimeError(f"storage saved {key!r} as {saved!r}")


# --- claim, lease, progress ---------------------------------------------------------------------


class LeaseLost(Exception):
    """This worker no longer holds the job (canceled, or taken over after its lease expired)."""


class PermanentError(Exception):
    """An error another attempt cannot fix: the job fails at once with this reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Lease:
    export_id: uuid.UUID
    token: str
    attempt_deadline: datetime

    def rows(self) -> Any:
        return Export.objects.filter(
            pk=self.export_id, lease_token=self.token, status=JobStatus.PROCESSING
        )


def worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{threading.get_ident()}"


def export_claim(export_id: Any, *, worker: str | None = None) -> tuple[Export, Lease] | None:
    now = timezone.now()
    token = f"{worker or worker_id()}:{uuid.uuid4().hex[:12]}"[-100:]
    deadline = now + timedelta(seconds=attempt_timeout_seconds())
    claimed = (
        Export.objects.filter(pk=export_id, attempts__lt=F("max_attempts"), deadline_at__gt=now)
        .filter(
            Q(status=JobStatus.PENDING) | Q(status=JobStatus.PROCESSING, lease_expires_at__lt=now)
        )
        .update(
            status=JobStatus.PROCESSING,
            stage=Export.Stage.LOADING,
            progress=0,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            attempt_deadline_at=deadline,
            attempts=F("attempts") + 1,
            resends=0,
            started_at=now,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    export = Export.objects.get(pk=export_id)
    return export, Lease(export.pk, token, deadline)


def lease_renew(lease: Lease) -> bool:
    """Extends the lease, but never past the attempt's deadline."""
    now = timezone.now()
    if now >= lease.attempt_deadline:
        return False
    return bool(lease.rows().update(lease_expires_at=now + timedelta(seconds=lease_seconds())))


class Heartbeat:
    """Renews a lease from a daemon thread while the job runs."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="export-heartbeat", daemon=True)

    def _run(self) -> None:
        from django.db import connection

        interval = max(0.2, lease_seconds() / 3)
        try:
            while not self._stop.wait(interval):
                try:
                    if not lease_renew(self.lease):
                        return
                except Exception:
                    logger.exception("lease renewal failed for %s", self.lease.export_id)
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class ProgressReporter:
    """Writes stage and percent (conditional on the lease) and emits `export.progress` when the
    stage changes or the percent moves by 5 or more."""

    def __init__(self, export: Export, lease: Lease) -> None:
        self.export = export
        self.lease = lease
        self.last: tuple[str, int] = ("", -100)

    def __call__(self, stage: str, fraction: float = 0.0) -> None:
        start, end = STAGE_SPAN[stage]
        percent = int(start + (end - start) * max(0.0, min(1.0, fraction)))
        if stage == self.last[0] and percent - self.last[1] < 5:
            return
        with transaction.atomic():
            if not self.lease.rows().update(
                stage=stage, progress=percent, updated_at=timezone.now()
            ):
                raise LeaseLost(str(self.lease.export_id))
            self.export.stage, self.export.progress = stage, percent
            _emit(self.export, "export.progress")
        self.last = (stage, percent)


def export_complete(
    lease: Lease, *, size: int, width: int, height: int, timings: dict[str, Any]
) -> bool:
    now = timezone.now()
    with transaction.atomic():
        done = lease.rows().update(
            status=JobStatus.COMPLETE,
            stage=Export.Stage.DONE,
            progress=100,
            output_size=size,
            width=width,
            height=height,
            timings=timings,
            completed_at=now,
            updated_at=now,
            lease_token="",
            lease_expires_at=None,
        )
        if done:
            export = Export.objects.get(pk=lease.export_id)
            _emit(export, "export.completed")
            _batch_maybe_finished(export.batch_id)
    return bool(done)


def _fail_rows(rows: Any, export_id: Any, code: str, reason: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        failed = rows.update(
            status=JobStatus.FAILED,
            failure_code=code,
            failure_reason=reason[:500],
            last_error=reason[:500],
            completed_at=now,
            updated_at=now,
            lease_token="",
            lease_expires_at=None,
        )
        if failed:
            export = Export.objects.get(pk=export_id)
            _emit(export, "export.failed")
            _batch_maybe_finished(export.batch_id)
    return bool(failed)


def export_fail(lease: Lease, code: str, reason: str) -> bool:
    return _fail_rows(lease.rows(), lease.export_id, code, reason)


def export_retry_later(lease: Lease, reason: str) -> str:
    """A transient error ended this attempt: back to pending (with a delay) or, when the
    attempts are spent, failed with the reason."""
    export = Export.objects.filter(pk=lease.export_id).first()
    if export is None:
        return "gone"
    if export.attempts >= export.max_attempts:
        export_fail(
            lease,
            "attempts_exhausted",
            f"Failed after {export.attempts} attempts; the last one: {reason}",
        )
        return "failed"
    now = timezone.now()
    delay = min(60.0, 2.0**export.attempts)
    with transaction.atomic():
        if lease.rows().update(
            status=JobStatus.PENDING,
            stage=Export.Stage.QUEUED,
            lease_token="",
            lease_expires_at=None,
            last_error=reason[:500],
            enqueued_at=now,
            updated_at=now,
        ):
            transaction.on_commit(lambda: _send(export.pk, delay_ms=int(delay * 1000)))
    return "retry"


def _send(export_id: Any, delay_ms: int | None = None) -> None:
    from dramatiq import Message

    from orlume_site.broker import broker

    broker.enqueue(
        Message(
            queue_name=BULK_QUEUE,
            actor_name=EXPORT_ACTOR,
            args=(str(export_id),),
            kwargs={},
            options={},
        ),
        delay=delay_ms,
    )


# --- running ------------------------------------------------------------------------------------


def _read_original(key: str) -> bytes:
    try:
        with default_storage.open(key, "rb") as fh:
            return bytes(fh.read())
    except FileNotFoundError:
        raise PermanentError(
            "missing_original", "The original photo is missing from storage."
        ) from None
    except OSError as exc:
        if "NoSuchKey" in repr(exc) or "404" in str(exc):
            raise PermanentError(
                "missing_original", "The original photo is missing from storage."
            ) from None
        raise


def export_run(export_id: Any, *, worker: str | None = None) -> str:
    """Claims the row and renders it. Returns what happened: skipped, complete, failed, retry,
    lost. The actor is only this call."""
    from kernels import io as kio

    claimed = export_claim(export_id, worker=worker)
    if claimed is None:
        return "skipped"
    export, lease = claimed
    report = ProgressReporter(export, lease)
    timings: dict[str, Any] = {"attempt": export.attempts}
    marks: dict[str, Any] = {"t": time.monotonic(), "stage": "loading"}

    def stage(name: str, fraction: float = 0.0) -> None:
        if name != marks["stage"]:
            timings[f"{marks['stage']}_ms"] = round((time.monotonic() - marks["t"]) * 1000)
            marks.update(t=time.monotonic(), stage=name)
        report(name, fraction)

    with Heartbeat(lease):
        try:
            if _stored(export.output_key):  # an earlier attempt stored it, then died
                size = int(default_storage.size(export.output_key))
                done = export_complete(
                    lease,
                    size=size,
                    width=export.width,
                    height=export.height,
                    timings={**timings, "reused_stored_file": True},
                )
                return "complete" if done else "lost"
            report("loading")
            try:
                develop = recipes.parse(export.recipe).develop
            except recipes.RecipeError as exc:
                raise PermanentError(
                    "recipe_invalid", f"The recipe no longer validates: {exc.detail}"
                ) from None
            data = _read_original(export.source_key)
            options = _options_for(export)
            try:
                encoded = rendering.render_file(
                    data,
                    develop,
                    options,
                    backend=str(_setting("RENDER_BACKEND", "auto")),
                    stage=stage,
                )
            except kio.ImageIOError as exc:
                raise PermanentError(
                    "bad_original", f"The original cannot be read: {exc}"
                ) from None
            stage("storing")
            store_output(export.output_key, encoded)
            stage("storing", 1.0)
            from PIL import Image

            with Image.open(io.BytesIO(encoded)) as im:
                width, height = im.size
            done = export_complete(
                lease, size=len(encoded), width=width, height=height, timings=timings
            )
            return "complete" if done else "lost"
        except LeaseLost:
            logger.info("export %s: lease lost, stopping", export_id)
            return "lost"
        except PermanentError as exc:
            export_fail(lease, exc.code, exc.reason)
            return "failed"
        except Exception as exc:
            logger.exception("export %s attempt %s failed", export_id, export.attempts)
            return export_retry_later(lease, _readable(exc))


def _options_for(export: Export) -> rendering.RenderOptions:
    """The options the key was made from (the cap is the plan's at request time)."""
    return rendering.RenderOptions(
        format=export.format,
        quality=export.quality,
        bit_depth=export.bit_depth,
        profile=export.profile,
        metadata_policy=export.metadata_policy,
        long_edge=export.requested_long_edge,
        width=export.requested_width,
        height=export.requested_height,
        cap=export.long_edge_cap,
        watermark=export.watermark,
    )


def _readable(exc: Exception) -> str:
    name = type(exc).__name__
    if isinstance(exc, OSError | ConnectionError) or "botocore" in type(exc).__module__:
        return f"Storage or network error ({name}): {exc}"[:500]
    return f"{name}: {exc}"[:500]


# --- sweep --------------------------------------------------------------------------------------


def sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """One pass of the periodic sweep. Safe to run from several processes at once: every change
    is a conditional update."""
    now = now or timezone.now()
    counts = {"deadline": 0, "exhausted": 0, "requeued": 0, "resent": 0, "batches": 0}
    active = Export.objects.filter(status__in=ACTIVE_STATUSES)

    for row in active.filter(deadline_at__lt=now).values("pk", "status", "lease_token")[:limit]:
        rows = Export.objects.filter(
            pk=row["pk"], status=row["status"], lease_token=row["lease_token"]
        )
        counts["deadline"] += _fail_rows(
            rows,
            row["pk"],
            "deadline_exceeded",
            "Deadline exceeded: the export was not finished within "
            f"{_hours(_setting('EXPORT_DEADLINE_SECONDS', 6 * 3600))} of being asked for.",
        )

    expired = Export.objects.filter(status=JobStatus.PROCESSING, lease_expires_at__lt=now)
    for export in expired.order_by("lease_expires_at")[:limit]:
        rows = Export.objects.filter(
            pk=export.pk,
            status=JobStatus.PROCESSING,
            lease_token=export.lease_token,
            lease_expires_at__lt=now,
        )
        hung = bool(
            export.attempt_deadline_at
            and export.lease_expires_at
            and export.lease_expires_at > export.attempt_deadline_at
        )
        why = (
            f"deadline exceeded: the render ran past {int(attempt_timeout_seconds())} s "
            "(the worker stopped answering, possibly stuck in native code)"
            if hung
            else "the worker stopped (killed or lost) before finishing"
        )
        if export.attempts >= export.max_attempts:
            code = "deadline_exceeded" if hung else "worker_lost"
            reason = f"Failed after {export.attempts} attempts; the last one: {why}."
            counts["exhausted"] += _fail_rows(rows, export.pk, code, reason)
            continue
        with transaction.atomic():
            if rows.update(
                status=JobStatus.PENDING,
                stage=Export.Stage.QUEUED,
                lease_token="",
                lease_expires_at=None,
                last_error=why,
                enqueued_at=now,
                updated_at=now,
            ):
                counts["requeued"] += 1
                enqueue_on_commit(EXPORT_ACTOR, str(export.pk), queue=BULK_QUEUE)

    # A pending row whose message is older than EXPORT_RESEND_AFTER_SECONDS may have lost it; a
    # long bulk backlog looks the same, so each further re-send waits twice as long (at most 64x).
    resend_after = float(_setting("EXPORT_RESEND_AFTER_SECONDS", 120))
    lost = Export.objects.filter(status=JobStatus.PENDING).filter(
        Q(enqueued_at__lt=now - timedelta(seconds=resend_after)) | Q(enqueued_at__isnull=True)
    )
    for pk, sent_at, resends in lost.order_by("enqueued_at").values_list(
        "pk", "enqueued_at", "resends"
    )[:limit]:
        wait = timedelta(seconds=resend_after * 2 ** min(resends, 6))
        if sent_at is not None and sent_at > now - wait:
            continue
        with transaction.atomic():
            if Export.objects.filter(pk=pk, status=JobStatus.PENDING, enqueued_at=sent_at).update(
                enqueued_at=now, resends=F("resends") + 1
            ):
                counts["resent"] += 1
                enqueue_on_commit(EXPORT_ACTOR, str(pk), queue=BULK_QUEUE)

    counts["batches"] = _sweep_batches(now)
    if any(counts.values()):
        logger.info("export sweep", extra=counts)
    return counts


def _hours(seconds: float) -> str:
    seconds = float(seconds)
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


class Sweeper:
    """Runs `sweep` (and the webhook deliveries' sweep) every `interval` seconds in a daemon
    thread: the embedded default starts one in the web process; production runs
    `manage.py sweep`, which is the same loop in the foreground."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = float(interval or _setting("EXPORT_SWEEP_INTERVAL_SECONDS", 30))
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def once(self) -> dict[str, int]:
        from django.db import connection

        from exports.webhooks import services as webhook_services

        try:
            counts = sweep()
            counts["webhooks"] = webhook_services.webhook_deliveries_sweep()
            return counts
        finally:
            connection.close()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.once()
            except Exception:
                logger.exception("sweep failed; trying again next interval")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run_forever, name="export-sweeper", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)


# --- batches ------------------------------------------------------------------------------------


def batch_create(
    *,
    user: User,
    project_ids: list[Any],
    options: Mapping[str, Any],
    recipe_patch: Mapping[str, Any] | None = None,
    preset_id: Any = None,
    idempotency_key: str = "",
) -> tuple[Batch, bool]:
    """One export per project, the patch (a partial recipe, or a preset's settings) merged onto
    each project's recipe for this render only: the projects themselves are not changed. A
    project that cannot be exported (unknown, no original, recipe invalid) becomes a failed item
    with its reason; the rest go ahead."""
    from projects.models import Preset

    max_items = int(_setting("BATCH_MAX_PROJECTS", 500))
    if not project_ids:
        raise APIError("empty_batch", "Name at least one project.", field="project_ids")
    if len(project_ids) > max_items:
        raise APIError(
            "batch_too_large", f"A batch holds at most {max_items} projects.", field="project_ids"
        )
    opts = ExportOptions.from_mapping(options)
    patch: dict[str, Any] = {}
    if preset_id:
        preset_pk = _uuid_or_none(preset_id)
        preset = Preset.objects.filter(pk=preset_pk, owner=user).first() if preset_pk else None
        if preset is None:
            raise APIError("not_found", "No such preset.", status_code=404, field="preset_id")
        patch = recipes.deep_merge(patch, dict(preset.settings_json))
    if recipe_patch:
        try:
            recipe_dict = recipes.parse_partial(dict(recipe_patch))
        except recipes.RecipeError as exc:
            raise APIError(exc.code, exc.detail, field=f"recipe{exc.pointer}") from None
        patch = recipes.deep_merge(patch, recipe_dict)
    limits.check_format(user.plan_type, opts.format)
    fingerprint = _fingerprint(
        [str(p) for p in project_ids], opts.as_dict(), [patch, str(preset_id)]
    )
    if idempotency_key:
        earlier = Batch.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.options.get("_fingerprint") != fingerprint:
                raise APIError(
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different batch request.",
                    status_code=409,
                )
            return earlier, False
    plan = limits.limits_for(user.plan_type)
    with transaction.atomic():
        batch = Batch.objects.create(
            user=user,
            recipe_patch=patch,
            preset_id=_uuid_or_none(preset_id),
            options={**opts.as_dict(), "_fingerprint": fingerprint},
            total=len(project_ids),
            idempotency_key=idempotency_key,
        )
        for position, project_id in enumerate(project_ids):
            item = BatchItem(batch=batch, position=position, project_id=_uuid_or_nil(project_id))
            try:
                project = project_for_user(user, project_id, need="view")
                if project.original is None:
                    raise APIError("no_original", "The project has no original photo.")
                try:
                    edits = recipes.dump(
                        recipes.parse(
                            recipes.deep_merge(recipes.migrate(dict(project.edits_json)), patch)
                        )
                    )
                except recipes.RecipeError as exc:
                    raise _recipe_error(exc) from None
                _check_plan(
                    user, opts, width=project.original.width, height=project.original.height
                )
                item.export = _build_export(
                    user=user,
                    project=project,
                    options=opts,
                    edits=edits,
                    cap=plan.long_edge,
                    watermark=plan.watermark,
                    batch=batch,
                )
            except APIError as exc:
                item.error_code = exc.error_code
                item.error_reason = str(exc.detail)[:500]
            item.save()
        _batch_maybe_finished(batch.pk)
    return batch, True


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _uuid_or_nil(value: Any) -> uuid.UUID:
    return _uuid_or_none(value) or uuid.UUID(int=0)


def batch_progress(batch: Batch) -> dict[str, Any]:
    items = list(batch.items.select_related("export"))
    counts = {status: 0 for status in JobStatus.values}
    percent = 0
    for item in items:
        if item.export is None:
            counts[JobStatus.FAILED] += 1
            percent += 100
        else:
            counts[item.export.status] += 1
            percent += 100 if item.export.is_final else item.export.progress
    return {
        "total": len(items),
        "counts": counts,
        "percent": round(percent / len(items)) if items else 100,
    }


def _batch_maybe_finished(batch_id: Any) -> None:
    """When every item of a batch is final, its zip is built (after commit)."""
    if not batch_id:
        return
    if Export.objects.filter(batch_id=batch_id, status__in=ACTIVE_STATUSES).exists():
        return
    if Batch.objects.filter(pk=batch_id, status=JobStatus.PENDING).update(
        status=JobStatus.PROCESSING, updated_at=timezone.now()
    ):
        enqueue_on_commit(BATCH_FINISH_ACTOR, str(batch_id), queue=BULK_QUEUE)


def _sweep_batches(now: datetime) -> int:
    """Batches whose zip message was lost, or whose zip builder died, are sent again."""
    stale = now - timedelta(seconds=float(_setting("EXPORT_RESEND_AFTER_SECONDS", 120)))
    sent = 0
    for batch_id in Batch.objects.filter(
        status=JobStatus.PROCESSING, updated_at__lt=stale
    ).values_list("pk", flat=True)[:100]:
        if Batch.objects.filter(pk=batch_id, status=JobStatus.PROCESSING).update(updated_at=now):
            enqueue(BATCH_FINISH_ACTOR, str(batch_id), queue=BULK_QUEUE)
            sent += 1
    for batch_id in Batch.objects.filter(status=JobStatus.PENDING).values_list("pk", flat=True)[
        :100
    ]:
        with transaction.atomic():
            _batch_maybe_finished(batch_id)
    return sent


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_" else "-" for c in text.strip())[:60].strip("-")
    return out or "project"


def batch_finish(batch_id: Any) -> str:
    """Zips the finished files (stored at a key of the batch) and completes the batch."""
    import zipfile

    batch = Batch.objects.filter(pk=batch_id, status=JobStatus.PROCESSING).first()
    if batch is None:
        return "skipped"
    items = list(batch.items.select_related("export", "export__project"))
    complete = [i for i in items if i.export is not None and i.export.status == JobStatus.COMPLETE]
    zip_key = ""
    size = None
    if complete:
        with tempfile.TemporaryFile() as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
                for item in complete:
                    assert item.export is not None
                    name = (
                        f"{item.position + 1:03d}-{_slug(item.export.project.name)}."
                        f"{EXTENSIONS[item.export.format]}"
                    )
                    with default_storage.open(item.export.output_key, "rb") as fh:
                        archive.writestr(name, fh.read())
            tmp.seek(0)
            zip_key = f"batches/{batch.pk}.zip"
            store_output(zip_key, tmp.read())
            size = int(default_storage.size(zip_key))
    now = timezone.now()
    status = JobStatus.COMPLETE if complete else JobStatus.FAILED
    with transaction.atomic():
        if not Batch.objects.filter(pk=batch.pk, status=JobStatus.PROCESSING).update(
            status=status,
            zip_key=zip_key,
            zip_size=size,
            completed_at=now,
            updated_at=now,
            failure_reason="" if complete else "No project of the batch could be exported.",
        ):
            return "skipped"
        batch.refresh_from_db()
        progress = batch_progress(batch)
        events.emit(
            "batch.completed",
            user_id=batch.user_id,
            data={
                "batch_id": str(batch.pk),
                "status": batch.status,
                "total": progress["total"],
                "counts": progress["counts"],
                "download": f"/api/v1/batches/{batch.pk}/download" if zip_key else None,
            },
        )
    return str(status)


def batch_cancel(*, batch: Batch) -> Batch:
    for export in batch.exports.filter(status__in=ACTIVE_STATUSES):
        export_cancel(export=export)
    batch.refresh_from_db()
    return batch


def batch_download_url(*, batch: Batch) -> str:
    if batch.status != JobStatus.COMPLETE or not batch.zip_key:
        raise APIError(
            "not_ready",
            "The batch's zip is not ready (or no file was exported).",
            status_code=409,
        )
    return project_storage.signed_url(
        batch.zip_key, ttl=int(_setting("ASSET_URL_TTL_SECONDS", 300))
    )


__all__ = [
    "FINAL_STATUSES",
    "ExportOptions",
    "Lease",
    "batch_create",
    "export_claim",
    "export_create",
    "export_run",
    "sweep",
]
