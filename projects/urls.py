from django.urls import path

from projects import views

urlpatterns = [
    path("recipe/schema", views.RecipeSchemaView.as_view(), name="recipe-schema"),
    path("upload/presigned", views.UploadPresignView.as_view(), name="upload-presigned"),
    path("upload/local/<str:token>", views.LocalUploadView.as_view(), name="upload-local"),
    path("upload/<uuid:upload_id>", views.UploadDetailView.as_view(), name="upload-detail"),
    path(
        "upload/<uuid:upload_id>/complete",
        views.UploadCompleteView.as_view(),
        name="upload-complete",
    ),
    path("files/<str:token>", views.LocalFileView.as_view(), name="file-local"),
    path("storage/<path:key>", views.StorageDeleteView.as_view(), name="storage-delete"),
    path("projects", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<uuid:project_id>", views.ProjectDetailView.as_view(), name="project-detail"),
    path(
        "projects/<uuid:project_id>/duplicate",
        views.ProjectDuplicateView.as_view(),
        name="project-duplicate",
    ),
    path(
        "projects/<uuid:project_id>/versions",
        views.ProjectVersionsView.as_view(),
        name="project-versions",
    ),
    path(
        "projects/<uuid:project_id>/versions/<int:version_number>/restore",
        views.ProjectRestoreView.as_view(),
        name="project-restore",
    ),
    path(
        "projects/<uuid:project_id>/collaborators",
        views.CollaboratorsView.as_view(),
        name="project-collaborators",
    ),
    path(
        "projects/<uuid:project_id>/collaborators/<uuid:user_id>",
        views.CollaboratorDetailView.as_view(),
        name="project-collaborator",
    ),
    path(
        "projects/<uuid:project_id>/apply-preset",
        views.ProjectApplyPresetView.as_view(),
        name="project-apply-preset",
    ),
    path("projects/<uuid:project_id>/xmp", views.ProjectXmpView.as_view(), name="project-xmp"),
    path("presets", views.PresetsView.as_view(), name="preset-list"),
    path("presets/import", views.PresetImportView.as_view(), name="preset-import"),
    path("presets/<uuid:preset_id>", views.PresetDetailView.as_view(), name="preset-detail"),
    path("presets/<uuid:preset_id>/xmp", views.PresetXmpView.as_view(), name="preset-xmp"),
]
