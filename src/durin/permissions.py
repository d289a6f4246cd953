"""Permissions by client. Subclass and fill in the names of the clients concerned.

A request not authenticated with a durin token is refused by both.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.permissions import OR, BasePermission, BasePermissionMetaclass, OperandHolder
from rest_framework.request import Request

from .models import AuthToken
from .settings import durin_settings


def is_api_key(token: AuthToken) -> bool:
    """Whether ``token`` belongs to the ``API_ACCESS_CLIENT_NAME`` client."""
    name = durin_settings.API_ACCESS_CLIENT_NAME
    return bool(name) and token.client.name == name


class IsTokenAuthenticated(BasePermission):
    """The request carries a valid durin token (not a session, not another scheme)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, AuthToken)


class AllowSpecificClients(BasePermission):
    """Only tokens of the clients named in ``allowed_clients_name`` get through."""

    allowed_clients_name: tuple[str, ...] | list[str] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        return isinstance(auth, AuthToken) and auth.client.name in self.allowed_clients_name


class DisallowSpecificClients(BasePermission):
    """Tokens of the clients named in ``disallowed_clients_name`` are refused."""

    disallowed_clients_name: tuple[str, ...] | list[str] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        return isinstance(auth, AuthToken) and auth.client.name not in self.disallowed_clients_name


class ReauthenticationRequired(exceptions.APIException):
    """401 with RFC 9470's ``insufficient_user_authentication`` challenge and ``max_age``."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = _("Recent authentication required.")
    default_code = "insufficient_user_authentication"

    def __init__(self, max_age: int) -> None:
        super().__init__()
        self.max_age = max_age
        # Read by DRF's exception handler; RFC 6750 wants the description in plain ASCII.
        self.auth_header = (
            f"{durin_settings.AUTH_HEADER_PREFIX} "
            'error="insufficient_user_authentication", '
            f'error_description="Confirm your password at reauthenticate/ and retry", '
            f"max_age={max_age}"
        )


class _AskedLastInOr(BasePermissionMetaclass):
    """``RecentlyAuthenticated | IsAdminUser`` asks ``IsAdminUser`` first: the 401 that
    ``RecentlyAuthenticated`` raises must not keep the other side from letting a request
    through (``OR`` is the same whichever side is asked first)."""

    def __or__(cls, other: Any) -> OperandHolder:
        return OperandHolder(OR, other, cls)


def max_age_seconds(value: Any) -> int:
    """A view's ``reauthentication_max_age`` (seconds or a ``timedelta``) as the whole
    seconds RFC 9470's ``max_age`` carries; ``ImproperlyConfigured`` for anything else."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ImproperlyConfigured(
            f"reauthentication_max_age is {value!r}; it must be a number of seconds (>= 0) "
            "or a timedelta."
        )
    return math.ceil(value)


class RecentlyAuthenticated(BasePermission, metaclass=_AskedLastInOr):
    """The token's user proved their password (login or ``reauthenticate/``) at most
    ``reauthentication_max_age`` seconds ago (the view's attribute, seconds or a
    ``timedelta``, else the setting ``REAUTHENTICATION_MAX_AGE``). A token issued without a
    password (an API key, the admin, ``AuthToken.objects.create``) has no such time, so it
    passes only once its user has confirmed the password at ``reauthenticate/``, which
    refuses API keys.

    Refused with 401 and a challenge telling the client to reauthenticate (raised, so that
    DRF answers 401 rather than 403; in ``A | B`` it is asked last); a request not
    authenticated with a durin token is refused as by any permission.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, AuthToken):
            return False
        max_age = getattr(view, "reauthentication_max_age", None)
        if max_age is None:
            max_age = durin_settings.REAUTHENTICATION_MAX_AGE
        max_age = max_age_seconds(max_age)
        authenticated_at = token.authenticated_at
        # In seconds: a timedelta of a huge max_age would overflow.
        if (
            authenticated_at is None
            or (timezone.now() - authenticated_at).total_seconds() > max_age
        ):
            raise ReauthenticationRequired(max_age)
        return True
