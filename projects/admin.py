from django.contrib import admin

from projects.models import Asset, Preset, Project, ProjectCollaborator, ProjectVersion, Upload


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ["name", "owner", "version", "is_public", "updated_at"]
    search_fields = ["name", "owner__email"]
    raw_id_fields = ["owner", "original", "depth_map"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin[Asset]):
    list_display = ["key", "kind", "owner", "format", "width", "height", "processing"]
    list_filter = ["kind", "processing"]
    raw_id_fields = ["owner", "source"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin[Upload]):
    list_display = ["key", "owner", "size", "status", "expires_at"]
    raw_id_fields = ["owner", "asset"]


admin.site.register(ProjectVersion)
admin.site.register(ProjectCollaborator)
admin.site.register(Preset)
