"""Tokens as other parties see them: ``revoke/`` (RFC 7009) and ``introspect/`` (RFC 7662).

``revoke/`` takes no credentials: holding a token is the right to kill it, as with
GitHub's credential-revocation API, so whoever finds a leaked token (a secret scanner, a
colleague, its owner without a session) can end it. Its answer is the same whether the
token was valid or not, so it cannot be used to test tokens; it is throttled per client
network so that it cannot be used to grind through them either.

``introspect/`` lets another service (a gateway, a service that is not Django) ask what a
token is. The token is resolved exactly as the project's own authentication class would
resolve it on a request (the cached class when it is configured), so an introspecting
service sees a revocation as soon as durin's own views do, and a cache hit costs no query.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from . import reporting, services
from .auth import CachedTokenAuthentication, TokenAuthentication
from .client_ip import client_network
from .constants import INTROSPECT_SCOPE, MAX_REVOKE_TOKENS
from .models import AuthToken, SupersededToken
from .permissions import InsufficientScope
from .settings import durin_settings
from .views import NO_STORE, DurinView, LoginView, OwnTransactions, TokenRequiredView

#: ``token_revoked``'s reason for a token revoked by someone who presented it.
REASON = "revoked_by_possession"


class RevokeThrottle(SimpleRateThrottle):
    """``REVOKE_THROTTLE_RATE`` per client network (an IPv4 address, an IPv6 /64), counted
    in the default cache; every request counts, whatever it held."""

    scope = "durin_revoke"

    def get_rate(self) -> str | None:
        """Read at each request (DRF reads its rates at import)."""
        return durin_settings.REVOKE_THROTTLE_RATE

    def get_cache_key(self, request: Request, view: Any) -> str:
        # Behind NUM_TRUSTED_PROXIES proxies, the address they saw; no address at all
        # (a test client, a unix socket) shares one count.
        ident = client_network(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _named(data: Any, key: str) -> list[Any]:
    """Every value sent under ``key``: a form may repeat it, JSON gives one value or a list."""
    if hasattr(data, "getlist"):
        return data.getlist(key)
    if key not in data:
        return []
    value = data[key]
    return value if key == "tokens" and isinstance(value, list) else [value]


def presented_tokens(data: Any) -> list[str]:
    """The strings a ``revoke/`` body names (``token``, ``tokens``); 400 for any other shape.

    Whether a string could be a token is not judged here: a malformed one is ignored later
    like an unknown one, so that the answer says nothing about it.
    """
    if not hasattr(data, "get"):
        raise ValidationError({"detail": _("Send an object with token or tokens.")})
    if "tokens" in data and not hasattr(data, "getlist") and not isinstance(data["tokens"], list):
        raise ValidationError({"tokens": [_("A list of tokens.")]})
    named = {key: _named(data, key) for key in ("token", "tokens")}
    count = sum(map(len, named.values()))
    if not count:
        raise ValidationError({"token": [_("Send the token to revoke as token, or tokens.")]})
    if count > MAX_REVOKE_TOKENS:
        raise ValidationError(
            {"tokens": [_("At most %(max)d tokens per request.") % {"max": MAX_REVOKE_TOKENS}]}
        )
    for key, values in named.items():
        if not all(isinstance(value, str) for value in values):
            raise ValidationError({key: [_("Each token must be a string.")]})
    return named["token"] + named["tokens"]


def revoke_by_possession(tokens: list[str], request: Any = None) -> int:
    """Revoke every live token among ``tokens``, and every session one of them belonged to
    before rotation replaced it; ignore the rest. Returns how many tokens went.

    A 1.x-shaped token is looked up only where 1.x tokens can still live, as in
    authentication (``TokenAuthentication.digest_of``).
    """
    digests = {TokenAuthentication.digest_of(token) for token in tokens} - {None}
    if not digests:
        return 0
    revoked = 0
    # Twice: a rotation that commits between the first look at the rotation history and
    # the deletion moves a presented token into that history, where the second look finds
    # it. A rotation after the deletion finds its session gone. Both are read on the primary:
    # a replica may lack a token issued or rotated a moment ago.
    for _look in range(2):
        # Possession of any token of a rotated session is possession of the session.
        sessions = list(
            SupersededToken.objects.on_primary()
            .filter(digest__in=digests)
            .values_list("session_id", flat=True)
        )
        held = (
            AuthToken.objects.on_primary()
            .live(timezone.now())
            .filter(Q(digest__in=digests) | Q(pk__in=sessions))
        )
        revoked += services.revoke_tokens(held, REASON, request=request)
    return revoked


class RevokeView(OwnTransactions, DurinView):
    """Revokes the tokens you send (``token``, or a list ``tokens`` of at most 100), with no
    other credential: holding a token is enough to end it. The answer is always the same, an
    empty object, whether the tokens were valid, unknown or malformed."""

    # Not inside ATOMIC_REQUESTS: the revocation commits on its own, and signals and cache
    # invalidation follow at once. The 413 comes before the throttle, which counts every
    # request it lets through, bad bodies included.

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [RevokeThrottle]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tokens = presented_tokens(LoginView.read_body(request))
        reporting.hide(request, *tokens)
        revoke_by_possession(tokens, request=request)
        return Response({})


#: Why a token without the introspection scope is refused.
CANNOT_INTROSPECT = _("This token may not introspect tokens: it needs the introspection scope.")


class CanIntrospect(BasePermission):
    """The token names ``durin:introspect`` among its scopes; an unrestricted token (a
    login's) does not: introspection is given to a service on purpose, never by default."""

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if isinstance(token, AuthToken) and INTROSPECT_SCOPE in (token.scopes or ()):
            return True
        raise InsufficientScope([INTROSPECT_SCOPE], detail=CANNOT_INTROSPECT)


def lookup_authenticator(authenticators: list[Any]) -> TokenAuthentication:
    """The authenticator whose lookup introspection uses: the project's cached class if it
    has one (it sees revocations at once, and answers hits with no query), else its durin
    class. An instance: a project's class may define ``authenticate_credentials`` on it."""
    durin = [a for a in authenticators if isinstance(a, TokenAuthentication)]
    cached = [a for a in durin if isinstance(a, CachedTokenAuthentication)]
    return (cached or durin or [TokenAuthentication()])[0]


def _timestamp(moment: Any) -> int:
    return int(moment.timestamp())


INACTIVE = {"active": False}


class IntrospectView(OwnTransactions, TokenRequiredView):
    """Tells a service whether a token (``token``) is active, and if so whose it is, for
    which client, with which scopes, and until when. Anything else (unknown, expired,
    revoked, malformed) is simply inactive. Needs a token with the introspection scope."""

    # The token is resolved by the project's own class (authenticate_credentials), so
    # introspection is a use of it, as the request that brought it to the service is:
    # last_used is noted (at most once per MIN_REFRESH_INTERVAL; with the cached class, on
    # a cache miss), a sliding token is extended, an expired one is deleted, and a token
    # rotation replaced, presented after its grace, revokes its session (reuse). Not inside
    # ATOMIC_REQUESTS, so that such a revocation stays made.

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), CanIntrospect()]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = LoginView.read_body(request)
        if not hasattr(data, "get"):
            raise ValidationError({"detail": _("Send an object with the token to introspect.")})
        if "token" not in data:
            raise ValidationError({"token": [_("This field is required.")]})
        token = data.get("token")
        if not isinstance(token, str):
            raise ValidationError({"token": [_("Not a valid string.")]})
        reporting.hide(request, token)
        return Response(self.describe(token), headers=NO_STORE)

    def describe(self, token: str) -> dict[str, Any]:
        """RFC 7662's answer for ``token``: its claims, or exactly ``{"active": false}``."""
        authenticator = lookup_authenticator(self.get_authenticators())
        try:
            user, auth_token = authenticator.authenticate_credentials(token)
        except exceptions.AuthenticationFailed:
            return dict(INACTIVE)
        expiry = auth_token.expiry
        superseded_at = getattr(auth_token, "_durin_superseded_at", None)
        if superseded_at is not None:  # replaced by rotation: active only for its grace
            expiry = min(expiry, services.grace_ends(superseded_at))
        answer: dict[str, Any] = {"active": True}
        if auth_token.scopes is not None:
            answer["scope"] = " ".join(auth_token.scopes)
        answer.update(
            client_id=auth_token.client.name,
            username=user.get_username(),
            sub=str(user.pk),
            token_type=durin_settings.AUTH_HEADER_PREFIX,
            exp=_timestamp(expiry),
            iat=_timestamp(auth_token.created),
        )
        return answer
