"""WebSocket routes; the collaboration app adds its sync room here."""

from django.urls import URLPattern

from collab.routing import websocket_urlpatterns as collab_routes

websocket_urlpatterns: list[URLPattern] = [*collab_routes]
