"""DRF authentication classes for durin tokens.

``TokenAuthentication`` makes one indexed query per valid token and none for a
malformed one. ``CachedTokenAuthentication`` serves repeated requests from the
Django cache with no query at all, and sees revocations made by any process
sharing that cache on the very next request (see ``durin.cache``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from . import cache, crypto, legacy, lookup, reporting, reuse, services
from .constants import MAX_TOKEN_LENGTH
from .models import AuthToken
from .settings import durin_settings
from .signals import token_expired


def _failed(message: Any, code: str) -> exceptions.AuthenticationFailed:
    exc = exceptions.AuthenticationFailed(message, code=code)
    exc.untranslated = message  # type: ignore[attr-defined]  # for WWW-Authenticate
    return exc


def _ascii_description(message: Any) -> str:
    """RFC 6750 wants ``error_description`` in printable ASCII, without quotes or backslashes."""
    with translation.override(None):
        text = str(message)
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


def _invalid_characters() -> exceptions.AuthenticationFailed:
    return _failed(
        _("Invalid token header. Token string should not contain invalid characters."),
        "token_header_characters",
    )


@contextmanager
def _refusals_remembered(request: Any) -> Iterator[None]:
    """A presented token that is refused is remembered on the request, for the challenge."""
    try:
        yield
    except exceptions.AuthenticationFailed as exc:
        request._durin_refusal = refusal_of(exc)
        raise


def refusal_of(exc: exceptions.AuthenticationFailed) -> Any:
    """The message of a refused token, untranslated where durin raised it."""
    return getattr(exc, "untranslated", exc.detail)


def challenge(keyword: str, refusal: Any = None) -> str:
    """``WWW-Authenticate``: the scheme, with RFC 6750's ``invalid_token`` and the reason
    when a presented token was refused."""
    if refusal is None:
        return keyword
    return f'{keyword} error="invalid_token", error_description="{_ascii_description(refusal)}"'


def attach(request: Any, user: Any, auth_token: AuthToken) -> None:
    """Make a plain Django request authenticated as ``user``, the way DRF's ``Request`` is:
    ``request.user``, ``await request.auser()`` and ``request.auth``."""

    async def auser() -> Any:
        return user

    request.user, request.auser, request.auth = user, auser, auth_token


def _header_bytes(request: Request) -> tuple[bytes, bool]:
    """The ``Authorization`` header as bytes, and whether it had characters beyond Latin-1."""
    header = request.META.get("HTTP_AUTHORIZATION", b"")
    if isinstance(header, bytes):
        return header, False
    try:
        return header.encode("iso-8859-1"), False
    except UnicodeEncodeError:
        return header.encode("utf-8", "backslashreplace"), True


class TokenAuthentication(BaseAuthentication):
    """``Authorization: <AUTH_HEADER_PREFIX> <token>``, checked against the database.

    On success ``request.user`` is the token's user and ``request.auth`` the
    ``AuthToken``, with its ``client`` already loaded.
    """

    model = AuthToken

    @property
    def keyword(self) -> str:
        return durin_settings.AUTH_HEADER_PREFIX

    def authenticate(self, request: Request) -> tuple[Any, AuthToken] | None:
        token = self.presented_token(request)
        if token is None:
            return None
        with _refusals_remembered(request):
            return self.authenticate_credentials(token)

    async def aauthenticate(self, request: Any) -> tuple[Any, AuthToken] | None:
        """``authenticate`` for async code: durin's django-ninja auth and ``token_required``.

        A project's own ``authenticate`` may query or refuse more: it runs in one hop.
        """
        if _owner(type(self), "authenticate") is not TokenAuthentication:
            return await sync_to_async(self.authenticate)(request)
        token = self.presented_token(request)
        if token is None:
            return None
        with _refusals_remembered(request):
            return await self.aauthenticate_credentials(token)

    def presented_token(self, request: Any) -> str | None:
        """The token of an ``Authorization: <prefix> <token>`` header, ``None`` for another
        scheme or none; raises ``AuthenticationFailed`` for a durin header without one token
        (or with bytes that are no UTF-8: only the header's, a database's own decoding error
        is a server error).

        Reads nothing but the header, so sync and async callers share it.
        """
        raw, unencodable = _header_bytes(request)
        parts = raw.split()
        if not parts or parts[0].lower() != self.keyword.lower().encode("iso-8859-1", "replace"):
            return None
        # Error reports on this request hide the presented token (durin.reporting).
        getattr(request, "_request", request).exception_reporter_filter = reporting.FILTER
        if len(parts) == 1:
            raise _failed(_("Invalid token header. No credentials provided."), "token_header_empty")
        with _refusals_remembered(request):
            if len(parts) > 2:
                raise _failed(
                    _("Invalid token header. Token string should not contain spaces."),
                    "token_header_spaces",
                )
            try:
                if unencodable:
                    raise UnicodeError
                return parts[1].decode("utf-8")
            except UnicodeError:
                raise _invalid_characters() from None

    @classmethod
    def authenticate_credentials(cls, token: bytes | str) -> tuple[Any, AuthToken]:
        """Resolve a presented token; raises ``AuthenticationFailed`` (or ``UnicodeError``)."""
        if isinstance(token, bytes):
            token = token.decode("utf-8")
        digest = cls.digest_of(token)
        return cls.accept(digest, None if digest is None else cls.get_token(digest))

    @classmethod
    async def aauthenticate_credentials(cls, token: bytes | str) -> tuple[Any, AuthToken]:
        """The async twin of ``authenticate_credentials``, with the same results.

        Every lookup of this class is a query, so all of it runs in one hop to Django's
        database thread, the one the async ORM's queries run in.
        """
        return await sync_to_async(cls.authenticate_credentials)(token)

    @classmethod
    def accept(cls, digest: str | None, auth_token: AuthToken | None) -> tuple[Any, AuthToken]:
        """What follows the lookup: the rotation history for a token not found, the expiry,
        the user, the use."""
        if auth_token is None and digest is not None:
            auth_token = cls.get_superseded(digest)
        if auth_token is None:
            raise _failed(_("Invalid token."), "token_invalid")
        now = timezone.now()
        if auth_token.expiry <= now and digest is not None and lookup.from_replica(auth_token):
            # A replica may lag behind a sliding extension: the primary says what expired.
            auth_token = cls.get_token(digest, primary_only=True)
            if auth_token is None:
                raise _failed(_("Invalid token."), "token_invalid")
        if auth_token.expiry <= now:
            cls.expire(auth_token)
            raise _failed(_("The given token has expired."), "token_expired")
        user, auth_token = cls.validate_user(auth_token)
        cls.record_use(auth_token, now)
        cls.remember(auth_token)
        return user, auth_token

    @staticmethod
    def digest_of(token: str) -> str | None:
        """The digest to look up, or ``None`` for a token that cannot have been issued.

        A 1.x-shaped token is looked up only if 1.x tokens are still alive (``durin.legacy``).
        """
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        if crypto.has_valid_checksum(token):
            return crypto.digest(token)
        if (
            durin_settings.ACCEPT_LEGACY_TOKENS
            and crypto.is_legacy_token(token)
            and legacy.accepts_legacy_tokens(timezone.now())
        ):
            return crypto.digest(token)
        return None

    @classmethod
    def get_token(cls, digest: str, *, primary_only: bool = False) -> AuthToken | None:
        """The token with this digest, its user and client joined in the same query.

        Read where the router sends reads, then on the primary if it is not there
        (``lookup.find``); ``primary_only`` for a token that may have just been revoked.
        """
        related = lookup.related_list(durin_settings.AUTHTOKEN_SELECT_RELATED_LIST)
        return lookup.find(digest, related, primary_only=primary_only)

    @classmethod
    def get_superseded(cls, digest: str) -> AuthToken | None:
        """The session of a token that rotation replaced, while its grace lasts.

        Asked only for a digest that is no live token, so a current token's lookup costs
        nothing more. Presented after its grace, a replaced token is reuse (RFC 9700
        §4.14.2): someone else holds a copy, so the whole session is revoked.
        """
        related = lookup.related_list(durin_settings.AUTHTOKEN_SELECT_RELATED_LIST)
        found = services.superseded_session(digest, related)
        if found is None:
            return None
        session, superseded_at = found
        if timezone.now() < services.grace_ends(superseded_at):
            session._durin_superseded_at = superseded_at  # type: ignore[attr-defined]
            return session
        reuse.detected(session)
        return None

    @classmethod
    def record_use(cls, auth_token: AuthToken, now: datetime) -> None:
        """``last_used`` and sliding expiry, written at most once per interval."""
        services.record_use(auth_token, now)

    @classmethod
    def remember(cls, auth_token: AuthToken) -> None:
        """Called with each token that authenticated a request; the cached class stores it."""

    @classmethod
    def expire(cls, auth_token: AuthToken) -> None:
        """Delete an expired token that was presented, and say so."""
        username = auth_token.user.get_username()
        AuthToken.objects.filter(pk=auth_token.pk).delete()
        token_expired.send(sender=cls, username=username, source="auth_token")

    @staticmethod
    def validate_user(auth_token: AuthToken) -> tuple[Any, AuthToken]:
        if not auth_token.user.is_active:
            raise _failed(_("User inactive or deleted."), "user_inactive")
        return (auth_token.user, auth_token)

    def authenticate_header(self, request: Request) -> str:
        """``WWW-Authenticate``, with RFC 6750's ``invalid_token`` when a token was refused."""
        return challenge(self.keyword, getattr(request, "_durin_refusal", None))


