"""Room writes: ops with server-ordered sequence numbers, undo/redo per user, catch-up.

Every write runs in one transaction that locks the project row and the room's counter row:
authorise (edit), apply the ops to the current recipe, validate the whole recipe, take the next
sequence numbers, store ops and recipe, bump the project version. Last writer in server order wins
per path. Ops are idempotent per (project, user, client op id): a resend returns the first ack.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from collab import pointer, validation
from collab.conf import limit
from collab.models import Op, Revert, Room
from collab.protocol import OpIn
from collab.selectors import op_out, ops_between
from orlume_site.api.errors import APIError
from projects import recipe
from projects.models import Project
from projects.selectors import Need, project_for_user
from projects.services import project_version_record

logger = logging.getLogger("orlume.collab")
SNAPSHOT_ACTOR = "collab_snapshot"


class Rejected(Exception):
    def __init__(self, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.path = path


@dataclass
class Applied:
    ops: list[dict[str, Any]]
    version: int
    duplicate: bool = False
    skipped: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def seqs(self) -> list[int]:
        return [o["seq"] for o in self.ops]


def _project(user: User, project_id: Any, need: Need, *, for_update: bool = False) -> Project:
    try:
        return project_for_user(user, project_id, need, for_update=for_update)
    except APIError as exc:
        raise Rejected(exc.error_code, str(exc.detail)) from None


def role_for(user: User, project_id: Any) -> str | None:
    """The user's role on the project, or None when they may not know it exists."""
    try:
        project = project_for_user(user, project_id, "view")
    except APIError:
        return None
    return str(project.role)  # type: ignore[attr-defined]


def _room(project: Project) -> Room:
    """The room row, locked (the project row is already locked by the caller)."""
    room = Room.objects.select_for_update().filter(pk=project.pk).first()
    if room is None:
        room = Room.objects.create(project=project, version=project.version)
    elif room.version != project.version:
        # Written outside the room since the log last saw it: record the whole document.
        room.seq += 1
        Op.objects.create(
            project=project,
            seq=room.seq,
            user=None,
            kind=Op.Kind.SYNC,
            path="",
            value=project.edits_json,
            prev=None,
            prev_exists=True,
            group=room.seq,
            reverted=True,  # nobody's to undo
        )
        room.version = project.version
        room.save(update_fields=["seq", "version"])
    return room


def _current(project: Project) -> dict[str, Any]:
    return recipe.migrate(project.edits_json)


def _apply_writes(
    doc: dict[str, Any], writes: list[validation.Write]
) -> tuple[dict[str, Any], list[tuple[Any, bool]]]:
    """`doc` with `writes` applied and the whole recipe validated (defaults filled in), and what
    each write replaced (value, existed). Raises Rejected with the JSON pointer at fault."""
    room_doc = validation.RecipeDoc(doc, clean=False)
    try:
        prevs = room_doc.apply(writes)
    except validation.BatchError as exc:
        raise Rejected(exc.code, exc.detail, exc.path) from None
    return room_doc.doc, prevs


