"""durin's views: parse the request, call a service, serialize the answer.

A view's class docstring is read by API consumers (drf-spectacular falls back on it):
it says what the endpoint does; notes for developers go in comments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import connections, router, transaction
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import DateTimeField
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from . import reporting, services
from .auth import TokenAuthentication
from .constants import MAX_PASSWORD_LENGTH, MAX_REQUEST_BODY
from .login_throttle import LoginThrottle
from .models import AuthToken, Client
from .permissions import IsTokenAuthenticated, is_api_key
from .serializers import APIAccessTokenSerializer, TokenSessionsSerializer
from .settings import durin_settings
from .text import storable


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("Request body too large.")
    default_code = "payload_too_large"


class SessionLimitReached(exceptions.PermissionDenied):
    """Kept for projects that raise it; a login at the limit answers ``CREDENTIALS_OR_LIMIT``."""

    default_detail = _(
        "You are logged in on as many devices as this client allows; log out of one first."
    )
    default_code = "session_limit_reached"


#: The largest id a ``BigAutoField`` holds on every supported database.
MAX_BIGINT = 2**63 - 1

BAD_CREDENTIALS = _("Unable to log in with provided credentials.")  # DRF's own wording

#: The only refusal of a client that refuses logins at its session limit: the same
#: for a wrong password and for a right one at the limit, so that it says nothing
#: about the password, while its user (who knows the password) learns what to do.
CREDENTIALS_OR_LIMIT = _(
    "Unable to log in with provided credentials, or you are logged in on as many "
    "devices as this client allows: log out of one first."
)

#: A token limited to some scopes may not issue a key, which could do more than it can.
RESTRICTED_CANNOT_MINT = _(
    "This token is limited to some scopes: it cannot issue API keys. Use the token of a login."
)

#: On the responses that carry a token's plaintext (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _is_text_encoding(charset: str) -> bool:
    """``bz2_codec``, ``rot13`` and friends are codecs, not text encodings."""
    try:
        "".encode(charset)
    except (LookupError, ValueError):
        return False
    return True


class DurinView(APIView):
    """Refuses oversized bodies before DRF parses them (DRF does not cap JSON bodies), and
    answers a client that cannot issue tokens (``token_ttl`` of zero) with a 400."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.UnusableClient):
            exc = ValidationError({"detail": str(exc)}, code="unusable_client")
        return super().handle_exception(exc)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_REQUEST_BODY:
            raise PayloadTooLarge()
        super().initial(request, *args, **kwargs)

    @staticmethod
    def format_expiry_datetime(expiry: datetime) -> str:
        """Format an expiry with ``EXPIRY_DATETIME_FORMAT``; override to change it."""
        return DateTimeField(format=durin_settings.EXPIRY_DATETIME_FORMAT).to_representation(expiry)


class TokenRequiredView(DurinView):
    """Answers 401 unless the request was authenticated with a durin token.

    Authentication and permission classes come from the project's defaults, as in
    1.x; a durin token is required before any of those permissions is asked.
    """

    def get_permissions(self) -> list[Any]:
        classes = self.permission_classes
        if classes is APIView.permission_classes:  # not overridden: the current defaults
            classes = api_settings.DEFAULT_PERMISSION_CLASSES
        return [IsTokenAuthenticated(), *(permission() for permission in classes)]

    def permission_denied(self, request: Request, message: Any = None, code: Any = None) -> None:
        if not isinstance(request.auth, AuthToken):
            raise exceptions.NotAuthenticated()
        super().permission_denied(request, message=message, code=code)

    def get_authenticate_header(self, request: Request) -> str:
        """durin's challenge when a durin token was refused, or when no class offers one."""
        durin = TokenAuthentication().authenticate_header(request)
        if getattr(request, "_durin_refusal", None) is not None:
            return durin
        return super().get_authenticate_header(request) or durin


class IsUnrestricted(BasePermission):
    """Seeing where a user logs in, and logging them out, is for a token that may do
    anything: one limited to some scopes (a key for one job) has no business there."""

    message = _("A token limited to some scopes cannot manage sessions.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.auth.scopes is None


class ManagesSessions:
    """For the views that list or end a user's sessions: a scoped token gets 403."""

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), IsUnrestricted()]  # type: ignore[misc]


def _refusal(client: Client) -> ValidationError:
    """The answer to a login that checked a password and issued nothing."""
    message = CREDENTIALS_OR_LIMIT if services.refuses_at_limit(client) else BAD_CREDENTIALS
    return ValidationError({"non_field_errors": [message]}, code="authorization")


def _is_bad_credentials(exc: ValidationError) -> bool:
    return exc.get_codes() == {"non_field_errors": ["authorization"]}


