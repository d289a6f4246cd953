"""OpenAPI 3 for durin's authentication and views, through drf-spectacular.

``DurinConfig.ready()`` imports this module only when drf-spectacular is
installed; defining the extension classes is what registers them. Nothing else
in durin imports drf-spectacular, and the views carry no schema decorators: the
view extensions below hand drf-spectacular annotated subclasses of them, which
only schema generation ever sees. Settings are read when a schema is generated,
so ``AUTH_HEADER_PREFIX``, ``USER_SERIALIZER`` and ``EXPIRY_DATETIME_FORMAT``
are documented as configured.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.settings import ISO_8601

from ..auth import TokenAuthentication
from ..serializers import APIAccessTokenSerializer, TokenSessionsSerializer
from ..settings import durin_settings

SCHEME_NAME = "durinTokenAuth"


class DurinTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: <AUTH_HEADER_PREFIX> <token>``, for both durin authentication classes."""

    target_class = "durin.auth.TokenAuthentication"
    match_subclasses = True  # CachedTokenAuthentication, and projects' subclasses
    name = SCHEME_NAME

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        prefix = durin_settings.AUTH_HEADER_PREFIX
        if prefix.lower() == "bearer":
            return {"type": "http", "scheme": "bearer"}
        # OpenAPI's http schemes are IANA's (basic, bearer, ...): "Token" is not one of them.
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"A durin token: `Authorization: {prefix} <token>`.",
        }


class DurinExpiryField(serializers.CharField):
    """An expiry as durin formats it, with ``EXPIRY_DATETIME_FORMAT``."""


class DurinExpiryFieldSchema(OpenApiSerializerFieldExtension):
    """A date-time, unless the project formats expiries some other way."""

    target_class = DurinExpiryField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, str]:
        if durin_settings.EXPIRY_DATETIME_FORMAT in (None, ISO_8601):
            return {"type": "string", "format": "date-time"}
        return {"type": "string"}


class DurinLoginRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    client = serializers.CharField(help_text="The name of a durin Client.")


class DurinLoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The token; this is the only time it is shown.")
    expiry = DurinExpiryField()


class DurinLoginResponseSchema(OpenApiSerializerExtension):
    """Adds ``user`` when the login view has a user serializer (``USER_SERIALIZER``)."""

    target_class = DurinLoginResponseSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = super().map_serializer(auto_schema, direction)
        user_serializer = auto_schema.view.get_user_serializer_class()
        if user_serializer is not None:
            schema["properties"]["user"] = auto_schema.resolve_serializer(
                user_serializer, direction
            ).ref
            schema["required"] = [*schema.get("required", []), "user"]
        return schema


class DurinExpirySerializer(serializers.Serializer):
    expiry = DurinExpiryField()


class DurinErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class DurinLoginErrorSerializer(serializers.Serializer):
    """A refused login: ``detail``, or DRF's field errors for the credentials."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    username = serializers.ListField(child=serializers.CharField(), required=False)
    password = serializers.ListField(child=serializers.CharField(), required=False)


class APIAccessTokenSchema(OpenApiSerializerExtension):
    """``APIAccessTokenSerializer`` leaves ``token`` out except when issuing (see below)."""

    target_class = APIAccessTokenSerializer  # exactly: the subclass below keeps the token

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = super().map_serializer(auto_schema, direction)
        schema["properties"].pop("token", None)
        schema["required"] = [name for name in schema.get("required", []) if name != "token"]
        return schema


class DurinIssuedAPIAccessTokenSerializer(APIAccessTokenSerializer):
    """The answer of ``POST apiaccess/``, the one response that carries the API key."""


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(DurinErrorSerializer, description=description)


UNAUTHENTICATED = _error("No valid durin token; `WWW-Authenticate` says why.")
TOO_LARGE = _error("The body is over 64 KiB.")
THROTTLED = _error("Throttled by one of the project's throttle classes; see `Retry-After`.")


class _DurinViewSchema(OpenApiViewExtension):
    """Documents a durin view (and projects' subclasses of it) through an annotated subclass."""

    match_subclasses = True
    #: extend_schema() arguments for each method or action.
    methods: dict[str, dict[str, Any]] = {}
    bases: tuple[type, ...] = ()

    def view_replacement(self) -> Any:
        target = self.target
        namespace = {"__module__": target.__module__, "__doc__": target.__doc__}
        documented = type(target.__name__, (*self.bases, target), namespace)
        # Every durin view refuses big bodies, and the project's throttle classes apply.
        throttled = {429: THROTTLED} if getattr(target, "throttle_classes", None) else {}
        decorators = {}
        for method, kwargs in self.methods.items():
            if "schema" in getattr(getattr(target, method, None), "kwargs", {}):
                continue  # a project's own extend_schema() on its subclass's method wins
            extra = {413: TOO_LARGE, **throttled} if method == "post" else throttled
            responses = dict(sorted({**extra, **kwargs["responses"]}.items()))
            decorators[method] = extend_schema(**{**kwargs, "responses": responses})
        return extend_schema_view(**decorators)(documented)


class _DurinTokenOnly:
    """Views that need a token take only durin's, so their schema lists only durin's scheme."""

    def get_authenticators(self) -> list[Any]:
        authenticators = super().get_authenticators()  # type: ignore[misc]
        return [a for a in authenticators if isinstance(a, TokenAuthentication)]


class _TokenViewSchema(_DurinViewSchema):
    bases = (_DurinTokenOnly,)


class LoginViewSchema(_DurinViewSchema):
    target_class = "durin.views.LoginView"
    methods = {
        "post": dict(
            request={
                "application/json": DurinLoginRequestSerializer,
                "application/x-www-form-urlencoded": DurinLoginRequestSerializer,
                "multipart/form-data": DurinLoginRequestSerializer,
            },
            responses={
                200: DurinLoginResponseSerializer,
                400: OpenApiResponse(
                    DurinLoginErrorSerializer,
                    description="Bad credentials (one answer for all of them, and the same "
                    "when a client that refuses logins at its session limit is full), or no "
                    "such client.",
                ),
                415: _error("A content type or charset durin does not read."),
                429: _error("Too many failed logins for this address and username."),
            },
        )
    }


class RefreshViewSchema(_TokenViewSchema):
    target_class = "durin.views.RefreshView"
    methods = {
        "post": dict(request=None, responses={200: DurinExpirySerializer, 401: UNAUTHENTICATED})
    }


def _revoking_post(outcome: str) -> dict[str, Any]:
    """A bodyless POST that revokes tokens: 204, or 401 without a valid token."""
    return dict(
        request=None,
        responses={204: OpenApiResponse(description=outcome), 401: UNAUTHENTICATED},
    )


class LogoutViewSchema(_TokenViewSchema):
    target_class = "durin.views.LogoutView"
    methods = {"post": _revoking_post("This token is revoked.")}


class LogoutAllViewSchema(_TokenViewSchema):
    target_class = "durin.views.LogoutAllView"
    methods = {"post": _revoking_post("Every token of the user is revoked.")}


class TokenSessionsViewSchema(_TokenViewSchema):
    target_class = "durin.views.TokenSessionsViewSet"
    methods = {
        "list": dict(responses={200: TokenSessionsSerializer(many=True), 401: UNAUTHENTICATED}),
        "destroy": dict(
            parameters=[
                OpenApiParameter(
                    "id",
                    {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                    OpenApiParameter.PATH,
                    description="The session's id, from the list.",
                )
            ],
            responses={
                204: OpenApiResponse(description="That session's token is revoked."),
                400: _error("That is the session of this request: log out instead."),
                401: UNAUTHENTICATED,
                404: _error("No live session of yours has that id."),
            },
        ),
    }


class APIAccessTokenViewSchema(_TokenViewSchema):
    target_class = "durin.views.APIAccessTokenView"
    _missing = "No API key has been issued to you, or API access is not enabled."
    methods = {
        "get": dict(
            responses={200: APIAccessTokenSerializer, 401: UNAUTHENTICATED, 404: _error(_missing)}
        ),
        "post": dict(
            request=None,
            responses={
                201: DurinIssuedAPIAccessTokenSerializer,
                400: _error("An API key was already issued to you: delete it first."),
                401: UNAUTHENTICATED,
                404: _error("API access is not enabled."),
            },
        ),
        "delete": dict(
            responses={
                204: OpenApiResponse(description="Your API key is revoked."),
                401: UNAUTHENTICATED,
                404: _error(_missing),
            }
        ),
    }
