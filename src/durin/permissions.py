"""Permissions by client, by recent authentication and by scope.

A request not authenticated with a durin token is refused by each of them.
``RecentlyAuthenticated`` and ``TokenHasScope`` raise their refusal (a challenge DRF would
not send for a ``False``); in ``A | B`` the other side is still asked.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.permissions import (
    AND,
    NOT,
    OR,
    BasePermission,
    BasePermissionMetaclass,
    OperandHolder,
    SingleOperandHolder,
)
from rest_framework.request import Request

from .models import AuthToken
from .services import is_api_key, known_scopes  # noqa: F401 (is_api_key: kept here too)
from .settings import durin_settings


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


class InsufficientScope(exceptions.PermissionDenied):
    """403 with RFC 6750's ``insufficient_scope`` challenge naming the scopes the view needs."""

    default_detail = _("This token's scopes do not allow this request.")
    default_code = "insufficient_scope"

    def __init__(self, required: list[str], detail: Any = None) -> None:
        super().__init__(detail)
        self.required = required
        # Read by DRF's exception handler; the names are RFC 6749 scope-tokens (ASCII, no
        # quote, no backslash), checked before they get here.
        self.auth_header = (
            f'{durin_settings.AUTH_HEADER_PREFIX} error="insufficient_scope", '
            f'scope="{" ".join(required)}"'
        )


#: Refusals durin's permissions raise instead of answering ``False``.
REFUSALS = (ReauthenticationRequired, InsufficientScope)


class _OrAskingBoth(OR):
    """DRF's ``OR``, except that a side raising one of durin's refusals counts as a
    ``False``: the other side is still asked. If neither lets the request through, the first
    refusal raised is (its challenge tells the client what would)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return self._either(lambda op: op.has_permission(request, view))

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return self._either(
            lambda op: (
                op.has_permission(request, view) and op.has_object_permission(request, view, obj)
            )
        )

    def _either(self, allows: Any) -> bool:
        refusal = None
        for op in (self.op1, self.op2):
            try:
                if allows(op):
                    return True
            except REFUSALS as exc:
                refusal = refusal or exc
        if refusal is not None:
            raise refusal
        return False


class _NotCatching(NOT):
    """``~TokenHasScope``: a refusal is a ``False``, so its negation lets the request in."""

    def has_permission(self, request: Request, view: Any) -> bool:
        try:
            return not self.op1.has_permission(request, view)
        except REFUSALS:
            return True

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        try:
            return not self.op1.has_object_permission(request, view, obj)
        except REFUSALS:
            return True


class _RefusalAwareOperands:
    """``|``, ``&`` and ``~`` that keep durin's refusals working in ``OR`` and ``NOT``, also
    in a longer expression that starts with a durin permission (DRF's own ``X | Y`` is asked
    left to right and stops at the first raise, so write ``TokenHasScope | X | Y``)."""

    def __or__(self, other: Any) -> OperandHolder:
        return _Holder(_OrAskingBoth, self, other)

    def __ror__(self, other: Any) -> OperandHolder:
        return _Holder(_OrAskingBoth, other, self)

    def __and__(self, other: Any) -> OperandHolder:
        return _Holder(AND, self, other)

    def __rand__(self, other: Any) -> OperandHolder:
        return _Holder(AND, other, self)

    def __invert__(self) -> SingleOperandHolder:
        return _SingleHolder(_NotCatching, self)


class _Holder(_RefusalAwareOperands, OperandHolder):
    pass


class _SingleHolder(_RefusalAwareOperands, SingleOperandHolder):
    pass


class _RefusingPermission(_RefusalAwareOperands, BasePermissionMetaclass):
    """The metaclass of durin's raising permissions."""


class _AskedLastInOr(_RefusingPermission):
    """``RecentlyAuthenticated | IsAdminUser`` asks ``IsAdminUser`` first: the 401 that
    ``RecentlyAuthenticated`` raises must not keep the other side from letting a request
    through (``OR`` is the same whichever side is asked first)."""

    def __or__(cls, other: Any) -> OperandHolder:
        return _Holder(_OrAskingBoth, other, cls)


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


class TokenHasScope(BasePermission, metaclass=_RefusingPermission):
    """The token may do everything the view's ``required_scopes`` name (all of them).

    An unrestricted token (``scopes`` null: every login token) passes; a token lacking one
    is refused with 403 and RFC 6750's ``insufficient_scope`` challenge, raised so that the
    header is sent. For "any of", give subclasses their own ``required_scopes`` and join
    them with ``|``. A request not authenticated with a durin token is refused as by any
    permission. ``required_scopes`` that are missing, empty or name a scope the ``SCOPES``
    setting does not declare are an ``ImproperlyConfigured``, on the first request.
    """

    #: Set on a subclass to carry its own scopes (``ReadScope | WriteScope``); else the view's.
    required_scopes: list[str] | tuple[str, ...] | None = None

    def has_permission(self, request: Request, view: Any) -> bool:
        required = self.get_required_scopes(view)
        token = request.auth
        if not isinstance(token, AuthToken):
            return False
        if token.scopes is None:
            return True
        # Anything but a list (a row written around durin) grants nothing: ``"read" in
        # "readonly"`` must never pass.
        granted = token.scopes if isinstance(token.scopes, list) else ()
        if any(scope not in granted for scope in required):
            raise InsufficientScope(required)
        return True

    def get_required_scopes(self, view: Any) -> list[str]:
        """The scopes asked for, checked: a view that names none, or a name no token can
        carry, is a mistake to find at once, not a view every restricted key is refused."""
        required = self.required_scopes
        if required is None:
            required = getattr(view, "required_scopes", None)
        where = type(view).__name__
        if isinstance(required, str) or not isinstance(required, (list, tuple)) or not required:
            raise ImproperlyConfigured(
                f"{where} uses TokenHasScope, so it needs required_scopes: a non-empty list "
                f"of scope names (it has {required!r})."
            )
        known = known_scopes()
        wrong = [s for s in required if not isinstance(s, str) or s not in known]
        if wrong:
            raise ImproperlyConfigured(
                f"{where}'s required_scopes name {wrong!r}, which REST_DURIN['SCOPES'] does "
                "not declare (or which are no scope names: see durin.E010)."
            )
        return list(required)
