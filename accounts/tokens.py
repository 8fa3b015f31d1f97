"""JWT pairs with refresh-token rotation and theft detection.

Each login starts a token family. A refresh spends its token and issues the next one in the same
family. Presenting a spent token means two parties hold the same token (one of them a thief), so
the whole family is revoked: every refresh token in it and every access token minted from it
(access tokens carry the family id and authentication checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import IssuedRefreshToken, TokenFamily, User
from orlume_site.api.errors import APIError

FAMILY_CLAIM = "fam"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime


def _issue_in_family(*, user: User, family: TokenFamily) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = str(family.id)
    access: AccessToken = refresh.access_token
    access[FAMILY_CLAIM] = str(family.id)
    refresh_exp = datetime.fromtimestamp(refresh["exp"], tz=UTC)
    IssuedRefreshToken.objects.create(jti=refresh["jti"], family=family, expires_at=refresh_exp)
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=datetime.fromtimestamp(access["exp"], tz=UTC),
        refresh_expires_at=refresh_exp,
    )


def tokens_issue(*, user: User) -> TokenPair:
    """A new family, for a login or a registration."""
    with transaction.atomic():
        family = TokenFamily.objects.create(user=user)
        return _issue_in_family(user=user, family=family)


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise APIError(
            "token_invalid",
            "The refresh token is invalid or expired.",
            status_code=401,
            field="refresh",
        ) from exc


def tokens_refresh(*, raw_refresh: str) -> TokenPair:
    token = _decode_refresh(raw_refresh)
    now = timezone.now()
    with transaction.atomic():
        issued = (
            IssuedRefreshToken.objects.select_for_update()
            .select_related("family", "family__user")
            .filter(jti=token.get("jti"))
            .first()
        )
        if issued is None or str(issued.family_id) != token.get(FAMILY_CLAIM):
            raise APIError(
                "token_invalid", "The refresh token is not known.", status_code=401, field="refresh"
            )
        family = issued.family
        if family.revoked_at is not None:
            raise APIError(
                "token_revoked",
                "This session has been signed out.",
                status_code=401,
                field="refresh",
            )
        if issued.used_at is not None:
            family.revoked_at = now
            family.revoked_reason = "reuse_detected"
            family.save(update_fields=["revoked_at", "revoked_reason"])
            reused = True  # refused below, after the revocation has committed
        else:
            issued.used_at = now
            issued.save(update_fields=["used_at"])
            reused = False
        user = family.user
        if not reused and not user.is_active:
            raise APIError("account_disabled", "This account is disabled.", status_code=401)
        pair = None if reused else _issue_in_family(user=user, family=family)
    if pair is None:
        raise APIError(
            "token_reused",
            "This refresh token was already used. Every session from that sign-in has been "
            "signed out; sign in again.",
            status_code=401,
            field="refresh",
        )
    return pair


def tokens_revoke(*, raw_refresh: str, user: User | None = None) -> None:
    """Logout: revokes the family of the presented refresh token."""
    token = _decode_refresh(raw_refresh)
    updated = TokenFamily.objects.filter(
        id=token.get(FAMILY_CLAIM),
        revoked_at__isnull=True,
        **({"user": user} if user is not None else {}),
    ).update(revoked_at=timezone.now(), revoked_reason="logout")
    if not updated and not TokenFamily.objects.filter(id=token.get(FAMILY_CLAIM)).exists():
        raise APIError(
            "token_invalid", "The refresh token is not known.", status_code=401, field="refresh"
        )


def family_is_active(family_id: str | None) -> bool:
    if not family_id:
        return False
    return TokenFamily.objects.filter(id=family_id, revoked_at__isnull=True).exists()
