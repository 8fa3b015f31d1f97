"""Group commit at the service level: batches from several clients of one room, written together
(one transaction on PostgreSQL), each answered on its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from collab import services, writes
from collab.models import Op
from collab.protocol import OpIn
from projects import recipe
from projects.models import Project, ProjectCollaborator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project() -> Project:
    owner = User.objects.create_user("owner@example.com")
    project = Project.objects.create(owner=owner, name="Harbour", edits_json=recipe.default())
    for name in ("ed", "al"):
        user = User.objects.create_user(f"{name}@example.com")
        ProjectCollaborator.objects.create(project=project, user=user, permission="edit")
    viewer = User.objects.create_user("vi@example.com")
    ProjectCollaborator.objects.create(project=project, user=viewer, permission="view")
    # The room exists and has just recorded a version: the common case every later write takes.
    writes.apply_ops(owner, project.pk, [OpIn(id="warm", path="/develop/light/whites", value=1)])
    return project


def person(name: str) -> User:
    return User.objects.get(email=f"{name}@example.com")


def ops(*specs: tuple[str, str, Any]) -> list[OpIn]:
    return [OpIn(id=i, path=p, value=v) for i, p, v in specs]


def light(project: Project) -> dict[str, Any]:
    project.refresh_from_db()
    return dict(project.edits_json["develop"]["light"])


def test_a_group_takes_sequence_numbers_in_arrival_order_without_gaps(project: Project) -> None:
    # Given three clients' batches arriving together (one of two ops)
    group = [
        (person("ed"), ops(("e1", "/develop/light/exposure", 0.5))),
        (
            person("al"),
            ops(("a1", "/develop/light/contrast", 10), ("a2", "/develop/light/exposure", 1.5)),
        ),
        (project.owner, ops(("o1", "/develop/light/shadows", -20))),
    ]
    # When the room writes them as one group
    with CaptureQueriesContext(connection) as statements:
        results = writes.apply_group(project.pk, group)
    # Then each is acknowledged with the next numbers in the order they arrived
    assert [r.seqs if isinstance(r, services.Applied) else r for r in results] == [[2], [3, 4], [5]]
    assert [r.version for r in results if isinstance(r, services.Applied)] == [3, 4, 5]
    assert list(Op.objects.order_by("seq").values_list("client_op_id", flat=True)) == [
        "warm", "e1", "a1", "a2", "o1"
    ]  # fmt: skip
    # And the last writer in that order holds each path
    held = light(project)
    assert (held["exposure"], held["contrast"], held["shadows"]) == (1.5, 10.0, -20.0)
    project.refresh_from_db()
    assert project.version == 5
    if connection.vendor == "postgresql":  # SQLite, the embedded default: one transaction each
        # BEGIN, the lock and read, one write, COMMIT: one transaction for the whole group.
        assert len(statements) == 4


def test_a_rejected_batch_inside_a_group_leaves_the_others_applied(project: Project) -> None:
    # Given a group whose middle batch is invalid in its second op, and a viewer's batch
    group = [
        (person("ed"), ops(("e1", "/develop/light/exposure", 0.5))),
        (
            person("al"),
            ops(("a1", "/develop/light/contrast", 10), ("a2", "/develop/light/exposure", 99)),
        ),
        (person("vi"), ops(("v1", "/develop/light/blacks", 5))),
        (project.owner, ops(("o1", "/develop/light/shadows", -20))),
    ]
    # When the room writes the group
    ed, al, vi, owner = writes.apply_group(project.pk, group)
    # Then the invalid batch is refused as a whole, with the pointer at fault, and so is the
    # viewer's; the others are applied with consecutive numbers
    assert isinstance(al, services.Rejected)
    assert (al.code, al.path) == ("out_of_range", "/develop/light/exposure")
    assert isinstance(vi, services.Rejected)
    assert vi.code == "permission_denied"
    assert isinstance(ed, services.Applied)
    assert isinstance(owner, services.Applied)
    assert (ed.seqs, owner.seqs) == ([2], [3])
    assert light(project)["contrast"] == 0.0  # a1 went with a2
    assert light(project)["exposure"] == 0.5
    assert not Op.objects.filter(client_op_id__in=["a1", "a2", "v1"]).exists()


def test_a_resend_inside_a_group_is_answered_with_the_first_ack_and_applied_once(
    project: Project,
) -> None:
    ed = person("ed")
    # Given an op stored by an earlier transaction
    earlier = writes.apply_ops(ed, project.pk, ops(("e1", "/develop/light/exposure", 0.5)))
    # When one group holds its resend, a new batch, and the new batch's resend (the same user
    # on a second connection, before the first was answered)
    group = [
        (ed, ops(("e1", "/develop/light/exposure", 0.5))),
        (ed, ops(("e2", "/develop/light/exposure", 1.0))),
        (ed, ops(("e2", "/develop/light/exposure", 1.0), ("e3", "/develop/light/contrast", 5))),
    ]
    again, fresh, partly = writes.apply_group(project.pk, group)
    # Then both resends get the first numbers back and nothing is applied twice; the batch
    # that was partly a resend applies only its new op
    assert isinstance(again, services.Applied)
    assert again.duplicate
    assert again.seqs == earlier.seqs == [2]
    assert isinstance(fresh, services.Applied)
    assert fresh.seqs == [3]
    assert isinstance(partly, services.Applied)
    assert not partly.duplicate
    assert partly.seqs == [4]
    assert partly.ids == ["e2", "e3"]
    assert list(Op.objects.order_by("seq").values_list("seq", "client_op_id")) == [
        (1, "warm"), (2, "e1"), (3, "e2"), (4, "e3")
    ]  # fmt: skip


def test_a_group_clears_the_redo_stacks_of_everyone_who_edited_in_it(project: Project) -> None:
    ed, al = person("ed"), person("al")
    writes.apply_ops(ed, project.pk, ops(("e1", "/develop/light/exposure", 0.5)))
    writes.apply_ops(al, project.pk, ops(("a1", "/develop/light/contrast", 10)))
    services.undo(ed, project.pk, "u-ed")
    services.undo(al, project.pk, "u-al")
    # When both edit again in one group
    writes.apply_group(
        project.pk,
        [
            (ed, ops(("e2", "/develop/light/shadows", 5))),
            (al, ops(("a2", "/develop/light/blacks", 5))),
        ],
    )
    # Then neither has anything left to redo
    for user, op_id in ((ed, "r-ed"), (al, "r-al")):
        with pytest.raises(services.Rejected) as refused:
            services.redo(user, project.pk, op_id)
        assert refused.value.code == "nothing_to_redo"


@pytest.mark.services
def test_a_resend_the_lock_read_missed_is_answered_once_by_the_general_path(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process committed the op while this one waited for the lock, after the lock
    statement's snapshot: the write hits the unique constraint. The group is tried again and,
    when it keeps failing, the general path answers (here the lock read never sees stored
    ops, so every attempt fails the same way)."""
    from collab import pg

    ed = person("ed")
    earlier = writes.apply_ops(ed, project.pk, ops(("e1", "/develop/light/exposure", 0.5)))
    blind = writes._GROUP_LOCK_SQL.replace("o.project_id = p.id AND", "false AND")
    monkeypatch.setattr(writes, "_GROUP_LOCK_SQL", blind)

    async def story() -> list[writes.Answer]:
        try:
            return await writes.aapply_group(
                project.pk, [(ed, ops(("e1", "/develop/light/exposure", 0.5)))]
            )
        finally:
            await pg.close()

    [again] = asyncio.run(story())
    assert isinstance(again, services.Applied)
    assert again.duplicate
    assert again.seqs == earlier.seqs
    assert Op.objects.filter(client_op_id="e1").count() == 1


