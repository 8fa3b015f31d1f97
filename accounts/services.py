"""Account writes."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import login_guard
from accounts.models import User, normalize_email
from accounts.tokens import TokenPair, tokens_issue
from orlume_site.api.errors import APIError


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise APIError("password_invalid", " ".join(exc.messages), field="password") from exc


def user_register(*, email: str, password: str, display_name: str = "") -> tuple[User, TokenPair]:
    email = normalize_email(email)
    user = User(email=email, display_name=display_name)
    _validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            pair = tokens_issue(user=user)
    except IntegrityError as exc:
        raise APIError(
            "email_taken",
            "An account with this email already exists.",
            status_code=409,
            field="email",
        ) from exc
    return user, pair


# Hashing a password for an unknown account costs what a real check costs, so response time
# does not tell whether an account exists.
_DUMMY = User()
_DUMMY.set_password("orlume-timing-equaliser")


def user_login(*, email: str, password: str, address: str) -> tuple[User, TokenPair]:
    email = normalize_email(email)
    login_guard.check_allowed(email=email, address=address)
    user = User.objects.filter(email=email).first()
    valid = user.check_password(password) if user else _DUMMY.check_password(password)
    if user is None or not valid or not user.is_active:
        login_guard.record_failure(email=email, address=address)
        raise APIError(
            "invalid_credentials", "The email or password is incorrect.", status_code=401
        )
    login_guard.record_success(email=email)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return user, tokens_issue(user=user)


def user_update_profile(
    *, user: User, display_name: str | None = None, avatar_url: str | None = None
) -> User:
    fields = []
    if display_name is not None:
        user.display_name = display_name
        fields.append("display_name")
    if avatar_url is not None:
        user.avatar_url = avatar_url
        fields.append("avatar_url")
    if fields:
        user.save(update_fields=[*fields, "updated_at"])
    return user
