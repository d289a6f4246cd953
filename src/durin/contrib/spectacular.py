"""OpenAPI 3 for durin's authentication and views, through drf-spectacular.

``DurinConfig.ready()`` imports this module only when drf-spectacular is
installed; defining the extension classes is what registers them. Nothing else
in durin imports drf-spectacular, and the views carry no schema decorators: the
view extensions below hand drf-spectacular annotated subclasses of them, which
only schema generation ever sees. Settings are read when a schema is generated,
so ``AUTH_HEADER_PREFIX``, ``USER_SERIALIZER``, ``EXPIRY_DATETIME_FORMAT`` and
``SCOPES`` are documented as configured.

Every summary and description here is read by API consumers: it says what an
endpoint does and answers, never how to customise durin.
"""

from __future__ import annotations

import inspect
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

from .. import services
from ..api_keys import APIKeySerializer
from ..auth import TokenAuthentication
from ..constants import (
    INTROSPECT_SCOPE,
    KEY_NAME_MAX_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_REVOKE_TOKENS,
    MAX_ROLL_GRACE_SECONDS,
)
from ..serializers import APIAccessTokenSerializer, TokenSessionsSerializer
from ..services import known_scopes
from ..settings import durin_settings

SCHEME_NAME = "durinTokenAuth"


class DurinTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: <AUTH_HEADER_PREFIX> <token>``, for both durin authentication classes."""

    target_class = "durin.auth.TokenAuthentication"
    match_subclasses = True  # CachedTokenAuthentication, and projects' subclasses
    name = SCHEME_NAME

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        prefix = durin_settings.AUTH_HEADER_PREFIX
        scopes = _scopes_description(prefix)
        if prefix.lower() == "bearer":
            bearer = {"type": "http", "scheme": "bearer"}
            return {**bearer, "description": scopes.lstrip()} if scopes else bearer
        # OpenAPI's http schemes are IANA's (basic, bearer, ...): "Token" is not one of them.
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"A token from the login endpoint: `Authorization: {prefix} <token>`."
            + scopes,
        }


def _scopes_description(prefix: str) -> str:
    """The project's scopes, for API consumers; empty when it declares none."""
    declared = durin_settings.SCOPES
    if not isinstance(declared, dict) or not declared:
        return ""
    lines = "\n".join(
        f"- `{name}`: {description}" if description else f"- `{name}`"
        for name, description in sorted(declared.items())
        if name in known_scopes()
    )
    return (
        "\n\nAn API key may be limited to some of these scopes (a token from a login has "
        "them all). A request its key's scopes do not cover answers 403 with "
        f'`WWW-Authenticate: {prefix} error="insufficient_scope", scope="<the scopes needed>"`.'
        f"\n\n{lines}"
    )


class DurinExpiryField(serializers.CharField):
    """A time as durin formats it (``expiry``, ``authenticated_at``): ``EXPIRY_DATETIME_FORMAT``."""


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
    client = serializers.CharField(
        help_text="The name of the client (the app or service) you log in from."
    )


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


class DurinRefreshResponseSerializer(serializers.Serializer):
    """The new expiry; and, for a client that rotates tokens, the new token."""

    token = serializers.CharField(
        required=False,
        help_text="Only for a client that rotates tokens: the token to use from now on, shown "
        "this once. The token you refreshed with keeps working for a few seconds (requests "
        "already sent), then stops; presenting it after that ends the whole session.",
    )
    expiry = DurinExpiryField()


class DurinRevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(
        min_value=0, help_text="How many of your other sessions were ended."
    )


class DurinReauthenticationRequestSerializer(serializers.Serializer):
    password = serializers.CharField(
        style={"input_type": "password"},
        trim_whitespace=False,
        max_length=MAX_PASSWORD_LENGTH,
        help_text="Your password.",
    )


class DurinReauthenticationResponseSerializer(serializers.Serializer):
    authenticated_at = DurinExpiryField(help_text="When you confirmed your password: now.")


