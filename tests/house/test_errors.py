"""Every error, whatever raised it, answers the same JSON shape."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from orlume_site.logging import RequestIDFilter

pytestmark = pytest.mark.django_db


class Boom(APIView):
    permission_classes = []
    authentication_classes = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("kaboom")


def plain_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("kaboom outside DRF")


urlpatterns = [
    path("boom", Boom.as_view()),
    path("plain-boom", plain_boom),
    path("", include("orlume_site.urls")),
]
handler500 = "orlume_site.api.errors.handler500"  # as in orlume_site.urls


def assert_shape(body: dict[str, object], code: str) -> None:
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]


def test_404_for_an_unknown_url_is_json() -> None:
    response = Client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert_shape(response.json(), "not_found")


def test_405_for_a_wrong_method() -> None:
    response = Client().get("/api/v1/auth/login")
    assert response.status_code == 405
    assert_shape(response.json(), "method_not_allowed")


def test_413_for_an_oversized_body_before_it_is_read() -> None:
    body = json.dumps({"email": "a@example.com", "password": "x" * (2 * 1024 * 1024)})
    response = Client().post("/api/v1/auth/login", body, content_type="application/json")
    assert response.status_code == 413
    assert_shape(response.json(), "payload_too_large")


def test_415_for_a_wrong_content_type() -> None:
    response = Client().post("/api/v1/auth/login", "email=a", content_type="text/plain")
    assert response.status_code == 415
    assert_shape(response.json(), "unsupported_media_type")


def test_400_for_malformed_json() -> None:
    response = Client().post(
        "/api/v1/auth/login", '{"email": "a@example.com",', content_type="application/json"
    )
    assert response.status_code == 400
    assert_shape(response.json(), "malformed_json")


def test_400_for_an_overlong_string_names_the_field_and_writes_nothing() -> None:
    response = Client().post(
        "/api/v1/auth/register",
        {"email": "a@example.com", "password": "long enough password", "display_name": "x" * 101},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "display_name"
    assert response.json()["code"] == "max_length"
    assert User.objects.count() == 0


def test_400_for_a_wrong_type_names_the_field() -> None:
    response = Client().post(
        "/api/v1/auth/login",
        {"email": ["a"], "password": {"a": 1}},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "email"
    assert {e["field"] for e in body["errors"]} == {"email", "password"}


def test_429_after_the_anonymous_rate_limit_with_retry_after() -> None:
    client = Client()
    statuses = [
        client.post(
            "/api/v1/auth/refresh", {"refresh": "x"}, content_type="application/json"
        ).status_code
        for _ in range(101)
    ]
    assert statuses[:100] == [401] * 100
    assert statuses[100] == 429
    throttled = client.post(
        "/api/v1/auth/refresh", {"refresh": "x"}, content_type="application/json"
    )
    assert_shape(throttled.json(), "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 60


@override_settings(ROOT_URLCONF=__name__)
def test_500_from_an_api_view_is_json_and_logged_with_the_request_id() -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    handler.addFilter(RequestIDFilter())
    logging.getLogger("orlume.errors").addHandler(handler)
    try:
        response = Client().get("/boom", HTTP_X_REQUEST_ID="trace-abcdef12")
    finally:
        logging.getLogger("orlume.errors").removeHandler(handler)

    assert response.status_code == 500
    assert_shape(response.json(), "server_error")
    assert "kaboom" not in response.content.decode()
    assert response["X-Request-ID"] == "trace-abcdef12"
    assert [r.request_id for r in records] == ["trace-abcdef12"]  # type: ignore[attr-defined]


@override_settings(ROOT_URLCONF=__name__)
def test_500_outside_drf_is_json_too() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/plain-boom")
    assert response.status_code == 500
    assert_shape(response.json(), "server_error")


def test_every_response_carries_a_request_id_and_unsafe_ones_are_replaced() -> None:
    client = Client()
    generated = client.get("/healthz")
    assert len(generated["X-Request-ID"]) == 32
    unsafe = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nInjected: 1")
    assert unsafe["X-Request-ID"] != "bad id\r\nInjected: 1"
    assert "\n" not in unsafe["X-Request-ID"]


def test_log_lines_are_json_with_the_request_id() -> None:
    root = logging.getLogger()
    formatter = next(h.formatter for h in root.handlers if h.formatter is not None)
    record = logging.LogRecord("orlume.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    RequestIDFilter().filter(record)
    line = json.loads(formatter.format(record))
    assert line["message"] == "hello x"
    assert line["level"] == "INFO"
    assert "request_id" in line


def test_django_request_log_lines_carry_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        Client().get("/api/v1/no-such-thing", HTTP_X_REQUEST_ID="trace-0000feed")
    record = next(r for r in caplog.records if r.name == "django.request")
    RequestIDFilter().filter(record)
    assert record.request_id == "trace-0000feed"  # type: ignore[attr-defined]


def test_each_request_writes_one_access_line_with_status_and_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="orlume.access"):
        Client().get("/healthz", HTTP_X_REQUEST_ID="trace-acce55ed")
    (record,) = [r for r in caplog.records if r.name == "orlume.access"]
    RequestIDFilter().filter(record)
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)  # type: ignore[attr-defined]
    assert record.request_id == "trace-acce55ed"  # type: ignore[attr-defined]


def test_signed_file_and_upload_tokens_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture, settings: Any, tmp_path: Any
) -> None:
    """A signed link is a bearer credential for as long as it lives: the access line and
    Django's 4xx line name the route, not the token."""
    from projects import storage

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}},
    }
    settings.MEDIA_ROOT = str(tmp_path)
    download = storage.signed_url("exports/someone/photo.jpg", ttl=300)
    token = download.rsplit("/", 1)[-1]
    upload = storage.presigned_post(key="uploads/someone/x", size=3, ttl=300)["url"]
    upload_token = upload.rsplit("/", 1)[-1]
    with caplog.at_level(logging.INFO):
        Client().get(f"/api/v1/files/{token}")
        Client().generic("PUT", f"/api/v1/upload/local/{upload_token}", b"abc")
    handler_filter = RequestIDFilter()
    lines = []
    for record in caplog.records:
        handler_filter.filter(record)
        lines.append(record.getMessage() + str(getattr(record, "path", "")))
    assert lines
    assert not [line for line in lines if token in line or upload_token in line]