#: Hooks a cache hit would call; the async hit path runs them only as durin wrote them.
_HIT_HOOKS = (
    "authenticate_credentials",
    "digest_of",
    "get_token",
    "accept",
    "validate_user",
    "record_use",
    "remember",
)


def _owner(cls: type, name: str) -> type:
    """The class of ``cls``'s MRO that defines ``name``."""
    return next(k for k in cls.__mro__ if name in vars(k))


@functools.cache
def _hooks_are_durins(cls: type) -> bool:
    """Whether ``cls`` (a ``CachedTokenAuthentication``) keeps durin's own hit hooks, which
    query nothing on a hit: a project's override may (or may refuse more), and must run
    as it would in a sync view, never on the event loop."""
    owners = (_owner(cls, name) for name in _HIT_HOOKS)
    return all(owner in (CachedTokenAuthentication, TokenAuthentication) for owner in owners)


class CachedTokenAuthentication(TokenAuthentication):
    """``TokenAuthentication`` with the token, user and client read from the Django cache.

    Uses the cache named by ``TOKEN_CACHE_ALIAS`` for ``TOKEN_CACHE_TIMEOUT``
    seconds. Expiry is checked on every hit; revocations reach every process
    sharing the cache at once; an unreachable cache falls back to the database.
    """

    @classmethod
    def get_token(cls, digest: str, *, primary_only: bool = False) -> AuthToken | None:
        cached, generation = cache.read(digest)
        hit = cls._hit(cached, timezone.now())
        if hit is not None:
            return hit
        return cls._get_token_after_miss(digest, cached, generation, primary_only)

    @classmethod
    async def aauthenticate_credentials(cls, token: bytes | str) -> tuple[Any, AuthToken]:
        """The async twin of ``authenticate_credentials``: a hit asks the cache without a
        thread hop (``cache.aread``) and runs no query; a miss goes on in Django's database
        thread, in one hop, with the generation this read found."""
        if isinstance(token, bytes):
            token = token.decode("utf-8")
        issued = len(token) <= MAX_TOKEN_LENGTH and crypto.has_valid_checksum(token)
        if not issued or not _hooks_are_durins(cls):
            # Deciding on a 1.x-shaped token may query; so may a project's own hooks.
            return await sync_to_async(cls.authenticate_credentials)(token)
        digest = crypto.digest(token)
        cached, generation = await cache.aread(digest)
        hit = cls._hit(cached, timezone.now())
        if hit is not None:
            return cls.validate_user(hit)  # a hit has nothing else to do (record_use, remember)
        return await sync_to_async(cls._accept_after_miss)(digest, cached, generation)

    @classmethod
    def _accept_after_miss(
        cls, digest: str, cached: AuthToken | None, generation: str | None
    ) -> tuple[Any, AuthToken]:
        return cls.accept(digest, cls._get_token_after_miss(digest, cached, generation))

    @staticmethod
    def _hit(cached: AuthToken | None, now: datetime) -> AuthToken | None:
        """The cached token, if it may be used as it is."""
        if cached is None or cached.expiry <= now:
            return None
        # A sliding token due for its write (its entry outlived the moment it was meant to
        # end) is read again from the database, which writes it.
        if cached.client.auto_refresh and cached.use_due(now):
            return None
        cached._durin_cached = True  # type: ignore[attr-defined]
        return cached

    @classmethod
    def _get_token_after_miss(
        cls,
        digest: str,
        cached: AuthToken | None,
        generation: str | None,
        primary_only: bool = False,
    ) -> AuthToken | None:
        # A replica may answer only when the cache answered and knows nothing of this token.
        # A stale marker (just revoked or changed), an entry of another generation, a cache
        # that did not answer, or a generation too new to vouch that no marker was lost
        # sends the lookup to the primary: a lagging replica would bring the revoked token
        # back.
        if cached is None:
            primary_only = primary_only or generation is None or not cache.settled(generation)
        if not primary_only and lookup.reads_elsewhere():
            # Nor if the cache may have evicted a marker under memory pressure.
            primary_only = cache.Eviction.may_evict()
        auth_token = super().get_token(digest, primary_only=primary_only)
        if auth_token is not None and generation is not None:
            auth_token._durin_generation = generation  # type: ignore[attr-defined]
        return auth_token

    @classmethod
    def record_use(cls, auth_token: AuthToken, now: datetime) -> None:
        # A hit writes nothing: a sliding token due for a write is not served from the
        # cache, and other tokens note their use on the next miss.
        if not getattr(auth_token, "_durin_cached", False):
            super().record_use(auth_token, now)

    @classmethod
    def remember(cls, auth_token: AuthToken) -> None:
        # Stored only once it proved valid, its last_used and expiry already written; a
        # replaced token (in its grace) never is: its entry would outlive the grace.
        generation = getattr(auth_token, "_durin_generation", None)
        if generation is not None:
            cache.store(auth_token, generation)

    def __repr__(self) -> str:
        return type(self).__name__