class DurinReauthenticationErrorSerializer(serializers.Serializer):
    """Why the password was not accepted: `detail`, or errors about the password given."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    password = serializers.ListField(child=serializers.CharField(), required=False)


class DurinErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class DurinRevokeRequestSerializer(serializers.Serializer):
    """`token`, `tokens`, or both: at most 100 tokens in all."""

    token = serializers.CharField(required=False, allow_blank=True, help_text="A token to revoke.")
    tokens = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        max_length=MAX_REVOKE_TOKENS,
        help_text="Tokens to revoke (in a form, repeat the field).",
    )


class DurinRevokeErrorSerializer(serializers.Serializer):
    """Why the body was refused: `detail`, or errors about `token` or `tokens`."""

    detail = serializers.CharField(required=False)
    token = serializers.ListField(child=serializers.CharField(), required=False)
    tokens = serializers.ListField(child=serializers.CharField(), required=False)


class DurinIntrospectionRequestSerializer(serializers.Serializer):
    token = serializers.CharField(allow_blank=True, help_text="The token to ask about.")


class DurinIntrospectionSerializer(serializers.Serializer):
    """Whether the token is active; for an active token, what it is (RFC 7662)."""

    active = serializers.BooleanField(help_text="Whether the token would be accepted now.")
    scope = serializers.CharField(
        required=False,
        help_text="The token's scopes, separated by spaces; absent when the token is not "
        "restricted to scopes.",
    )
    client_id = serializers.CharField(required=False, help_text="The name of the token's client.")
    username = serializers.CharField(required=False, help_text="The username of its user.")
    sub = serializers.CharField(required=False, help_text="The id of its user, as a string.")
    token_type = serializers.CharField(
        required=False, help_text="The word that comes before the token in `Authorization`."
    )
    exp = serializers.IntegerField(required=False, help_text="When it expires (Unix seconds).")
    iat = serializers.IntegerField(required=False, help_text="When it was issued (Unix seconds).")


class DurinIntrospectionErrorSerializer(serializers.Serializer):
    """Why the body was refused: `detail`, or an error about `token`."""

    detail = serializers.CharField(required=False)
    token = serializers.ListField(child=serializers.CharField(), required=False)


class DurinLoginErrorSerializer(serializers.Serializer):
    """Why a login was refused: `detail`, or errors about the credentials given."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    username = serializers.ListField(child=serializers.CharField(), required=False)
    password = serializers.ListField(child=serializers.CharField(), required=False)


def _without_token(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A key's schema as every response but the issuing one shows it: no ``token``."""
    schema["description"] = description
    schema["properties"].pop("token", None)
    schema["required"] = [name for name in schema.get("required", []) if name != "token"]
    return schema


class APIAccessTokenSchema(OpenApiSerializerExtension):
    """``APIAccessTokenSerializer`` leaves ``token`` out except when issuing (see below)."""

    target_class = APIAccessTokenSerializer  # exactly: the subclass below keeps the token

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _without_token(
            super().map_serializer(auto_schema, direction),
            "Your API key, without the key itself (shown only when issued).",
        )


class DurinIssuedAPIAccessTokenSerializer(APIAccessTokenSerializer):
    """The API key just issued, with the key itself: the only response that shows it."""


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(DurinErrorSerializer, description=description)


UNAUTHENTICATED = _error("No valid token; `WWW-Authenticate` says why.")
UNREADABLE = _error("A content type or charset the API does not read.")
SCOPED = _error("A token limited to some scopes cannot manage sessions: use a login's token.")


def _bodies(serializer: type) -> dict[str, type]:
    """The same body as JSON or as a form."""
    return {
        media_type: serializer
        for media_type in (
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    }


TOO_LARGE = _error("The body is over 64 KiB.")
THROTTLED = _error("Too many requests; `Retry-After` says how many seconds to wait.")


class _DurinViewSchema(OpenApiViewExtension):
    """Documents a durin view (and projects' subclasses of it) through an annotated subclass."""

    match_subclasses = True
    #: extend_schema() arguments for each method or action, each with its own summary and
    #: description: the views' docstrings are not shown for durin's own operations.
    methods: dict[str, dict[str, Any]] = {}
    bases: tuple[type, ...] = ()

    def view_replacement(self) -> Any:
        target = self.target
        # The view's docstring, or the one it inherits (a mixin's below is not for consumers).
        namespace = {"__module__": target.__module__, "__doc__": inspect.getdoc(target)}
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
            summary="Log in",
            description="Exchanges a username, a password and the name of the client you "
            "log in from for a token, which authenticates your later requests in the "
            "`Authorization` header. The token is in this response only. Depending on the "
            "client, a new login may end your oldest session on it, or be refused while you "
            "are logged in on as many devices as it allows. Repeated failed logins for one "
            "username from one address are refused for a while (429).",
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
                    "when a client that refuses logins at its session limit is full), no "
                    "such client, or a client that cannot issue tokens (a lifetime under one "
                    "second).",
                ),
                415: _error("A content type or charset the API does not read."),
                429: _error("Too many failed logins for this address and username."),
            },
        )
    }


