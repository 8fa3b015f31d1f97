"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from projects import recipe
from projects.models import Asset, Preset, Project, ProjectCollaborator, ProjectVersion


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Faker("name")

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        # No password: an unusable one costs no hashing (tests authenticate directly).
        return User.objects.create_user(*args, password=None, **kwargs)


class AssetFactory(DjangoModelFactory):
    class Meta:
        model = Asset

    owner = factory.SubFactory(UserFactory)
    kind = Asset.Kind.ORIGINAL
    key = factory.Sequence(lambda n: f"uploads/test/{n:08d}")
    size = 1000
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    format = "JPEG"
    mime_type = "image/jpeg"
    width = 64
    height = 48


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    edits_json = factory.LazyFunction(recipe.default)

    @factory.post_generation
    def first_version(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            ProjectVersion.objects.create(
                project=self,
                version_number=self.version,
                edits_json=self.edits_json,
                created_by=self.owner,
                saved_at=self.created_at,
            )


class CollaboratorFactory(DjangoModelFactory):
    class Meta:
        model = ProjectCollaborator

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    permission = "view"


class PresetFactory(DjangoModelFactory):
    class Meta:
        model = Preset

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Preset {n}")
    settings_json = factory.LazyFunction(lambda: {"develop": {"light": {"exposure": 0.5}}})
