"""Exports and batches API. Thin: parse, authorise, call a service, answer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from exports import selectors, services
from exports import serializers as s
from orlume_site.api.errors import APIError
from orlume_site.api.pagination import CreatedCursorPagination

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request safely: the same key answers with the same job.",
)


def _me(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def _parse(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255:
        raise APIError("invalid_idempotency_key", "Idempotency-Key is at most 255 characters.")
    return key


class ExportListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("project_id", str, required=False),
            OpenApiParameter("status", str, required=False),
        ],
        responses={200: s.ExportSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.exports_for_user(
            user=_me(request),
            project_id=request.query_params.get("project_id"),
            status=request.query_params.get("status"),
        )
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ExportSerializer(page, many=True).data)

    @extend_schema(
        request=s.ExportCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: s.ExportSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _parse(s.ExportCreateSerializer, request)
        project_id = data.pop("project_id")
        export, created = services.export_create(
            user=_me(request),
            project_id=project_id,
            options=data,
            idempotency_key=_idempotency_key(request),
        )
        return _accepted(s.ExportSerializer(export).data, f"/api/v1/exports/{export.pk}", created)


def _accepted(body: Any, location: str, created: bool) -> Response:
    """202 for new work; a replayed Idempotency-Key answers the same job, marked as such."""
    headers = {"Location": location}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


def _no_store_redirect(url: str) -> HttpResponseRedirect:
    """Signed links are short-lived: no cache may keep the redirect."""
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


class ExportDetailView(APIView):
    @extend_schema(responses={200: s.ExportSerializer})
    def get(self, request: Request, export_id: UUID) -> Response:
        export = selectors.export_get(user=_me(request), export_id=export_id)
        return Response(s.ExportSerializer(export).data)


class ExportCancelView(APIView):
    @extend_schema(request=None, responses={200: s.ExportSerializer})
    def post(self, request: Request, export_id: UUID) -> Response:
        export = selectors.export_get(user=_me(request), export_id=export_id)
        return Response(s.ExportSerializer(services.export_cancel(export=export)).data)


class ExportDownloadView(APIView):
    @extend_schema(responses={302: None})
    def get(self, request: Request, export_id: UUID) -> HttpResponseRedirect:
        export = selectors.export_get(user=_me(request), export_id=export_id)
        return _no_store_redirect(services.export_download_url(export=export))


class BatchListView(APIView):
    @extend_schema(responses={200: s.BatchSummarySerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(
            selectors.batches_for_user(user=_me(request)), request, view=self
        )
        return paginator.get_paginated_response(s.BatchSummarySerializer(page, many=True).data)

    @extend_schema(
        request=s.BatchCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: s.BatchSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _parse(s.BatchCreateSerializer, request)
        batch, created = services.batch_create(
            user=_me(request),
            project_ids=data["project_ids"],
            options=data.get("options") or {},
            recipe_patch=data.get("recipe"),
            preset_id=data.get("preset_id"),
            idempotency_key=_idempotency_key(request),
        )
        return _accepted(s.BatchSerializer(batch).data, f"/api/v1/batches/{batch.pk}", created)


class BatchDetailView(APIView):
    @extend_schema(responses={200: s.BatchSerializer})
    def get(self, request: Request, batch_id: UUID) -> Response:
        batch = selectors.batch_get(user=_me(request), batch_id=batch_id)
        return Response(s.BatchSerializer(batch).data)


class BatchCancelView(APIView):
    @extend_schema(request=None, responses={200: s.BatchSerializer})
    def post(self, request: Request, batch_id: UUID) -> Response:
        batch = selectors.batch_get(user=_me(request), batch_id=batch_id)
        return Response(s.BatchSerializer(services.batch_cancel(batch=batch)).data)


class BatchDownloadView(APIView):
    @extend_schema(responses={302: None})
    def get(self, request: Request, batch_id: UUID) -> HttpResponseRedirect:
        batch = selectors.batch_get(user=_me(request), batch_id=batch_id)
        return _no_store_redirect(services.batch_download_url(batch=batch))
