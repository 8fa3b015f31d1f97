"""WebSocket routes; the collaboration app adds its sync room here."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
