"""Room writes at the service level: trailing snapshots, undo ids remembered, caps that forget
a dead process."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from collab import caps, services, writes
from collab.protocol import OpIn
from projects import recipe
from projects.models import Project, ProjectCollaborator, ProjectVersion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project() -> Project:
    owner = User.objects.create_user("owner@example.com")
    project = Project.objects.create(owner=owner, name="Harbour", edits_json=recipe.default())
    editor = User.objects.create_user("ed@example.com")
    ProjectCollaborator.objects.create(project=project, user=editor, permission="edit")
    return project


def edit(user: User, project: Project, op_id: str, path: str, value: Any) -> services.Applied:
    return writes.apply_ops(user, project.pk, [OpIn(id=op_id, path=path, value=value)])


def newest_version(project: Project) -> ProjectVersion:
    return ProjectVersion.objects.filter(project=project).order_by("-version_number")[0]


def test_edits_that_stop_inside_the_snapshot_window_end_up_in_a_version_once(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []
    monkeypatch.setattr(services, "schedule_trailing_snapshot", asked.append)
    owner = project.owner
    edit(owner, project, "o1", "/develop/light/exposure", 0.5)  # snapshots: the first in a while
    edit(owner, project, "o2", "/develop/light/exposure", 1.5)  # inside the window: not yet
    assert asked == [project.pk]
    assert newest_version(project).edits_json["develop"]["light"]["exposure"] == 0.5

    # The delayed maintenance message runs the actor, through projects' version writer.
    from render_worker.export_actors import collab_snapshot

    collab_snapshot.fn(str(project.pk))
    project.refresh_from_db()
    final = newest_version(project)
    assert (final.version_number, final.created_by_id) == (project.version, owner.pk)
    assert final.edits_json["develop"]["light"]["exposure"] == 1.5
    count = ProjectVersion.objects.filter(project=project).count()
    assert services.snapshot_trailing(project.pk) is False  # a second message changes nothing
    assert ProjectVersion.objects.filter(project=project).count() == count


def test_resending_an_undo_whose_paths_were_all_skipped_does_not_undo_a_later_step(
    project: Project,
) -> None:
    owner = project.owner
    editor = User.objects.get(email="ed@example.com")
    edit(owner, project, "o1", "/develop/light/exposure", 1.0)
    edit(editor, project, "e1", "/develop/light/exposure", 2.0)
    first = services.undo(owner, project.pk, "u1")  # the editor changed it since: skipped
    assert (first.ops, first.skipped) == ([], ["/develop/light/exposure"])
    edit(owner, project, "o2", "/develop/light/contrast", 20)

    again = services.undo(owner, project.pk, "u1")  # the resend after a reconnect

    assert (again.duplicate, again.ops, again.skipped) == (True, [], ["/develop/light/exposure"])
    project.refresh_from_db()
    assert project.edits_json["develop"]["light"]["contrast"] == 20  # o2 still stands


def test_connections_of_a_process_that_died_stop_counting_within_two_epochs(
    settings: Any,
) -> None:
    settings.COLLAB = {**settings.COLLAB, "MAX_CONNECTIONS_PER_USER": 2}
    start = 1_000_000 * caps.EPOCH_SECONDS
    assert caps.acquire("room-1", "user-1", "a", now=start) is None
    assert caps.acquire("room-1", "user-1", "b", now=start) is None
    assert caps.acquire("room-1", "user-1", "c", now=start) == "user"
    # Live connections stay counted while their process's heartbeat runs.
    later = start + 3 * caps.EPOCH_SECONDS
    for step in range(1, 4):
        caps.heartbeat(now=start + step * caps.EPOCH_SECONDS)
    assert caps.acquire("room-1", "user-1", "c", now=later) == "user"

    caps.forget_process()  # the process dies without closing its sockets

    assert caps.acquire("room-1", "user-1", "d", now=later + 2 * caps.EPOCH_SECONDS) is None
    caps.release("d", now=later + 2 * caps.EPOCH_SECONDS)