UNUSABLE_CLIENT = "The token's client cannot issue tokens (a lifetime under one second)."


class RefreshViewSchema(_TokenViewSchema):
    target_class = "durin.views.RefreshView"
    methods = {
        "post": dict(
            summary="Extend this token's life",
            description="Moves the expiry of the token that authenticates this request to now "
            "plus its client's token lifetime (never past the longest life the client allows "
            "a token), and answers the new expiry. A client that rotates tokens answers a new "
            "token as well, for the same session: use it from now on. The token you sent "
            "keeps working for a few seconds, for requests already on their way; sent again "
            "after that, it is taken for a stolen copy and the whole session ends (401).",
            request=None,
            responses={
                200: DurinRefreshResponseSerializer,
                400: _error(UNUSABLE_CLIENT),
                401: UNAUTHENTICATED,
            },
        )
    }


def _revoking_post(
    summary: str, description: str, outcome: str, refusals: dict[int, Any] | None = None
) -> dict[str, Any]:
    """A bodyless POST that revokes tokens: 204, or 401 without a valid token."""
    return dict(
        summary=summary,
        description=description,
        request=None,
        responses={
            204: OpenApiResponse(description=outcome),
            401: UNAUTHENTICATED,
            **(refusals or {}),
        },
    )


class LogoutViewSchema(_TokenViewSchema):
    target_class = "durin.views.LogoutView"
    methods = {
        "post": _revoking_post(
            "Log out",
            "Revokes the token that authenticates this request: it stops working at once.",
            "This token is revoked.",
        )
    }


class LogoutAllViewSchema(_TokenViewSchema):
    target_class = "durin.views.LogoutAllView"
    methods = {
        "post": _revoking_post(
            "Log out everywhere",
            "Revokes every token of your account, on every client and device, this one and "
            "your API key included: each stops working at once. A token limited to some "
            "scopes gets 403.",
            "Every token of the user is revoked.",
            {403: SCOPED},
        )
    }


class LogoutOthersViewSchema(_TokenViewSchema):
    target_class = "durin.views.LogoutOthersView"
    methods = {
        "post": dict(
            summary="Log out your other devices",
            description="Revokes every other token of your account, on every client and "
            "device, and answers how many. The token of this request keeps working, and so "
            "does your API key. A token limited to some scopes gets 403.",
            request=None,
            responses={200: DurinRevokedCountSerializer, 401: UNAUTHENTICATED, 403: SCOPED},
        )
    }