def _commit(
    project: Project,
    room: Room,
    user: User,
    kind: str,
    writes: list[validation.Write],
    doc: dict[str, Any],
) -> list[Op]:
    """Applies `writes` to `doc` (the current recipe), validates, stores ops and recipe."""
    clean, prevs = _apply_writes(doc, writes)
    first = room.seq + 1
    rows = []
    for i, (w, (prev, prev_exists)) in enumerate(zip(writes, prevs, strict=True)):
        # What the path holds once validated (defaults filled in): what every client applies.
        now_value = pointer.get(clean, w.path)
        rows.append(
            Op(
                project=project,
                seq=first + i,
                user=user,
                client_op_id=w.client_op_id,
                kind=kind,
                op="remove" if now_value is pointer.MISSING else "set",
                path=w.path,
                value=None if now_value is pointer.MISSING else now_value,
                prev=prev,
                prev_exists=prev_exists,
                group=first,
            )
        )
    Op.objects.bulk_create(rows)
    room.seq = first + len(rows) - 1
    project.edits_json = clean
    project.version += 1
    project.save(update_fields=["edits_json", "version", "updated_at"])
    room.version = room.clean_version = project.version
    now = timezone.now()
    fields = ["seq", "version", "clean_version"]
    if room.snapshot_at is None or now - room.snapshot_at >= timedelta(
        seconds=limit("SNAPSHOT_SECONDS")
    ):
        # A project version from the room, at most once per SNAPSHOT_SECONDS of activity.
        project_version_record(project, user, coalesce=False)
        room.snapshot_at = now
        fields.append("snapshot_at")
        transaction.on_commit(lambda: prune_log(project.pk))
    else:
        # Inside the window: if editing stops now, the trailing snapshot keeps the last state.
        project_id = project.pk
        transaction.on_commit(lambda: schedule_trailing_snapshot(project_id))
    room.save(update_fields=fields)
    return rows


# Per process: when this process last asked for a trailing snapshot of each project, so a busy
# room costs one cache write per window, not one per op.
_asked: dict[Any, float] = {}
_asked_lock = threading.Lock()


def trailing_snapshot_asked(project_id: Any) -> bool:
    """True while this process's last request for the project is inside the window: a
    schedule_trailing_snapshot call would do nothing (callers on the event loop skip the
    thread hop it needs)."""
    with _asked_lock:
        return time.monotonic() - _asked.get(project_id, -1e9) < float(limit("SNAPSHOT_SECONDS"))


def schedule_trailing_snapshot(project_id: Any) -> None:
    """Asks the maintenance queue for `snapshot_trailing(project_id)` SNAPSHOT_SECONDS from now,
    once per window across processes (a cache key); a lost message is only a missed hint."""
    from dramatiq import Message

    from orlume_site.broker import MAINTENANCE_QUEUE, broker

    delay = float(limit("SNAPSHOT_SECONDS"))
    now = time.monotonic()
    with _asked_lock:
        if now - _asked.get(project_id, -1e9) < delay:
            return
        _asked[project_id] = now
        if len(_asked) > 10_000:
            _asked.clear()
    if not cache.add(f"collab:snapshot:due:{project_id}", 1, timeout=max(1, int(delay))):
        return
    broker.enqueue(
        Message(
            queue_name=MAINTENANCE_QUEUE,
            actor_name=SNAPSHOT_ACTOR,
            args=(str(project_id),),
            kwargs={},
            options={},
        ),
        delay=int(delay * 1000),
    )


def snapshot_trailing(project_id: Any) -> bool:
    """Records the room's state as a project version unless the newest version already holds
    it (idempotent). True when it wrote one. The `collab_snapshot` actor runs it."""
    with transaction.atomic():
        project = (
            Project.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(pk=project_id)
            .first()
        )
        if project is None:
            return False
        newest = project.versions.order_by("-version_number").values_list(
            "version_number", flat=True
        )
        if (newest.first() or 0) >= project.version:
            return False
        last = Op.objects.filter(project=project).order_by("-seq").select_related("user").first()
        project_version_record(project, last.user if last else None, coalesce=False)
        Room.objects.filter(pk=project.pk).update(snapshot_at=timezone.now())
    return True


def snapshot_record(project_id: Any, version: int, doc: dict[str, Any], user_id: Any) -> bool:
    """Records `doc`, the recipe a room's group write committed as `version`, as a project
    version, then prunes the op log. The group write claimed the snapshot window (the room's
    snapshot_at) and this runs after its commit, without the project row's lock: recording
    inside the write held the room's next writes for 80-400 ms once per window under load.
    Idempotent; False when a version at least as new is already recorded. A process that dies
    before this runs leaves that window without a version: the recipe itself is committed, and
    the trailing snapshot or the next window's records a later state."""
    with transaction.atomic():
        project = Project.objects.select_related("owner").filter(pk=project_id).first()
        if project is None or project.versions.filter(version_number__gte=version).exists():
            return False
        user = User.objects.filter(pk=user_id).first()
        try:
            with transaction.atomic():
                project_version_record(project, user, coalesce=False, version=version, edits=doc)
        except IntegrityError:  # recorded meanwhile (a trailing snapshot of the same version)
            return False
    prune_log(project_id)
    return True


