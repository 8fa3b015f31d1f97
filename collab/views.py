"""REST side of collaboration: WebSocket tickets and the ops log."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collab import services, tickets
from collab.conf import limit
from orlume_site.api.errors import APIError
from projects.selectors import project_for_user


class TicketRequestSerializer(serializers.Serializer[dict[str, object]]):
    project = serializers.UUIDField()


class SyncTicketView(APIView):
    """A single-use ticket to open `WS /api/v1/sync/<project>` (viewers and up)."""

    @extend_schema(
        request=TicketRequestSerializer,
        responses={
            201: inline_serializer(
                "SyncTicket",
                {
                    "ticket": serializers.CharField(),
                    "expires_in": serializers.IntegerField(),
                    "url": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        body = TicketRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = project_for_user(request.user, body.validated_data["project"], "view")
        ticket = tickets.issue(request.user.pk, project.pk)
        return Response(
            {
                "ticket": ticket,
                "expires_in": limit("TICKET_TTL_SECONDS"),
                "url": f"/api/v1/sync/{project.pk}?ticket={ticket}",
            },
            status=status.HTTP_201_CREATED,
        )


class OpsLogView(APIView):
    """The room's ops after `since`, in sequence order (the same log the WebSocket serves)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("since", int, description="Last sequence seen (0: from the start)."),
            OpenApiParameter("limit", int, description="At most this many ops (1..1000)."),
        ],
        responses={
            200: inline_serializer(
                "OpsLog",
                {
                    "ops": serializers.ListField(child=serializers.DictField()),
                    "seq": serializers.IntegerField(),
                    "version": serializers.IntegerField(),
                    "next_since": serializers.IntegerField(allow_null=True),
                },
            )
        },
    )
    def get(self, request: Request, project_id: uuid.UUID) -> Response:
        since = _int_param(request, "since", 0, 0, 2**62)
        count = _int_param(request, "limit", 500, 1, 1000)
        return Response(services.log_since(request.user, project_id, since, count))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise APIError("invalid", f"{name} must be an integer.", field=name) from None
    if not low <= value <= high:
        raise APIError("out_of_range", f"{name} must be in {low}..{high}.", field=name)
    return value
