"""Export models. Webhook models live in exports/webhooks/models.py and are re-exported here.

An `Export` row is the truth about one rendered file; a Dramatiq message only says "look at
this row". A worker claims the row with a conditional update and holds a lease (`lease_token`,
`lease_expires_at`) that a heartbeat renews; every later write is conditional on the token, so a
worker presumed dead cannot overwrite what its successor did. `exports.services.sweep` re-sends
lost messages, re-queues expired leases and fails jobs past their attempts or deadline.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from exports.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = ["Batch", "BatchItem", "Export", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.PROCESSING)
FINAL_STATUSES = (JobStatus.COMPLETE, JobStatus.FAILED, JobStatus.CANCELED)


class Batch(models.Model):
    """A recipe or preset applied to up to 500 projects, one export per project."""

    Status = JobStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_batches"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    # What was applied: a partial recipe (merged onto each project's) and/or a preset's id.
    recipe_patch = models.JSONField(default=dict, blank=True)
    preset_id = models.UUIDField(null=True, blank=True)
    options = models.JSONField(default=dict)  # the export options every item shares
    total = models.PositiveIntegerField(default=0)
    # The zip of finished files, built once every item is final.
    zip_key = models.CharField(max_length=255, blank=True)
    zip_size = models.BigIntegerField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="exports_batch_user_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="exports_batch_idempotency_once",
            )
        ]

    def __str__(self) -> str:
        return f"batch:{self.pk}"


class Export(models.Model):
    Status = JobStatus

    class Stage(models.TextChoices):
        QUEUED = "queued", "Queued"
        LOADING = "loading", "Loading the original"
        DECODING = "decoding", "Decoding"
        RENDERING = "rendering", "Rendering"
        ENCODING = "encoding", "Encoding"
        STORING = "storing", "Storing"
        DONE = "done", "Done"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exports"
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="exports"
    )
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, null=True, blank=True, related_name="exports"
    )
    # What is rendered: the canonical recipe and the original's checksum at request time.
    recipe = models.JSONField()
    project_version = models.PositiveIntegerField(default=0)
    source_key = models.CharField(max_length=255)
    source_sha256 = models.CharField(max_length=64)
    # Options, as asked for and as resolved against the original and the plan.
    format = models.CharField(max_length=8)
    quality = models.PositiveSmallIntegerField(default=90)
    bit_depth = models.PositiveSmallIntegerField(default=8)
    profile = models.CharField(max_length=16, default="srgb")
    metadata_policy = models.CharField(max_length=32, default="copyright_and_camera")
    requested_width = models.PositiveIntegerField(null=True, blank=True)
    requested_height = models.PositiveIntegerField(null=True, blank=True)
    requested_long_edge = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(default=0)  # output size, resolved
    height = models.PositiveIntegerField(default=0)
    watermark = models.BooleanField(default=False)
    long_edge_cap = models.PositiveIntegerField(null=True, blank=True)  # the plan's, when asked
    renderer_version = models.CharField(max_length=64)
    # Deterministic: derived from the checksum, the recipe, the options and the renderer.
    output_key = models.CharField(max_length=255)
    output_size = models.BigIntegerField(null=True, blank=True)
    # State.
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    failure_code = models.CharField(max_length=40, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    # Jobs.
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    lease_token = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempt_deadline_at = models.DateTimeField(null=True, blank=True)  # this attempt's limit
    deadline_at = models.DateTimeField()  # the whole job's limit, queueing included
    enqueued_at = models.DateTimeField(null=True, blank=True)  # last message sent
    resends = models.PositiveSmallIntegerField(default=0)  # sweep re-sends since the last claim
    last_error = models.CharField(max_length=500, blank=True)  # why the last attempt ended
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    # Timings.
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)  # stage -> milliseconds, last attempt

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"], name="exports_export_user_created"),
            models.Index(fields=["status", "lease_expires_at"], name="exports_export_lease"),
            models.Index(fields=["status", "enqueued_at"], name="exports_export_enqueued"),
            models.Index(fields=["output_key", "status"], name="exports_export_output"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="exports_export_idempotency_once",
            )
        ]

    def __str__(self) -> str:
        return f"export:{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class BatchItem(models.Model):
    """One project of a batch: its export, or why none could be made."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    project_id = models.UUIDField()
    export = models.OneToOneField(
        Export, on_delete=models.SET_NULL, null=True, blank=True, related_name="batch_item"
    )
    # Refused before rendering (unknown project, invalid recipe, no original): code and reason.
    error_code = models.CharField(max_length=40, blank=True)
    error_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="exports_batchitem_pos")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.position}"
