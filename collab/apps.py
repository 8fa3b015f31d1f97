from django.apps import AppConfig


class CollabConfig(AppConfig):
    name = "collab"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from collab.sinks import room_sink
        from exports import events

        events.register_sink(room_sink)