class ReauthenticateViewSchema(_TokenViewSchema):
    target_class = "durin.views.ReauthenticateView"
    _body = {
        media_type: DurinReauthenticationRequestSerializer
        for media_type in (
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    }
    methods = {
        "post": dict(
            summary="Confirm your password",
            description="Checks your password again for the session of this request. Some "
            "actions require that you confirmed it recently: they answer 401 with "
            '`error="insufficient_user_authentication"` and a `max_age` (in seconds) in '
            "`WWW-Authenticate` until you do; then retry them. Answers when the password was "
            "confirmed. Repeated wrong passwords are refused for a while (429), as failed "
            "logins are.",
            request=_body,
            responses={
                200: DurinReauthenticationResponseSerializer,
                400: OpenApiResponse(
                    DurinReauthenticationErrorSerializer,
                    description="A wrong password (the same answer as a failed login), or "
                    "no password given.",
                ),
                401: UNAUTHENTICATED,
                403: _error(
                    "An API key has no password to confirm: log in to get a session token."
                ),
                415: _error("A content type or charset the API does not read."),
                429: _error("Too many wrong passwords for this address and account."),
            },
        )
    }


class TokenSessionsViewSchema(_TokenViewSchema):
    target_class = "durin.views.TokenSessionsViewSet"
    methods = {
        "list": dict(
            summary="List your sessions",
            description="Your live sessions, newest first: one per unexpired token issued to "
            "you, with its client, when it was created, last used and expires, and the "
            "address and user agent it logged in from. `is_current` marks the session of "
            "this request. Tokens themselves are never shown. A token limited to some scopes "
            "gets 403.",
            responses={
                200: TokenSessionsSerializer(many=True),
                401: UNAUTHENTICATED,
                403: SCOPED,
            },
        ),
        "destroy": dict(
            summary="End one of your sessions",
            description="Revokes the token of another of your sessions (an `id` from the "
            "list), which stops working at once. To end the session of this request, log "
            "out instead. An id that is not one of your live sessions answers 404.",
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
                403: SCOPED,
                404: _error("No live session of yours has that id."),
            },
        ),
    }


class APIAccessTokenViewSchema(_TokenViewSchema):
    target_class = "durin.views.APIAccessTokenView"
    _missing = "No API key has been issued to you, or API access is not enabled."
    methods = {
        "get": dict(
            summary="Show your API key",
            description="Your long-lived API key's client, creation date and expiry, without "
            "the key itself: it is shown only in the response that issued it.",
            responses={200: APIAccessTokenSerializer, 401: UNAUTHENTICATED, 404: _error(_missing)},
        ),
        "post": dict(
            summary="Issue your API key",
            description="Issues a long-lived API key, for programs that call the API for you. "
            "The key is in this response only: store it now. You hold one key at a time; "
            "revoke it to issue another.",
            request=None,
            responses={
                201: DurinIssuedAPIAccessTokenSerializer,
                400: _error(
                    "An API key was already issued to you: delete it first; or the API-key "
                    "client cannot issue tokens (a lifetime under one second)."
                ),
                401: UNAUTHENTICATED,
                404: _error("API access is not enabled."),
            },
        ),
        "delete": dict(
            summary="Revoke your API key",
            description="Revokes your API key: programs using it are refused from then on.",
            responses={
                204: OpenApiResponse(description="Your API key is revoked."),
                401: UNAUTHENTICATED,
                404: _error(_missing),
            },
        ),
    }


