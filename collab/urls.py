from django.urls import path

from collab import views

urlpatterns = [
    path("sync/ticket", views.SyncTicketView.as_view(), name="sync-ticket"),
    path("projects/<uuid:project_id>/ops", views.OpsLogView.as_view(), name="project-ops"),
]
