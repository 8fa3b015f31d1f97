from channels.auth import AuthMiddlewareStack
from django.urls import URLPattern, path

from collab.consumers import SyncConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("api/v1/sync/<uuid:project_id>", AuthMiddlewareStack(SyncConsumer.as_asgi())),
]
