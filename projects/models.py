"""Projects, their stored files, edit history, collaborators and presets.

The recipe (`edits_json`) is validated by `projects.recipe.Recipe` on every write and migrated
forward on read; the database only stores its JSON.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Upload(models.Model):
    """A grant to put one file at a server-chosen key. Reserves quota until used or expired."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # granted; bytes may or may not be there yet
        COMPLETE = "complete", "Complete"  # verified and turned into an asset (quota charged)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    key = models.CharField(max_length=255, unique=True)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # S3 multipart: the upload id S3 gave us and the part size we announced (0: single request).
    multipart_id = models.CharField(max_length=1024, blank=True)
    part_size = models.BigIntegerField(default=0)
    # The asset the bytes became (for a duplicate photo: the asset that already had them).
    asset = models.ForeignKey(
        "Asset", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "status", "expires_at"])]

    def __str__(self) -> str:
        return self.key


class Asset(models.Model):
    """One stored file: an original photo or something derived from it."""

    class Kind(models.TextChoices):
        ORIGINAL = "original", "Original"
        PROXY = "proxy", "Proxy"
        THUMBNAIL = "thumbnail", "Thumbnail"
        DEPTH = "depth", "Depth map"
        MASK = "mask", "Mask bitmap"

    class Processing(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assets"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Derived files (proxy, thumbnail, depth, masks) point at the original they came from.
    source = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="derived"
    )
    key = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=16, blank=True)
    mime_type = models.CharField(max_length=64, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    bit_depth = models.PositiveSmallIntegerField(default=8)
    frames = models.PositiveIntegerField(default=1)
    has_icc = models.BooleanField(default=False)
    has_alpha = models.BooleanField(default=False)
    has_depth = models.BooleanField(default=False)
    exif = models.JSONField(default=dict, blank=True)
    processing = models.CharField(
        max_length=16, choices=Processing.choices, default=Processing.READY
    )
    processing_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The same photo twice is one asset per owner.
            models.UniqueConstraint(
                fields=["owner", "sha256"],
                condition=models.Q(kind="original"),
                name="projects_asset_original_sha_per_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class Permission(models.TextChoices):
    VIEW = "view", "View"
    EDIT = "edit", "Edit"
    ADMIN = "admin", "Admin"


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=200)
    original = models.ForeignKey(
        Asset, on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    depth_map = models.ForeignKey(
        Asset, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    edits_json = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class ProjectVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    edits_json = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Saves from the same user close together are folded into one row; this is its last save.
    saved_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version_number"], name="projects_version_unique_number"
            )
        ]
        ordering = ["-version_number"]

    def __str__(self) -> str:
        return f"{self.project_id}@{self.version_number}"


class ProjectCollaborator(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations"
    )
    permission = models.CharField(max_length=8, choices=Permission.choices)
    invited_at = models.DateTimeField(auto_now_add=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="projects_collaborator_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.permission}@{self.project_id}"


class Preset(models.Model):
    """A named part of a recipe (a partial recipe), applied by deep merge."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presets"
    )
    name = models.CharField(max_length=200)
    settings_json = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="projects_preset_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