def prune_log(project_id: Any) -> None:
    """Drops ops (and their revert records) older than the newest OPS_RETAIN; a client behind
    them catches up from a snapshot. Claimed by a conditional update, so concurrent calls
    delete once."""
    retain = limit("OPS_RETAIN")
    room = Room.objects.filter(pk=project_id).values("seq", "pruned_through").first()
    if room is None or room["seq"] - room["pruned_through"] <= retain:
        return
    through = room["seq"] - retain
    if Room.objects.filter(pk=project_id, pruned_through__lt=through).update(
        pruned_through=through
    ):
        Op.objects.filter(project_id=project_id, seq__lte=through).delete()
        Revert.objects.filter(project_id=project_id, seq__lte=through).delete()


def apply_general(user: User, project_id: Any, ops: list[OpIn]) -> Applied | Rejected:
    """One client's batch on the general path (any case, any database), in its own
    transaction: the answer, or why it was refused."""
    try:
        with transaction.atomic():
            return _apply_general(user, project_id, ops)
    except Rejected as exc:
        return exc


def _apply_general(user: User, project_id: Any, ops: list[OpIn]) -> Applied:
    ids = [o.id for o in ops]
    project = _project(user, project_id, "edit", for_update=True)
    room = _room(project)
    done = {
        o.client_op_id: o
        for o in Op.objects.filter(project=project, user=user, client_op_id__in=ids)
    }
    if done:
        fresh = [o for o in ops if o.id not in done]
        if not fresh:
            return Applied(
                ops=[op_out(done[i]) for i in ids],
                version=project.version,
                duplicate=True,
                ids=ids,
            )
        ops = fresh
    writes = [validation.Write(o.path, o.op, o.value, o.id) for o in ops]
    rows = _commit(project, room, user, Op.Kind.EDIT, writes, _current(project))
    # A new edit empties this user's redo stack.
    Op.objects.filter(project=project, user=user, kind=Op.Kind.UNDO, reverted=False).update(
        reverted=True
    )
    return Applied(ops=[op_out(r) for r in rows], version=project.version, ids=ids)


def _changed_by_others_since(project: Project, user: User, path: str, seq: int) -> bool:
    later = Op.objects.filter(project=project, seq__gt=seq).exclude(user=user)
    return any(pointer.overlaps(path, p) for p in later.values_list("path", flat=True))


