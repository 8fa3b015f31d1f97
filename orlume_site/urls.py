from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from orlume_site import health

api_v1: list[URLPattern | URLResolver] = [
    path("auth/", include("accounts.urls")),
    path("", include("projects.urls")),
    path("", include("exports.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the strict CSP needs no inline JS.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("accounts.pages")),
]

handler400 = "orlume_site.api.errors.handler400"
handler403 = "orlume_site.api.errors.handler403"
handler404 = "orlume_site.api.errors.handler404"
handler500 = "orlume_site.api.errors.handler500"
