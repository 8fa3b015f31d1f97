"""OpenAPI description of our authentication (drf-spectacular extension)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class FamilyCheckedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.FamilyCheckedJWTAuthentication"
    name = "jwtAuth"
