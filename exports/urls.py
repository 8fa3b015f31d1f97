from django.urls import URLPattern, URLResolver, include, path

from exports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("exports.webhooks.urls")),
    path("exports", views.ExportListView.as_view(), name="export-list"),
    path("exports/<uuid:export_id>", views.ExportDetailView.as_view(), name="export-detail"),
    path("exports/<uuid:export_id>/cancel", views.ExportCancelView.as_view(), name="export-cancel"),
    path(
        "exports/<uuid:export_id>/download",
        views.ExportDownloadView.as_view(),
        name="export-download",
    ),
    path("batches", views.BatchListView.as_view(), name="batch-list"),
    path("batches/<uuid:batch_id>", views.BatchDetailView.as_view(), name="batch-detail"),
    path("batches/<uuid:batch_id>/cancel", views.BatchCancelView.as_view(), name="batch-cancel"),
    path(
        "batches/<uuid:batch_id>/download",
        views.BatchDownloadView.as_view(),
        name="batch-download",
    ),
]
