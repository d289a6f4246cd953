"""Endpoints that show what a durin token gives a view: the user, the client it was issued
for, and the scopes an API key may be limited to."""

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from durin.contrib.spectacular import DurinErrorSerializer
from durin.permissions import AllowSpecificClients, TokenHasScope
from durin.settings import durin_settings

from . import page

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


SCOPES = {
    200: inline_serializer(
        "DemoScope",
        {"name": serializers.CharField(), "description": serializers.CharField()},
        many=True,
    )
}
PROFILE = {
    200: inline_serializer(
        "DemoProfile",
        {
            "username": serializers.CharField(),
            "client": serializers.CharField(allow_null=True),
            "scopes": serializers.ListField(child=serializers.CharField(), allow_null=True),
        },
    ),
    401: DurinErrorSerializer,
    403: DurinErrorSerializer,
}
CLOCK = {
    200: inline_serializer("DemoClock", {"now": serializers.DateTimeField()}),
    401: DurinErrorSerializer,
    403: DurinErrorSerializer,
}


class IndexView(APIView):
    """A map of the demo, open to anyone so that a first ``curl /`` tells where to go.

    A browser (HTML preferred to JSON in its Accept header) gets the demo's web page here
    instead; ``page`` in this map is that page whatever the Accept header."""

    permission_classes = [AllowAny]

    def finalize_response(self, request, response, *args, **kwargs):
        return page.vary_on_accept(super().finalize_response(request, response, *args, **kwargs))

    @extend_schema(responses=INDEX)
    def get(self, request: Request) -> Response | HttpResponse:
        if page.prefers_html(request):
            return page.page(request)
        names = {
            "page": "page",
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
            "scopes": "scopes",
            "profile": "profile",
            "clock": "clock",
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


class ScopesView(APIView):
    """The scopes an API key may be limited to, with what each allows: public configuration,
    read by the web page to offer them."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses=SCOPES)
    def get(self, request: Request) -> Response:
        scopes = durin_settings.SCOPES
        return Response([{"name": name, "description": text} for name, text in scopes.items()])


class ProfileView(APIView):
    """Who is calling, through which client, with which scopes. A key needs ``profile:read``."""

    permission_classes = [TokenHasScope]
    required_scopes = ["profile:read"]

    @extend_schema(responses=PROFILE)
    def get(self, request: Request) -> Response:
        scopes = getattr(request.auth, "scopes", None)
        return Response(
            {
                "username": request.user.get_username(),
                "client": client_name(request),
                "scopes": scopes,
            }
        )


class ClockView(APIView):
    """The server's time. A key needs ``clock:read``: a second scope, so that a key holding
    one can be seen refused by the view of the other."""

    permission_classes = [TokenHasScope]
    required_scopes = ["clock:read"]

    @extend_schema(responses=CLOCK)
    def get(self, request: Request) -> Response:
        return Response({"now": timezone.now()})