def test_a_group_due_for_a_snapshot_is_written_in_one_transaction_and_then_recorded(
    project: Project, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # Given a room whose snapshot window has passed (a version was recorded a minute ago)
    from datetime import timedelta

    from django.utils import timezone

    from collab.models import Room

    Room.objects.filter(pk=project.pk).update(snapshot_at=timezone.now() - timedelta(minutes=1))
    general: list[Any] = []
    real_general = writes.apply_general

    def spy(*args: Any) -> Any:
        general.append(args)
        return real_general(*args)

    monkeypatch.setattr(writes, "apply_general", spy)
    before = set(project.versions.values_list("version_number", flat=True))
    # When two clients' batches are written as a group
    results = writes.apply_group(
        project.pk,
        [
            (person("ed"), ops(("e1", "/develop/light/exposure", 0.5))),
            (person("al"), ops(("a1", "/develop/light/contrast", 12))),
        ],
    )
    # Then one version is recorded for the window: on PostgreSQL the group takes the common
    # path and the version after the whole group is recorded once it has committed; the
    # embedded default writes each batch on the general path and records the first one's
    assert all(isinstance(r, services.Applied) for r in results)
    project.refresh_from_db()
    recorded = project.versions.exclude(version_number__in=before)
    newest = recorded.get()
    if connection.vendor == "postgresql":
        assert general == []
        assert newest.version_number == project.version
        assert newest.edits_json["develop"]["light"]["contrast"] == 12
        assert newest.created_by == person("al")  # the group's last writer
    else:
        assert len(general) == 2
        assert newest.version_number == project.version - 1
        assert newest.edits_json["develop"]["light"]["exposure"] == 0.5
        assert newest.created_by == person("ed")
    snapshot_at = Room.objects.get(pk=project.pk).snapshot_at
    assert snapshot_at is not None
    assert snapshot_at > timezone.now() - timedelta(seconds=30)
    # And recording it again (a redelivered hint) changes nothing
    doc = newest.edits_json
    number = newest.version_number
    assert services.snapshot_record(project.pk, number, doc, person("al").pk) is False
    assert project.versions.filter(version_number=number).count() == 1


def test_a_snapshot_of_an_older_version_than_one_recorded_is_not_written(
    project: Project,
) -> None:
    project.refresh_from_db()
    assert services.snapshot_record(project.pk, project.version - 1, {}, None) is False


def test_the_op_log_keeps_the_newest_ops_and_a_client_behind_them_gets_a_snapshot(
    project: Project, settings: Any
) -> None:
    # Given a room that keeps only its newest 3 ops
    from collab.conf import limit

    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "OPS_RETAIN": 3}
    assert limit("OPS_RETAIN") == 3
    owner = project.owner
    for i in range(6):
        writes.apply_ops(
            owner, project.pk, [OpIn(id=f"p{i}", path="/develop/light/shadows", value=i)]
        )
    # When the log is pruned (after each version snapshot)
    services.prune_log(project.pk)
    # Then only the newest 3 remain, and a client that last saw seq 1 is sent the state
    assert list(Op.objects.order_by("seq").values_list("seq", flat=True)) == [5, 6, 7]
    answer = services.hello(owner, project.pk, 1)
    assert answer["type"] == "state"
    assert answer["seq"] == 7
    assert services.hello(owner, project.pk, 5)["type"] == "catchup"