class RevokeViewSchema(_DurinViewSchema):
    target_class = "durin.possession.RevokeView"
    methods = {
        "post": dict(
            summary="Revoke tokens you hold",
            description="Revokes the tokens sent, with no other credential: whoever holds a "
            "token (one found leaked in a repository or a log, say) may end it, and it stops "
            "working at once. Send `token`, or a list `tokens` of at most 100. The answer is "
            "always the same empty object, whether the tokens were valid, unknown, expired or "
            "malformed, so it tells nothing about them. A token a rotation replaced ends the "
            "session it belonged to. Requests are limited per client address (429).",
            request=_bodies(DurinRevokeRequestSerializer),
            responses={
                200: OpenApiResponse(
                    {"type": "object", "properties": {}, "additionalProperties": False},
                    description="Done: every live token among those sent is revoked.",
                ),
                400: OpenApiResponse(
                    DurinRevokeErrorSerializer,
                    description="No token sent, a token that is not a string, or more than "
                    "100; nothing was revoked.",
                ),
                415: UNREADABLE,
                429: _error(
                    "Too many requests from this address; `Retry-After` says how many seconds "
                    "to wait."
                ),
            },
        )
    }


class IntrospectViewSchema(_TokenViewSchema):
    target_class = "durin.possession.IntrospectView"
    methods = {
        "post": dict(
            summary="Ask about a token",
            description="For services that accept this API's tokens: tells whether a token is "
            "active and, if it is, whose it is, for which client, with which scopes, and "
            "until when (RFC 7662). Any other token (unknown, expired, revoked, malformed, "
            'its user deactivated) answers exactly `{"active": false}`. A revocation shows '
            "in the very next answer. Asking counts as a use of the token. Needs a key whose "
            f"scopes name `{INTROSPECT_SCOPE}`; a token without that scope gets 403.",
            request=_bodies(DurinIntrospectionRequestSerializer),
            responses={
                200: DurinIntrospectionSerializer,
                400: OpenApiResponse(
                    DurinIntrospectionErrorSerializer,
                    description="No `token` sent, or one that is not a string.",
                ),
                401: UNAUTHENTICATED,
                403: _error(
                    f"This token's scopes do not name `{INTROSPECT_SCOPE}`; "
                    "`WWW-Authenticate` names the scope needed."
                ),
                415: UNREADABLE,
            },
        )
    }


class DurinAPIKeySchema(OpenApiSerializerExtension):
    """``APIKeySerializer`` leaves ``token`` out except when issuing (see below)."""

    target_class = APIKeySerializer  # exactly: the subclass below keeps the token

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _without_token(
            super().map_serializer(auto_schema, direction),
            "One of your API keys, without the key itself.",
        )


class DurinIssuedAPIKeySerializer(APIKeySerializer):
    """The API key just issued, with the key itself: the only response that shows it."""


class DurinAPIKeyRequestSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=KEY_NAME_MAX_LENGTH,
        help_text="A name that tells you what the key is for (any printable text).",
    )
    scopes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text="What the key may do, each scope once. Leave it out (or null) for a key "
        "that may do everything your account may.",
    )
    expires_in = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="How many seconds the key lives: at most, and by default, the longest "
        "life an API key may have.",
    )


class DurinAPIKeyRequestSchema(OpenApiSerializerExtension):
    """Lists the scope names the project declares, as configured when the schema is made."""

    target_class = DurinAPIKeyRequestSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = super().map_serializer(auto_schema, direction)
        schema["properties"]["scopes"]["items"]["enum"] = sorted(services.known_scopes())
        return schema


class DurinAPIKeyRollRequestSerializer(serializers.Serializer):
    grace = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=MAX_ROLL_GRACE_SECONDS,
        help_text="How many seconds the old key keeps working (at most 7 days; it never "
        "outlives its own expiry). 0, the default: it stops at once.",
    )


class DurinAPIKeyErrorSerializer(serializers.Serializer):
    """Why the key was not created: `detail`, or errors about the fields given."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    name = serializers.ListField(child=serializers.CharField(), required=False)
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    expires_in = serializers.ListField(child=serializers.CharField(), required=False)


class DurinAPIKeyRollErrorSerializer(serializers.Serializer):
    """Why the key was not rolled: `detail`, or an error about the grace given."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    grace = serializers.ListField(child=serializers.CharField(), required=False)


def _in_every_media_type(serializer: Any) -> dict[str, Any]:
    media_types = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
    return {media_type: serializer for media_type in media_types}


