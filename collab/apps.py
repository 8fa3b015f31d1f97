from django.apps import AppConfig


class CollabConfig(AppConfig):
    name = "collab"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from collab.sinks import access_changed, recipe_changed, room_sink
        from exports import events
        from projects.signals import project_access_changed, project_recipe_changed

        events.register_sink(room_sink)
        project_recipe_changed.connect(recipe_changed, dispatch_uid="collab.recipe_changed")
        project_access_changed.connect(access_changed, dispatch_uid="collab.access_changed")
