"""Stories of signing up, signing in, keeping a session fresh and signing out."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import TokenFamily, User

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def register(client: APIClient, email: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/register",
        {"email": email, "password": PASSWORD, "display_name": "Ada", **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def login(client: APIClient, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")


def refresh(client: APIClient, token: str) -> Any:
    return client.post("/api/v1/auth/refresh", {"refresh": token}, format="json")


def me(client: APIClient, access: str) -> Any:
    return client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {access}")


def test_register_creates_a_free_account_with_argon2_password_and_signs_in() -> None:
    client = APIClient()
    body = register(client, email="Ada@Example.COM")

    user = User.objects.get()
    assert user.email == "ada@example.com"
    assert user.plan_type == "free"
    assert user.storage_limit == 5 * 1024**3
    assert user.password.startswith("argon2")
    assert body["user"]["email"] == "ada@example.com"
    assert me(client, body["tokens"]["access"]).json()["display_name"] == "Ada"


def test_register_twice_with_the_same_email_in_other_case_is_refused() -> None:
    client = APIClient()
    register(client)
    response = client.post(
        "/api/v1/auth/register",
        {"email": "ADA@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "email_taken",
        "detail": "An account with this email already exists.",
        "field": "email",
    }
    assert User.objects.count() == 1


def test_weak_password_is_refused_with_its_field() -> None:
    response = APIClient().post(
        "/api/v1/auth/register", {"email": "b@example.com", "password": "12345"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "password"
    assert User.objects.count() == 0


def test_login_answers_the_same_for_a_wrong_password_and_an_unknown_account() -> None:
    client = APIClient()
    register(client)
    wrong_password = login(client, password="not the password at all")
    unknown_account = login(client, email="nobody@example.com")
    assert wrong_password.status_code == unknown_account.status_code == 401
    assert wrong_password.json() == unknown_account.json()
    assert wrong_password.json()["code"] == "invalid_credentials"


def test_login_returns_tokens_that_reach_me() -> None:
    client = APIClient()
    register(client)
    response = login(client, email="ADA@example.com")
    assert response.status_code == 200
    assert me(client, response.json()["tokens"]["access"]).json()["email"] == "ada@example.com"
    assert User.objects.get().last_login is not None


def test_refresh_rotates_and_the_new_pair_works() -> None:
    client = APIClient()
    tokens = register(client)["tokens"]
    response = refresh(client, tokens["refresh"])
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["refresh"] != tokens["refresh"]
    assert me(client, rotated["access"]).status_code == 200
    assert refresh(client, rotated["refresh"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family() -> None:
    client = APIClient()
    stolen = register(client)["tokens"]
    legit = refresh(client, stolen["refresh"]).json()  # the owner rotates

    replay = refresh(client, stolen["refresh"])  # the thief replays the old token

    assert replay.status_code == 401
    assert replay.json()["code"] == "token_reused"
    family = TokenFamily.objects.get()
    assert family.revoked_reason == "reuse_detected"
    # Everything issued in that family is now dead: the owner's newest pair too.
    assert refresh(client, legit["refresh"]).json()["code"] == "token_revoked"
    assert me(client, legit["access"]).status_code == 401


def test_a_second_login_is_a_separate_family_untouched_by_the_first_ones_theft() -> None:
    client = APIClient()
    first = register(client)["tokens"]
    second = login(client).json()["tokens"]
    refresh(client, first["refresh"])
    refresh(client, first["refresh"])  # reuse: the first family dies
    assert me(client, second["access"]).status_code == 200


def test_logout_revokes_refresh_and_access_tokens() -> None:
    client = APIClient()
    tokens = register(client)["tokens"]
    response = client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    assert refresh(client, tokens["refresh"]).json()["code"] == "token_revoked"
    assert me(client, tokens["access"]).status_code == 401


def test_garbage_refresh_token_is_a_clean_401() -> None:
    response = refresh(APIClient(), "not-a-jwt")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert response.json()["field"] == "refresh"


def test_me_requires_authentication() -> None:
    response = APIClient().get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_patch_me_updates_the_profile_and_refuses_unknown_or_insecure_fields() -> None:
    client = APIClient()
    access = register(client)["tokens"]["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    ok = client.patch(
        "/api/v1/auth/me",
        {"display_name": "Ada L.", "avatar_url": "https://cdn.example.com/a.png"},
        format="json",
    )
    assert ok.status_code == 200
    assert ok.json()["display_name"] == "Ada L."

    unknown = client.patch("/api/v1/auth/me", {"plan_type": "enterprise"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "plan_type"
    assert unknown.json()["code"] == "unknown_field"
    assert User.objects.get().plan_type == "free"

    insecure = client.patch(
        "/api/v1/auth/me", {"avatar_url": "http://example.com/a.png"}, format="json"
    )
    assert insecure.status_code == 400
    assert insecure.json()["field"] == "avatar_url"


@override_settings(
    LOGIN_FAILURES={
        "SLOWDOWN_AFTER": 3,
        "SLOWDOWN_MAX_SECONDS": 0.0,
        "ACCOUNT_LOCK_AFTER": 5,
        "ADDRESS_LOCK_AFTER": 50,
        "LOCK_SECONDS": 900,
    }
)
def test_repeated_failures_lock_the_account_even_for_the_right_password() -> None:
    client = APIClient()
    register(client)
    for _ in range(5):
        assert login(client, password="wrong password here").status_code == 401

    locked = login(client)

    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
    assert int(locked["Retry-After"]) > 0


@override_settings(
    LOGIN_FAILURES={
        "SLOWDOWN_AFTER": 100,
        "SLOWDOWN_MAX_SECONDS": 0.0,
        "ACCOUNT_LOCK_AFTER": 100,
        "ADDRESS_LOCK_AFTER": 4,
        "LOCK_SECONDS": 900,
    }
)
def test_failures_across_many_accounts_lock_the_address() -> None:
    client = APIClient()
    register(client)
    for n in range(4):
        login(client, email=f"guess{n}@example.com")
    assert login(client).status_code == 429


def test_a_successful_login_resets_the_account_counter() -> None:
    client = APIClient()
    register(client)
    with override_settings(
        LOGIN_FAILURES={
            "SLOWDOWN_AFTER": 100,
            "SLOWDOWN_MAX_SECONDS": 0.0,
            "ACCOUNT_LOCK_AFTER": 3,
            "ADDRESS_LOCK_AFTER": 100,
            "LOCK_SECONDS": 900,
        }
    ):
        login(client, password="wrong password here")
        login(client, password="wrong password here")
        assert login(client).status_code == 200
        login(client, password="wrong password here")
        login(client, password="wrong password here")
        assert login(client).status_code == 200


def test_the_per_user_rate_limit_counts_each_user_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    from orlume_site.api.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    alice, bob = APIClient(), APIClient()
    alice.credentials(HTTP_AUTHORIZATION=f"Bearer {register(alice)['tokens']['access']}")
    bob.credentials(
        HTTP_AUTHORIZATION=f"Bearer {register(bob, email='bob@example.com')['tokens']['access']}"
    )

    assert [alice.get("/api/v1/auth/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert bob.get("/api/v1/auth/me").status_code == 200
