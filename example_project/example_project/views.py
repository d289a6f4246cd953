"""Endpoints that show what a durin token gives a view: the user, and the client it was issued for."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from durin.contrib.spectacular import DurinErrorSerializer
from durin.permissions import AllowSpecificClients

#: The schema of these views, for /api/schema/ (durin documents its own views itself).
INDEX = {200: {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}}
HELLO = {
    200: inline_serializer(
        "DemoHello",
        {"hello": serializers.CharField(), "client": serializers.CharField(allow_null=True)},
    ),
    401: DurinErrorSerializer,
    403: DurinErrorSerializer,
}


class IndexView(APIView):
    """A map of the demo, open to anyone so that a first ``curl /`` tells where to go."""

    permission_classes = [AllowAny]

    @extend_schema(responses=INDEX)
    def get(self, request: Request) -> Response:
        names = {
            "login": "durin_login",
            "refresh": "durin_refresh",
            "logout": "durin_logout",
            "logout_all": "durin_logoutall",
            "logout_others": "durin_logoutothers",
            "reauthenticate": "durin_reauthenticate",
            "sessions": "durin_tokensessions-list",
            "api_access": "durin_apiaccess",
            "hello": "hello",
            "web_only": "web-only",
            "admin": "admin:index",
            "schema": "schema",
            "docs": "docs",
        }
        return Response(
            {key: request.build_absolute_uri(reverse(name)) for key, name in names.items()}
        )


def client_name(request: Request) -> str | None:
    """The durin client of the request's token; None when the user came in through a session."""
    client = getattr(request.auth, "client", None)
    return client.name if client is not None else None


class HelloView(APIView):
    """Any authenticated caller: shows who durin says is calling, and through which client."""

    @extend_schema(responses=HELLO)
    def get(self, request: Request) -> Response:
        return Response({"hello": request.user.get_username(), "client": client_name(request)})


class WebClientOnly(AllowSpecificClients):
    """Only tokens issued for the ``web`` client; other clients' tokens get 403."""

    allowed_clients_name = ("web",)


class WebOnlyView(APIView):
    """Same answer as ``HelloView``, but only for the web client."""

    permission_classes = [WebClientOnly]

    @extend_schema(responses=HELLO)
    def get(self, request: Request) -> Response:
        return Response({"hello": request.user.get_username(), "client": client_name(request)})
