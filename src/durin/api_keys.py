"""Many named API keys (CONTRACT §10, second bullet; §12's last): ``keys/``.

A key is a token of the ``API_ACCESS_CLIENT_NAME`` client, with a name, optional scopes and
a non-secret hint. Only a login's token manages keys (a key could otherwise mint keys), and
minting one (create, roll) needs a recent password (§9): a stolen session token alone cannot
turn itself into a long-lived key. ``apiaccess/`` keeps its 1.x meaning beside this.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import empty
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import html

from . import services
from .constants import MAX_ROLL_GRACE_SECONDS
from .models import AuthToken, Client
from .permissions import RecentlyAuthenticated, is_api_key
from .views import (
    MAX_BIGINT,
    NO_STORE,
    APIAccessTokenView,
    LoginView,
    OwnTransactions,
    TokenRequiredView,
)

#: More digits than any accepted number of seconds has: refused before ``int()`` reads them.
MAX_SECONDS_DIGITS = 12

AT_THE_LIMIT = _("You hold as many API keys as allowed: delete one first.")


class WholeSecondsField(serializers.Field):
    """A whole number of seconds: a JSON integer, or ASCII digits (form data). Never a
    boolean, a fraction, a sign or an absurd number of digits."""

    default_error_messages = {
        "invalid": _("A whole number of seconds is required."),
        "min_value": _("Ensure this value is greater than or equal to {min_value}."),
        "max_value": _("Ensure this value is less than or equal to {max_value}."),
    }

    def __init__(self, *, max_value: int | None = None, min_value: int = 0, **kwargs: Any):
        self.max_value, self.min_value = max_value, min_value
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and data.isascii() and data.isdigit():
            if len(data) > MAX_SECONDS_DIGITS:
                self.fail("max_value", max_value=self.max_value or 10**MAX_SECONDS_DIGITS - 1)
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if data < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if self.max_value is not None and data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        return data

    def to_representation(self, value: int) -> int:
        return value


class KeyNameField(serializers.CharField):
    """A key's name as sent (a string, never a number made one), checked by the service."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        name = super().to_internal_value(data)
        try:
            return services.checked_key_name(name)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None


class ScopesField(serializers.Field):
    """A list of scope names from the ``SCOPES`` setting, each once; ``null`` or left out:
    unrestricted. In form data, one ``scopes`` entry per name."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary):
            if self.field_name not in dictionary:
                return empty
            return dictionary.getlist(self.field_name)
        return dictionary.get(self.field_name, empty)

    def to_internal_value(self, data: Any) -> list[str] | None:
        try:
            return services.checked_scopes(data)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def to_representation(self, value: Any) -> Any:
        return value


class KeyCreateSerializer(serializers.Serializer):
    """What a new key is made of; ``expires_in`` is bounded by the key client's lifetime."""

    name = KeyNameField(help_text="A name that tells you what this key is for.")
    scopes = ScopesField(required=False, allow_null=True)
    expires_in = WholeSecondsField(required=False, min_value=1)

    def validate_expires_in(self, value: int) -> int:
        longest = int(services.token_lifetime(self.context["client"]).total_seconds())
        if value > longest:
            raise ValidationError(
                _("A key may live at most %(seconds)d seconds.") % {"seconds": longest},
                code="max_value",
            )
        return value


class KeyRollSerializer(serializers.Serializer):
    grace = WholeSecondsField(required=False, default=0, max_value=MAX_ROLL_GRACE_SECONDS)


class APIKeySerializer(serializers.ModelSerializer):
    """One of your API keys; ``token`` appears only in the response that issued it."""

    scopes = serializers.ListField(child=serializers.CharField(), allow_null=True, read_only=True)
    token = serializers.CharField(read_only=True)

    class Meta:
        model = AuthToken
        fields = ["id", "name", "scopes", "created", "expiry", "last_used", "hint", "token"]
        read_only_fields = fields

    def to_representation(self, instance: AuthToken) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not instance.token:
            data.pop("token")
        return data