def _revert(user: User, project_id: Any, client_id: str, *, redo: bool) -> Applied:
    """Undo: write back what this user's last step replaced. Redo: write back what the last
    undo replaced. Paths someone else changed since are skipped."""
    source_kinds = [Op.Kind.UNDO] if redo else [Op.Kind.EDIT, Op.Kind.REDO]
    kind = Op.Kind.REDO if redo else Op.Kind.UNDO
    with transaction.atomic():
        project = _project(user, project_id, "edit", for_update=True)
        room = _room(project)
        # Remembered even when every path was skipped and no op was written, so a resend never
        # undoes (or redoes) a second step.
        first = Revert.objects.filter(project=project, user=user, client_id=client_id).first()
        if first is not None:
            done = Op.objects.filter(
                project=project, user=user, client_op_id__startswith=f"{client_id}#"
            ).order_by("seq")
            return Applied(
                [op_out(o) for o in done],
                project.version,
                duplicate=True,
                skipped=list(first.skipped),
                ids=[client_id],
            )
        mine = Op.objects.filter(project=project, user=user, kind__in=source_kinds, reverted=False)
        group = mine.aggregate(g=Max("group"))["g"]
        if group is None:
            raise Rejected("nothing_to_redo" if redo else "nothing_to_undo", "Nothing to do.")
        step = list(mine.filter(group=group).order_by("-seq"))
        Op.objects.filter(pk__in=[o.pk for o in step]).update(reverted=True)
        writes: list[validation.Write] = []
        skipped: list[str] = []
        for o in step:
            if _changed_by_others_since(project, user, o.path, o.seq):
                skipped.append(o.path)
                continue
            writes.append(
                validation.Write(
                    o.path,
                    "set" if o.prev_exists else "remove",
                    o.prev,
                    f"{client_id}#{len(writes)}",
                )
            )
        rows: list[Op] = []
        if writes:
            rows = _commit(project, room, user, kind, writes, _current(project))
        else:
            room.save(update_fields=["seq", "version"])
        Revert.objects.create(
            project=project, user=user, client_id=client_id, skipped=skipped, seq=room.seq
        )
    return Applied([op_out(r) for r in rows], project.version, skipped=skipped, ids=[client_id])


def undo(user: User, project_id: Any, client_id: str) -> Applied:
    return _revert(user, project_id, client_id, redo=False)


def redo(user: User, project_id: Any, client_id: str) -> Applied:
    return _revert(user, project_id, client_id, redo=True)


def record_outside_write(project_id: Any) -> Applied | None:
    """After a write outside the room (REST save, restore, preset apply) commits: the room's log
    records it as a `sync` op now, so connected clients can be sent it at once. None when
    there is no room yet (nobody has joined) or the log already holds that version."""
    with transaction.atomic():
        project = Project.objects.select_for_update(of=("self",)).filter(pk=project_id).first()
        if project is None:
            return None
        before = Room.objects.filter(pk=project.pk).values_list("seq", flat=True).first()
        if before is None:
            return None
        room = _room(project)
        if room.seq == before:
            return None
        rows = list(Op.objects.filter(project=project, seq__gt=before).order_by("seq"))
    return Applied([op_out(r) for r in rows], project.version)


def hello(user: User, project_id: Any, last_seq: int | None) -> dict[str, Any]:
    """The answer to a hello: the ops after `last_seq`, or the whole state when the client has
    none, is too far behind, is behind pruned ops, or is ahead of the log."""
    with transaction.atomic():
        project = _project(user, project_id, "view", for_update=True)
        room = _room(project)
        role = str(project.role)  # type: ignore[attr-defined]
        if (
            last_seq is None
            or last_seq > room.seq
            or last_seq < room.pruned_through
            or room.seq - last_seq > limit("CATCHUP_MAX_OPS")
        ):
            return {
                "type": "state",
                "seq": room.seq,
                "version": project.version,
                "recipe": _current(project),
                "role": role,
            }
        return {
            "type": "catchup",
            "ops": ops_between(project.pk, last_seq, room.seq),
            "seq": room.seq,
            "version": project.version,
            "role": role,
        }


def log_since(user: Any, project_id: uuid.UUID, since: int, count: int) -> dict[str, Any]:
    """The ops log over REST, `count` ops after `since`."""
    from collab.selectors import ops_page

    project = project_for_user(user, project_id, "view")
    room = Room.objects.filter(pk=project.pk).first()
    seq, pruned = (room.seq, room.pruned_through) if room else (0, 0)
    if since < pruned:
        raise APIError(
            "ops_pruned",
            f"Ops up to {pruned} are no longer kept; load the project and start from seq {seq}.",
            status_code=410,
            field="since",
        )
    ops = ops_page(project.pk, since, count)
    more = bool(ops) and ops[-1]["seq"] < seq
    return {
        "ops": ops,
        "seq": seq,
        "version": project.version,
        "next_since": ops[-1]["seq"] if more else None,
    }