KEY_ID = OpenApiParameter(
    "id",
    {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    OpenApiParameter.PATH,
    description="The key's id, from the list.",
)
KEYS_REFUSED = _error("An API key cannot manage API keys: use the token of a login.")
KEYS_MISSING = _error("API keys are not enabled.")
NO_SUCH_KEY = _error("No live API key of yours has that id, or API keys are not enabled.")
KEY_LIMIT = _error(
    "An API key cannot manage API keys; or you hold as many API keys as allowed: delete one first."
)
RECENT_PASSWORD = _error(
    "No valid token; or you have not confirmed your password recently: "
    '`WWW-Authenticate` then carries `error="insufficient_user_authentication"` and a '
    "`max_age`; confirm it at the reauthenticate endpoint and retry."
)
BAD_MEDIA = _error("A content type or charset the API does not read.")


class KeysViewSchema(_TokenViewSchema):
    target_class = "durin.api_keys.KeysView"
    methods = {
        "get": dict(
            summary="List your API keys",
            description="Your live API keys, newest first: each one's name, scopes, when it "
            "was created, last used and expires, and a hint (the key's last characters) to "
            "tell it apart. The keys themselves are never shown again.",
            responses={
                200: APIKeySerializer(many=True),
                401: UNAUTHENTICATED,
                403: KEYS_REFUSED,
                404: KEYS_MISSING,
            },
        ),
        "post": dict(
            summary="Create an API key",
            description="Creates a named API key, for a program that calls the API for you, "
            "optionally limited to some scopes and to a shorter life. The key is in this "
            "response only: store it now. Needs a session token (not an API key) whose "
            "password you confirmed in the last few minutes. You may hold a limited number "
            "of keys.",
            request=_in_every_media_type(DurinAPIKeyRequestSerializer),
            responses={
                201: DurinIssuedAPIKeySerializer,
                400: OpenApiResponse(
                    DurinAPIKeyErrorSerializer,
                    description="A bad name, scopes or lifetime; or API keys cannot be "
                    "issued (a lifetime under one second).",
                ),
                401: RECENT_PASSWORD,
                403: KEY_LIMIT,
                404: KEYS_MISSING,
                415: BAD_MEDIA,
            },
        ),
    }


class KeyViewSchema(_TokenViewSchema):
    target_class = "durin.api_keys.KeyView"
    methods = {
        "delete": dict(
            summary="Revoke an API key",
            description="Revokes one of your API keys (an `id` from the list): programs "
            "using it are refused from then on.",
            parameters=[KEY_ID],
            responses={
                204: OpenApiResponse(description="That key is revoked."),
                401: UNAUTHENTICATED,
                403: KEYS_REFUSED,
                404: NO_SUCH_KEY,
            },
        )
    }


class RollKeyViewSchema(_TokenViewSchema):
    target_class = "durin.api_keys.RollKeyView"
    methods = {
        "post": dict(
            summary="Roll an API key",
            description="Replaces one of your API keys with a new key of the same name, "
            "scopes and lifetime, in this response only. The old key keeps working for the "
            "`grace` you ask for (none by default), so that you can move your programs to "
            "the new one, then stops. Works even when you hold as many keys as allowed. "
            "Needs a session token whose password you confirmed in the last few minutes.",
            parameters=[KEY_ID],
            request=_in_every_media_type(DurinAPIKeyRollRequestSerializer),
            responses={
                201: DurinIssuedAPIKeySerializer,
                400: OpenApiResponse(
                    DurinAPIKeyRollErrorSerializer,
                    description="A bad grace; a key that was already rolled (roll the one "
                    "that replaced it); or a key whose scopes no longer exist.",
                ),
                401: RECENT_PASSWORD,
                403: KEY_LIMIT,
                404: NO_SUCH_KEY,
                415: BAD_MEDIA,
            },
        )
    }
