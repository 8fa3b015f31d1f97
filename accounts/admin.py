from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import TokenFamily, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "display_name",
        "plan_type",
        "storage_used",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["plan_type", "is_staff", "is_active"]
    search_fields = ["email", "display_name"]
    readonly_fields = ["created_at", "updated_at", "last_login", "storage_used"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "avatar_url"]}),
        ("Plan", {"fields": ["plan_type", "storage_used", "storage_limit"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(TokenFamily)
class TokenFamilyAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "created_at", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_reason"]
    search_fields = ["user__email"]
    readonly_fields = ["id", "user", "created_at"]