class IsNotAPIKey(BasePermission):
    """A key manages no keys: it would let a leaked key mint long-lived others. Nor does a
    token limited to some scopes: keys are for a login's (unrestricted) token."""

    message = _("Only the token of a login can manage API keys.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return not is_api_key(request.auth) and request.auth.scopes is None


class KeysEnabled(BasePermission):
    """404, saying why, when ``API_ACCESS_CLIENT_NAME`` names no client (as ``apiaccess/``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        view.client = view.get_client()
        return True


class _KeysView(OwnTransactions, TokenRequiredView):
    # Not inside ATOMIC_REQUESTS: issuing and rolling lock the user in transactions of
    # their own, so no earlier read's snapshot decides how many keys the user holds.

    client: Client
    #: Methods that mint a key, and so need a recently proved password.
    minting: frozenset[str] = frozenset()

    client_name = APIAccessTokenView.client_name
    get_client = APIAccessTokenView.get_client

    def get_permissions(self) -> list[Any]:
        # In this order: no token 401, an API key 403, no key client 404, then sudo's 401.
        permissions = [*super().get_permissions(), IsNotAPIKey(), KeysEnabled()]
        if self.request.method.lower() in self.minting:
            permissions.append(RecentlyAuthenticated())
        return permissions

    def keys(self) -> Any:
        # On the primary: a key created a moment ago is listed and deleted at once.
        keys = AuthToken.objects.on_primary().live()
        return keys.filter(user=self.request.user, client=self.client)

    def key_id(self) -> int:
        """The id in the URL; anything that cannot be a key's id is the same 404."""
        pk = self.kwargs["pk"]
        # ASCII digits only (int() takes "1_0", " 5", "٥"), and within a BigAutoField.
        if not (pk.isascii() and pk.isdigit()) or int(pk) > MAX_BIGINT:
            raise NotFound()
        return int(pk)

    def issued(self, token: AuthToken) -> Response:
        data = APIKeySerializer(token, context={"request": self.request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers=NO_STORE)


class KeysView(_KeysView):
    """Your API keys, for programs that call the API for you: list them (never the keys
    themselves), or create one (the key is shown this once)."""

    minting = frozenset({"post"})

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        keys = self.keys().order_by("-created", "-pk")
        return Response(APIKeySerializer(keys, many=True, context={"request": request}).data)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LoginView.read_body(request)
        serializer = KeyCreateSerializer(data=data, context={"client": self.client})
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        seconds = values.get("expires_in")
        try:
            token = services.issue_token(
                request.user,
                self.client,
                request=request,
                delta_ttl=None if seconds is None else timedelta(seconds=seconds),
                scopes=values.get("scopes"),
                name=values["name"],
                refuse_at_limit=True,
            )
        except services.SessionLimitReached:
            raise exceptions.PermissionDenied(AT_THE_LIMIT, code="key_limit_reached") from None
        return self.issued(token)


class KeyView(_KeysView):
    """One of your API keys: revoke it; programs using it are refused from then on."""

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = self.keys().filter(pk=self.key_id())
        if not services.revoke_tokens(key, "api_key_delete", request=request):
            raise NotFound()  # someone else's, a login's, expired or revoked meanwhile
        return Response(status=status.HTTP_204_NO_CONTENT)


class RollKeyView(_KeysView):
    """Replaces one of your API keys with a new one of the same name and scopes (shown this
    once); the old key keeps working for the grace you ask for, then stops."""

    minting = frozenset({"post"})

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key_id = self.key_id()
        serializer = KeyRollSerializer(data=LoginView.read_body(request))
        serializer.is_valid(raise_exception=True)
        grace = timedelta(seconds=serializer.validated_data["grace"])
        try:
            token = services.roll_key(
                request.user, self.client, key_id, grace=grace, request=request
            )
        except AuthToken.DoesNotExist:
            raise NotFound() from None
        except services.KeyInGrace:
            raise ValidationError(
                {
                    "detail": _(
                        "This key was already rolled: it stops working at its expiry. "
                        "Roll the key that replaced it instead."
                    )
                },
                code="key_rolled",
            ) from None
        except services.SessionLimitReached:
            raise exceptions.PermissionDenied(AT_THE_LIMIT, code="key_limit_reached") from None
        except services.UnusableClient:
            raise  # answered as every durin view answers it
        except ValueError as exc:  # its scopes are no longer all known
            raise ValidationError(
                {
                    "detail": _("This key cannot be rolled: %(why)s Create a new key.")
                    % {"why": exc}
                },
                code="invalid_scopes",
            ) from None
        return self.issued(token)