class OwnTransactions:
    """A view never run inside ``ATOMIC_REQUESTS``: its writes run in transactions of their
    own, so a refusal cannot roll back what must stay (a failed login's count), and no read
    made earlier in the request decides with a stale snapshot."""

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        for alias in connections:
            view = transaction.non_atomic_requests(using=alias)(view)
        return view


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(OwnTransactions, DurinView):
    """Exchanges a username, a password and a client's name (JSON or form) for a token."""

    # Hooks kept from 1.x for projects to customise: get_client_obj, get_token_obj,
    # get_user_serializer_class, get_context, get_post_response_data, format_expiry_datetime.
    #
    # Whether the password was right shows only in a token being issued: the client
    # is checked first, and a refused client is answered without the password being
    # checked; every other refusal after the check answers like a wrong password and
    # counts as a failure. Issuing and building the response form one transaction,
    # so a response that cannot be built leaves no token and revokes no session.

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @staticmethod
    def read_body(request: Request) -> Any:
        """``request.data``, refusing what DRF would choke on or inflate.

        A ``charset`` naming a codec that is not a text encoding (``bz2_codec``
        would inflate a small body past any cap) is a 415; absurdly nested JSON
        (a ``RecursionError`` in the parser) is a 400.
        """
        charset = request.content_params.get("charset")
        if charset and not _is_text_encoding(charset):
            raise exceptions.UnsupportedMediaType(request.content_type)
        try:
            return request.data
        except RecursionError:
            raise exceptions.ParseError(_("JSON nested too deeply.")) from None

    def get_context(self) -> dict[str, Any]:
        """The context given to the user serializer."""
        return {"request": self.request, "format": self.format_kwarg, "view": self}

    @staticmethod
    def validate_and_return_user(request: Request) -> Any:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        # An inactive user (AllowAllUsersModelBackend lets one through) gets the same
        # answer as a bad password.
        if not user.is_active:
            raise ValidationError(
                {"non_field_errors": [BAD_CREDENTIALS]},
                code="authorization",
            )
        return user

    def get_client_obj(self, request: Request) -> Client:
        """The ``Client`` named in the request; raises ``ValidationError`` otherwise."""
        data = request.data
        name = data.get("client") if hasattr(data, "get") else None
        if not name:
            raise ValidationError({"detail": _("No client specified.")})
        if not isinstance(name, str):
            raise ValidationError({"detail": _("The client must be given by its name, a string.")})
        if name == durin_settings.API_ACCESS_CLIENT_NAME:
            # A password login must not revoke (or stand in for) the user's API key.
            raise ValidationError({"detail": _("API keys are issued by the API access endpoint.")})
        try:
            if not storable(name):  # no such name can exist; the database would choke on it
                raise Client.DoesNotExist
            return Client.named(name)
        except Client.DoesNotExist:
            raise ValidationError({"detail": _("No client with that name.")}) from None

    def get_token_obj(self, request: Request, client: Client) -> AuthToken:
        """Issue a new token for ``request.user`` (a second login never returns an earlier one)."""
        try:
            return services.issue_token(request.user, client, request=request, verify_user=True)
        except (services.SessionLimitReached, services.CredentialsChanged):
            # At a refusing client's limit, or a password change raced this login:
            # answered like a wrong password, which says nothing about this one.
            raise _refusal(client) from None

    def renew_token(self, request: Request, token: AuthToken) -> datetime:
        """Kept from 1.x; login always issues a new token, so nothing calls it here."""
        return token.renew_token(request=request)

    def get_user_serializer_class(self) -> Any:
        return durin_settings.USER_SERIALIZER

    def get_post_response_data(self, request: Request, token_obj: AuthToken) -> dict[str, Any]:
        """The login response; ``token_obj.token`` is the plaintext, available only now."""
        data = {
            "expiry": self.format_expiry_datetime(token_obj.expiry),
            "token": token_obj.token,
        }
        user_serializer = self.get_user_serializer_class()
        if user_serializer is not None:
            data["user"] = user_serializer(request.user, context=self.get_context()).data
        return data

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.read_body(request)
        readable = hasattr(data, "get")
        reporting.hide(request, data.get("password") if readable else None)
        # A refused client is answered before the throttle reserves an attempt: the password
        # is not checked, so the answer cannot depend on it and nothing is counted.
        client = self.get_client_obj(request)
        services.token_lifetime(client)  # a client that cannot issue is refused the same way
        throttle = LoginThrottle(request, data.get("username") if readable else None)
        wait = throttle.wait()
        if wait is not None:
            raise exceptions.Throttled(wait=wait)
        try:
            request.user = self.validate_and_return_user(request)
            body = services.atomic_retrying(
                lambda: self.log_in(request, client), router.db_for_write(AuthToken)
            )
        except ValidationError as exc:
            throttle.failed()
            if _is_bad_credentials(exc):
                raise _refusal(client) from None
            raise
        except Exception:  # the password was checked and no token stays issued
            throttle.failed()
            raise
        return Response(body, headers=NO_STORE)

    def log_in(self, request: Request, client: Client) -> dict[str, Any]:
        """Issue the token and build the response; runs in the login's transaction."""
        token_obj = self.get_token_obj(request, client)
        body = self.get_post_response_data(request, token_obj)
        user_logged_in.send(sender=request.user.__class__, request=request, user=request.user)
        return body


