"""The ops log of each project's room and the room's counter row.

`Room` holds the project's last sequence number; an op takes the next one inside the
transaction that stores it (the row is locked), so sequences are gap-free and strictly increasing
whatever process wrote them. Presence is never stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Room(models.Model):
    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    seq = models.BigIntegerField(default=0)
    # The project's version when the log last wrote it; a different version means a write outside
    # the room (REST save, restore), which the log then records as a whole-document `sync` op.
    version = models.PositiveIntegerField(default=0)
    # The project version whose recipe the room itself wrote: its own dump of a validated
    # recipe, so the next ops may be validated by the part they change (collab.validation).
    # A room created on an existing recipe, or a write outside the room, leaves it behind.
    clean_version = models.PositiveIntegerField(default=0)
    # Ops with seq <= pruned_through are gone: a client behind them gets a snapshot.
    pruned_through = models.BigIntegerField(default=0)
    snapshot_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"room {self.project_id}@{self.seq}"


class Op(models.Model):
    class Kind(models.TextChoices):
        EDIT = "edit", "Edit"
        UNDO = "undo", "Undo"
        REDO = "redo", "Redo"
        SYNC = "sync", "Written outside the room"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    client_op_id = models.CharField(max_length=80, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.EDIT)
    op = models.CharField(max_length=8, default="set")  # set | remove
    path = models.CharField(max_length=512, blank=True)
    value = models.JSONField(null=True, blank=True)
    # What this op replaced, for undo (prev_exists False: the path was absent).
    prev = models.JSONField(null=True, blank=True)
    prev_exists = models.BooleanField(default=True)
    # Seq of the first op of the batch: one undo step.
    group = models.BigIntegerField()
    # edit/redo: undone; undo: redone, or dropped from the redo stack by a new edit.
    reverted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="collab_op_seq_unique"),
            models.UniqueConstraint(
                fields=["project", "user", "client_op_id"],
                condition=~models.Q(client_op_id=""),
                name="collab_op_client_id_once",
            ),
        ]
        indexes = [models.Index(fields=["project", "user", "kind", "reverted", "group"])]

    def __str__(self) -> str:
        return f"{self.project_id}#{self.seq} {self.op} {self.path}"


class Revert(models.Model):
    """An undo or redo a client asked for, by its id: a resend gets the first answer (the ops it
    wrote, if any, and the paths it skipped) and never reverts another step."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=80)
    skipped = models.JSONField(default=list)
    # The room's seq when it was answered: pruned with the ops.
    seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "client_id"], name="collab_revert_client_id_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project_id} revert {self.client_id}"
