"""The token cache behind ``CachedTokenAuthentication``.

Entries are keyed by ``CACHE_KEY_PREFIX + digest`` and hold the token, its user
(password left out) and its client as plain field values. Revoking or changing a
token writes a *stale* marker over its entry, visible at once to every process
sharing the cache; a reader never overwrites an existing entry (``cache.add``),
so a request that read the database just before a revocation cannot put the
revoked token back. A stale entry sends lookups to the database until it times out.

Cache failures never fail a request: reads fall back to the database, with one
warning per outage on the ``durin`` logger.
"""

from __future__ import annotations

import functools
import logging
import math
import zlib
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import BaseCache, caches
from django.db.models import Model
from django.utils import timezone

from .constants import CACHE_KEY_PREFIX
from .models import AuthToken, Client
from .settings import durin_settings

logger = logging.getLogger("durin")

STALE = "stale"


class Outage:
    """Remembers whether the cache is failing, so an outage is logged once, not per request."""

    failing = False

    @classmethod
    def failed(cls, exc: Exception) -> None:
        if not cls.failing:
            cls.failing = True
            logger.warning(
                "durin: the token cache %r failed (%s: %s); authenticating from the "
                "database until it answers again.",
                durin_settings.TOKEN_CACHE_ALIAS,
                type(exc).__name__,
                exc,
            )

    @classmethod
    def answered(cls) -> None:
        if cls.failing:
            cls.failing = False
            logger.warning(
                "durin: the token cache %r answers again.", durin_settings.TOKEN_CACHE_ALIAS
            )


def backend() -> BaseCache:
    return caches[durin_settings.TOKEN_CACHE_ALIAS]


def cache_key(digest: str) -> str:
    return CACHE_KEY_PREFIX + digest


def _attnames(model: type[Model], leave_out: frozenset[str] = frozenset()) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname not in leave_out)


@functools.cache
def _layout() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Field names of the cached token, user (no password) and client, in entry order."""
    return (
        _attnames(AuthToken),
        _attnames(get_user_model(), frozenset({"password"})),
        _attnames(Client),
    )


@functools.cache
def _fingerprint() -> int:
    """Tells entries written by a process with another schema (a rolling deploy) apart."""
    return zlib.crc32(repr(_layout()).encode())


def _pack(token: AuthToken) -> tuple[Any, ...]:
    token_fields, user_fields, client_fields = _layout()
    return (
        _fingerprint(),
        token._state.db,
        tuple(getattr(token, name) for name in token_fields),
        tuple(getattr(token.user, name) for name in user_fields),
        tuple(getattr(token.client, name) for name in client_fields),
    )


def _unpack(entry: Any) -> AuthToken | None:
    """The token an entry holds; ``None`` for a marker or an entry written with another schema."""
    if not isinstance(entry, tuple) or len(entry) != 5 or entry[0] != _fingerprint():
        return None
    _, db, token_values, user_values, client_values = entry
    token_fields, user_fields, client_fields = _layout()
    token = AuthToken.from_db(db, token_fields, token_values)
    user = get_user_model().from_db(db, user_fields, user_values)
    client = Client.from_db(db, client_fields, client_values)
    AuthToken.user.field.set_cached_value(token, user)
    AuthToken.client.field.set_cached_value(token, client)
    return token


def read(digest: str) -> tuple[AuthToken | None, bool]:
    """``(token or None, whether the caller may store what it reads from the database)``."""
    try:
        entry = backend().get(cache_key(digest))
    except Exception as exc:  # Any cache failure: the database is the source of truth.
        Outage.failed(exc)
        return None, False
    Outage.answered()
    if entry is None:
        return None, True
    return _unpack(entry), False


def store(token: AuthToken) -> None:
    """Cache ``token`` unless an entry (or a stale marker) is already there.

    The entry lives no longer than ``TOKEN_CACHE_TIMEOUT``, the token itself, or the
    moment its ``last_used`` is due for a write: a cache hit never has to write.
    """
    now = timezone.now()
    seconds = [durin_settings.TOKEN_CACHE_TIMEOUT, (token.expiry - now).total_seconds()]
    interval = durin_settings.MIN_REFRESH_INTERVAL
    if interval is not None and token.last_used is not None:
        seconds.append(interval - (now - token.last_used).total_seconds())
    timeout = math.floor(min(seconds))
    if timeout <= 0:
        return
    try:
        backend().add(cache_key(token.digest), _pack(token), timeout)
    except Exception as exc:
        Outage.failed(exc)


def invalidate(digests: Iterable[str]) -> None:
    """Mark these tokens stale in every process, for as long as an entry could live."""
    markers = {cache_key(digest): STALE for digest in digests}
    if not markers:
        return
    try:
        backend().set_many(markers, max(durin_settings.TOKEN_CACHE_TIMEOUT, 1))
    except Exception:
        logger.exception(
            "durin: could not mark %d token(s) stale in the cache %r; a revoked token may "
            "still be accepted from the cache for up to TOKEN_CACHE_TIMEOUT seconds.",
            len(markers),
            durin_settings.TOKEN_CACHE_ALIAS,
        )