def _revoked_meanwhile(request: Request) -> exceptions.AuthenticationFailed:
    """The answer to a token revoked while its request ran: refused, and the challenge says
    so (RFC 6750's ``invalid_token``)."""
    request._durin_refusal = _("Invalid token.")  # type: ignore[attr-defined]
    return exceptions.AuthenticationFailed(_("Invalid token."), code="token_invalid")


class RefreshView(OwnTransactions, TokenRequiredView):
    """Extends the life of the token that authenticates the request and answers its new
    expiry. For a client that rotates tokens, answers a new token for the same session
    instead: the one presented keeps working for a short grace period, and presenting it
    after that revokes the session."""

    # The new expiry is now + the client's token_ttl, capped by its max_token_lifetime. Not
    # inside ATOMIC_REQUESTS: a rotation is its own transaction, retried if not serializable.

    def renew_token(self, request: Request, token: AuthToken) -> datetime:
        return token.renew_token(request=request)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = request.auth
        try:
            if token.client.rotate_on_refresh:
                return self.rotate(request, token)
            new_expiry = self.renew_token(request=request, token=token)
        except AuthToken.DoesNotExist:  # revoked by a concurrent request
            raise _revoked_meanwhile(request) from None
        return Response({"expiry": self.format_expiry_datetime(new_expiry)})

    def rotate(self, request: Request, token: AuthToken) -> Response:
        """A new token for the session; shown this once."""
        services.rotate_token(token, request=request)
        body = {"token": token.token, "expiry": self.format_expiry_datetime(token.expiry)}
        return Response(body, headers=NO_STORE)


class LogoutView(TokenRequiredView):
    """Revokes the token that authenticates the request."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.revoke_token(request.auth, "logout", request=request)
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(ManagesSessions, TokenRequiredView):
    """Revokes every token of the user who makes the request, on every client."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.revoke_tokens(
            AuthToken.objects.filter(user=request.user), "logout_all", request=request
        )
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutOthersView(ManagesSessions, OwnTransactions, TokenRequiredView):
    """Ends every other session of yours (your API keys excepted); this one goes on.
    Answers how many sessions it ended."""

    # Not inside ATOMIC_REQUESTS: the revocation is its own transaction, retried when a
    # session it ends is written meanwhile (PostgreSQL's REPEATABLE READ refuses it then).

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        revoked = services.logout_others(request.auth, request=request)
        return Response({"revoked": revoked})


