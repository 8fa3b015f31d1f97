"""Auth endpoints. Thin: parse, call a service, shape the answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers as s
from accounts import services, tokens
from orlume_site.api.throttling import AddressRateThrottle


def _parse(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.RegisterSerializer, responses={201: s.AuthResultSerializer})
    def post(self, request: Request) -> Response:
        data = _parse(s.RegisterSerializer, request)
        user, pair = services.user_register(**data)
        return Response(s.auth_result(user, pair), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.LoginSerializer, responses={200: s.AuthResultSerializer})
    def post(self, request: Request) -> Response:
        data = _parse(s.LoginSerializer, request)
        address = AddressRateThrottle().get_ident(request)
        user, pair = services.user_login(
            email=data["email"], password=data["password"], address=address
        )
        return Response(s.auth_result(user, pair))


class RefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.RefreshSerializer, responses={200: s.TokenPairSerializer})
    def post(self, request: Request) -> Response:
        data = _parse(s.RefreshSerializer, request)
        pair = tokens.tokens_refresh(raw_refresh=data["refresh"])
        return Response(s.TokenPairSerializer(pair).data)


class LogoutView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.RefreshSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = _parse(s.RefreshSerializer, request)
        tokens.tokens_revoke(raw_refresh=data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(s.UserSerializer(request.user).data)

    @extend_schema(request=s.ProfileUpdateSerializer, responses={200: s.UserSerializer})
    def patch(self, request: Request) -> Response:
        data = _parse(s.ProfileUpdateSerializer, request)
        user = services.user_update_profile(user=request.user, **data)  # type: ignore[arg-type]
        return Response(s.UserSerializer(user).data)
