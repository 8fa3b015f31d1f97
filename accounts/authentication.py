from __future__ import annotations

from typing import Any

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from accounts.tokens import FAMILY_CLAIM, family_is_active


class FamilyCheckedJWTAuthentication(JWTAuthentication):
    """Bearer JWT, refused once its token family is revoked (logout or theft detection)."""

    def get_validated_token(self, raw_token: bytes) -> Any:
        token = super().get_validated_token(raw_token)
        if not family_is_active(token.get(FAMILY_CLAIM)):
            raise AuthenticationFailed("This session has been signed out.", code="token_revoked")
        return token
