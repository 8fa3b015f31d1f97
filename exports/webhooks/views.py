"""Webhook endpoints API. Thin: parse, authorise by owner (404 otherwise), call a service."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from exports.webhooks import selectors, services
from exports.webhooks import serializers as s
from orlume_site.api.pagination import CreatedCursorPagination


def _owner(request: Request) -> User:
    """The authenticated caller (IsAuthenticated is the default permission)."""
    assert isinstance(request.user, User)
    return request.user


def _parse(serializer_class: type[Any], request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WebhookListView(APIView):
    @extend_schema(responses={200: s.EndpointSerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(
            selectors.endpoints_for_user(user=_owner(request)), request, view=self
        )
        return paginator.get_paginated_response(s.EndpointSerializer(page, many=True).data)

    @extend_schema(
        request=s.EndpointCreateSerializer, responses={201: s.EndpointWithSecretSerializer}
    )
    def post(self, request: Request) -> Response:
        data = _parse(s.EndpointCreateSerializer, request)
        endpoint = services.endpoint_create(user=_owner(request), **data)
        return Response(
            s.EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookDetailView(APIView):
    @extend_schema(responses={200: s.EndpointSerializer})
    def get(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        return Response(s.EndpointSerializer(endpoint).data)

    @extend_schema(request=s.EndpointUpdateSerializer, responses={200: s.EndpointSerializer})
    def patch(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        changes = _parse(s.EndpointUpdateSerializer, request)
        endpoint = services.endpoint_update(endpoint=endpoint, changes=changes)
        return Response(s.EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        services.endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(APIView):
    @extend_schema(request=None, responses={200: s.EndpointWithSecretSerializer})
    def post(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        endpoint = services.endpoint_rotate_secret(endpoint=endpoint)
        return Response(s.EndpointWithSecretSerializer(endpoint).data)


class WebhookTestView(APIView):
    @extend_schema(request=None, responses={202: s.DeliverySerializer})
    def post(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        delivery = services.delivery_ping(endpoint=endpoint)
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListView(APIView):
    @extend_schema(responses={200: s.DeliverySerializer(many=True)})
    def get(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(
            selectors.deliveries_for_endpoint(endpoint=endpoint), request, view=self
        )
        return paginator.get_paginated_response(s.DeliverySerializer(page, many=True).data)


class WebhookDeliveryReplayView(APIView):
    @extend_schema(request=None, responses={202: s.DeliverySerializer})
    def post(self, request: Request, endpoint_id: UUID, delivery_id: UUID) -> Response:
        endpoint = selectors.endpoint_get(user=_owner(request), endpoint_id=endpoint_id)
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        replay = services.delivery_replay(delivery=delivery)
        return Response(s.DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)