class PasswordField(serializers.CharField):
    """A string, as sent: no number or list turned into one, no whitespace trimmed."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ReauthenticationSerializer(serializers.Serializer):
    """The password of the user whose token makes the request."""

    password = PasswordField(
        trim_whitespace=False, max_length=MAX_PASSWORD_LENGTH, style={"input_type": "password"}
    )


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class ReauthenticateView(OwnTransactions, TokenRequiredView):
    """Confirms your password for the session of this request, so that actions which ask
    for a recent authentication are allowed again for a few minutes. Answers when."""

    # Counted by the login throttle: the same (client address, account) count, so that a
    # stolen token cannot be used to guess the password faster than the login allows.

    serializer_class = ReauthenticationSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LoginView.read_body(request)
        token = request.auth
        reporting.hide(request, data.get("password") if hasattr(data, "get") else None)
        if is_api_key(token):
            raise exceptions.PermissionDenied(
                _("An API key has no password to confirm; log in to get a session token.")
            )
        serializer = ReauthenticationSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        # The user's name too, not None: a missing name counts under the blank name, which
        # every user behind one address would share (one's failures would lock out all).
        throttle = LoginThrottle(request, user.get_username(), user=user)
        wait = throttle.wait()
        if wait is not None:
            raise exceptions.Throttled(wait=wait)
        checked = authenticate(
            request._request,
            username=user.get_username(),
            password=serializer.validated_data["password"],
        )
        if (
            checked is None
            or checked.pk != user.pk
            or not checked.is_active
            or not services.credentials_current(checked)
        ):
            throttle.failed()
            raise ValidationError({"non_field_errors": [BAD_CREDENTIALS]}, code="authorization")
        throttle.succeeded()
        try:
            authenticated_at = services.reauthenticate(token)
        except AuthToken.DoesNotExist:
            raise _revoked_meanwhile(request) from None
        field = DateTimeField(format=durin_settings.EXPIRY_DATETIME_FORMAT)
        return Response({"authenticated_at": field.to_representation(authenticated_at)})


class TokenSessionsViewSet(
    ManagesSessions,
    TokenRequiredView, mixins.ListModelMixin, mixins.DestroyModelMixin, GenericViewSet
):
    """Your live sessions: list them, or end one other than the session of the request."""

    serializer_class = TokenSessionsSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        # On the primary, as every read that revokes: a lagging replica would neither list
        # nor let end a session started a moment ago, and would still list one just ended.
        sessions = (
            AuthToken.objects.on_primary()
            .live()
            .filter(user=self.request.user)
            .select_related("client")
            .order_by("-created", "-pk")
        )
        if durin_settings.API_ACCESS_EXCLUDE_FROM_SESSIONS:
            sessions = sessions.exclude(client__name=durin_settings.API_ACCESS_CLIENT_NAME)
        return sessions

    def get_object(self) -> AuthToken:
        """One of the caller's live sessions; any other id, whoever's, is the same 404."""
        pk = self.kwargs["pk"]
        # ASCII digits only (int() takes "1_0", " 5", "٥"), and within a BigAutoField.
        if not (pk.isascii() and pk.isdigit()) or int(pk) > MAX_BIGINT:
            raise NotFound()
        token = self.get_queryset().filter(pk=int(pk)).first()
        if token is None:
            raise NotFound()  # DRF's "Not found.", never a model name
        self.check_object_permissions(self.request, token)
        return token

    def perform_destroy(self, instance: AuthToken) -> None:
        if instance.pk == self.request.auth.pk:
            raise ValidationError(
                {
                    "detail": _("This is the session of the current request; end it with %(url)s.")
                    % {"url": reverse("durin_logout")}
                }
            )
        services.revoke_token(instance, "session_delete", request=self.request)


class APIAccessTokenView(OwnTransactions, TokenRequiredView):
    """Your long-lived API key: show it (never the key itself), issue it (the key is shown
    this once), or revoke it."""

    # A token of the API_ACCESS_CLIENT_NAME client. Not inside ATOMIC_REQUESTS: its writes
    # run in their own transactions, which start by locking the user, so no earlier read's
    # snapshot decides whether a key exists.

    @property
    def client_name(self) -> str:
        """``API_ACCESS_CLIENT_NAME`` (1.x hook); 404 when it is not set."""
        name = durin_settings.API_ACCESS_CLIENT_NAME
        if not name:
            raise NotFound(_("API access is not enabled: API_ACCESS_CLIENT_NAME is not set."))
        return name

    def get_client(self) -> Client:
        name = self.client_name
        try:
            return Client.named(name)
        except Client.DoesNotExist:
            raise NotFound(
                _(
                    "API access is not available: the client named by API_ACCESS_CLIENT_NAME does not exist."
                )
            ) from None

    def get_serializer(self, *args: Any, **kwargs: Any) -> APIAccessTokenSerializer:
        context = {"request": self.request, "format": self.format_kwarg, "view": self}
        return APIAccessTokenSerializer(*args, context=context, **kwargs)

    def _tokens(self, client: Client) -> Any:
        # On the primary: a key issued a moment ago is shown and revoked at once.
        return AuthToken.objects.on_primary().filter(user=self.request.user, client=client)

    def get_object(self) -> AuthToken:
        """The caller's newest API token (1.x hook); 404 when there is none."""
        token = (
            self._tokens(self.get_client()).select_related("client").order_by("-created").first()
        )
        if token is None:
            raise NotFound()  # DRF's "Not found.", as in 1.x
        return token

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = self.get_client()
        if request.auth.scopes is not None:  # an unrestricted key from a restricted token
            raise exceptions.PermissionDenied(RESTRICTED_CANNOT_MINT, code="restricted_token")
        try:
            token = services.issue_token(request.user, client, request=request, exclusive=True)
        except services.AlreadyIssued:
            raise ValidationError(
                {"detail": _("An API token was already issued to you.")}
            ) from None
        return Response(
            self.get_serializer(token).data, status=status.HTTP_201_CREATED, headers=NO_STORE
        )

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        keys = self._tokens(self.get_client())
        if is_api_key(request.auth):  # a key ends itself, never the user's other keys
            keys = keys.filter(pk=request.auth.pk)
        if not services.revoke_tokens(keys, "api_key_delete", request):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)
