from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User
from accounts.tokens import TokenPair
from orlume_site.api.serializers import StrictSerializer


class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False, write_only=True)
    display_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class LoginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False, write_only=True)


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "display_name",
            "avatar_url",
            "plan_type",
            "storage_used",
            "storage_limit",
            "created_at",
            "updated_at",
            "last_login",
        ]
        read_only_fields = fields


class ProfileUpdateSerializer(StrictSerializer):
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    avatar_url = serializers.URLField(max_length=2000, required=False, allow_blank=True)

    def validate_avatar_url(self, value: str) -> str:
        if value and not value.startswith("https://"):
            raise serializers.ValidationError("Avatar URLs must use https.", code="insecure_url")
        return value


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()


class AuthResultSerializer(serializers.Serializer):
    user = UserSerializer()
    tokens = TokenPairSerializer()


def auth_result(user: User, pair: TokenPair) -> dict[str, Any]:
    return AuthResultSerializer({"user": user, "tokens": pair}).data
