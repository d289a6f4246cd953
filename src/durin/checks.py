"""System checks. Every id durin uses is listed here, once.

E001  TOKEN_CHARACTER_LENGTH / TOKEN_PREFIX cannot give a well-formed token.
E002  (retired: now W005, so that a 1.x project listing both classes can still migrate)
E003  A REST_DURIN setting has the wrong type or value.
E004  LOGIN_THROTTLE_RATE or REVOKE_THROTTLE_RATE is not a rate DRF understands.
E005  TOKEN_CACHE_ALIAS names no cache in CACHES.
E006  CachedTokenAuthentication on a cache that swallows its own errors (revocations get lost).
E007  LOGIN_THROTTLE_CACHE names a cache that cannot keep shared, atomic counts.
E008  CachedTokenAuthentication on a Redis cache whose reads may come from a replica.
E009  USER_SERIALIZER does not import, or does not name a serializer class.
E010  A SCOPES name is not an RFC 6749 scope-token (it would break the 403 challenge).
E011  TokenAuthentication (in DRF, django-ninja or token_required) with a router that reads
      tokens from a replica (a lagging one accepts revoked tokens).
W001  API_ACCESS_RESPONSE_INCLUDE_TOKEN is set but cannot be honoured.
W002  API_ACCESS_CLIENT_NAME names a client that does not exist (database check).
W003  CachedTokenAuthentication on a cache that other processes cannot see (deploy only).
W004  REST_DURIN has a key durin does not know (a typo?).
W005  Both TokenAuthentication and CachedTokenAuthentication are default classes.
W006  A client's token_ttl or max_token_lifetime is under a second (database check).
W007  REFRESH_TOKEN_ON_LOGIN is True: it has nothing to renew in durin 2.
W008  SCOPES names a scope in durin's own namespace (``durin:``, e.g. durin:introspect).

Only checks about production deployment are tagged ``deploy`` (``check --deploy``); an
error that makes a promise false in any environment is never among them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import DatabaseError
from django.utils.module_loading import import_string

from . import crypto
from .constants import CHECKSUM_LENGTH, INTROSPECT_SCOPE, MAX_TOKEN_LENGTH, MIN_RANDOM_CHARACTERS
from .settings import DEFAULTS, durin_settings
from .validators import MAX_TOKEN_TTL, MIN_TOKEN_TTL, is_scope_token

AUTH_CLASSES = ("durin.auth.TokenAuthentication", "durin.auth.CachedTokenAuthentication")
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
PROCESS_LOCAL_CACHES = (LOCMEM,)

#: Backends that report a failed write as done: a revocation marker can vanish unnoticed.
ERROR_SWALLOWING_CACHES = {
    "django.core.cache.backends.db.DatabaseCache": (
        "swallows database errors on writes: a revocation marker whose row is locked by "
        "another transaction (ATOMIC_REQUESTS) is dropped"
    ),
    "django.core.cache.backends.filebased.FileBasedCache": (
        "swallows file errors on writes, and its add() is not atomic"
    ),
    "django.core.cache.backends.dummy.DummyCache": (
        "stores nothing and reports every write as done"
    ),
}


def _int(minimum: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _is(*types: type) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, types)


#: What each setting must be, in words for the message, and as a test.
EXPECTED: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "DEFAULT_TOKEN_TTL": (
        f"a timedelta of at least one second and at most {MAX_TOKEN_TTL.days} days",
        lambda v: isinstance(v, timedelta) and MIN_TOKEN_TTL <= v <= MAX_TOKEN_TTL,
    ),
    "TOKEN_CHARACTER_LENGTH": ("an integer", _int(1)),
    "USER_SERIALIZER": (
        "a dotted path, a serializer class or None",
        lambda v: v is None or isinstance(v, (str, type)),
    ),
    "AUTH_HEADER_PREFIX": (
        "one word",
        lambda v: isinstance(v, str) and len(v.split()) == 1 and v.isascii(),
    ),
    "EXPIRY_DATETIME_FORMAT": (
        "a format string or None",
        lambda v: v is None or isinstance(v, str),
    ),
    "TOKEN_CACHE_TIMEOUT": ("a number of seconds (>= 0)", _int(0)),
    "REFRESH_TOKEN_ON_LOGIN": ("True or False", _is(bool)),
    "AUTHTOKEN_SELECT_RELATED_LIST": (
        "a list of relation names",
        lambda v: not v or (isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)),
    ),
    "API_ACCESS_CLIENT_NAME": ("a client name or None", lambda v: v is None or isinstance(v, str)),
    "API_ACCESS_EXCLUDE_FROM_SESSIONS": ("True or False", _is(bool)),
    "API_ACCESS_RESPONSE_INCLUDE_TOKEN": ("True or False", _is(bool)),
    "TOKEN_PREFIX": ("a string", _is(str)),
    "ACCEPT_LEGACY_TOKENS": ("True or False", _is(bool)),
    "TOKEN_CACHE_ALIAS": ("a cache alias", _is(str)),
    "MIN_REFRESH_INTERVAL": (
        "a number of seconds (>= 0) or None",
        lambda v: v is None or _int(0)(v),
    ),
    "LOGIN_THROTTLE_RATE": (
        "a rate such as '10/m', or None",
        lambda v: v is None or isinstance(v, str),
    ),
    "REVOKE_THROTTLE_RATE": (
        "a rate such as '60/m', or None",
        lambda v: v is None or isinstance(v, str),
    ),
    "REVOKE_TOKENS_ON_PASSWORD_CHANGE": ("True or False", _is(bool)),
    "REVOKE_TOKENS_ON_DEACTIVATION": ("True or False", _is(bool)),
    "NUM_TRUSTED_PROXIES": ("a whole number (>= 0)", _int(0)),
    "CLIENT_IP_HEADER": ("a request.META key", _is(str)),
    "CACHE_WRITE_CHECK_INTERVAL": ("a number of seconds (>= 1)", _int(1)),
    "LOGIN_THROTTLE_CACHE": ("a cache alias or None", lambda v: v is None or isinstance(v, str)),
    "MAX_TOKENS_PER_USER_CLIENT": ("a whole number (>= 1)", _int(1)),
    "ROTATION_GRACE_PERIOD": (
        "a timedelta of at least zero and at most one day",
        lambda v: isinstance(v, timedelta) and timedelta(0) <= v <= timedelta(days=1),
    ),
    # No token outlives MAX_TOKEN_TTL, so a longer age means nothing more; a much longer one
    # would overflow a timedelta in RecentlyAuthenticated (a 500 on every request).
    "REAUTHENTICATION_MAX_AGE": (
        f"a number of seconds from 0 to {int(MAX_TOKEN_TTL.total_seconds())}",
        lambda v: _int(0)(v) and v <= MAX_TOKEN_TTL.total_seconds(),
    ),
    "SCOPES": (
        "a dict of scope names to descriptions (strings)",
        lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in (*v, *v.values())),
    ),
}


def _user_settings() -> dict[str, Any]:
    value = getattr(settings, "REST_DURIN", None) or {}
    return value if isinstance(value, dict) else {}


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    user_settings = _user_settings()
    messages: list[CheckMessage] = []
    for name in sorted(set(user_settings) - set(DEFAULTS)):
        messages.append(
            Warning(
                f"REST_DURIN[{name!r}] is not a durin setting and is ignored.",
                hint="Check the spelling against durin's settings reference (docs/settings.md).",
                id="durin.W004",
            )
        )
    wrong = {
        name: words
        for name, (words, valid) in EXPECTED.items()
        if name in user_settings and not valid(user_settings[name])
    }
    for name, words in wrong.items():
        messages.append(
            Error(
                f"REST_DURIN[{name!r}] is {user_settings[name]!r}; it must be {words}.",
                hint=f"Fix it, or remove it to use the default ({DEFAULTS[name]!r}).",
                id="durin.E003",
            )
        )
    if not {"TOKEN_CHARACTER_LENGTH", "TOKEN_PREFIX"} & set(wrong):
        messages += _check_token_format()
    for name in ("LOGIN_THROTTLE_RATE", "REVOKE_THROTTLE_RATE"):
        if name not in wrong:
            messages += _check_rate(name)
    if "TOKEN_CACHE_ALIAS" not in wrong:
        messages += _check_cache()
    messages += _check_auth_classes()
    messages += _check_replica_reads()
    if "USER_SERIALIZER" not in wrong:
        messages += _check_user_serializer()
    if "SCOPES" not in wrong:
        messages += _check_scopes()
    if user_settings.get("REFRESH_TOKEN_ON_LOGIN") is True:
        messages.append(
            Warning(
                "REFRESH_TOKEN_ON_LOGIN has no effect: durin issues a new token on every "
                "login, so there is no earlier token to renew.",
                hint="Remove REST_DURIN['REFRESH_TOKEN_ON_LOGIN']. To extend a token while it "
                "is in use, set the client's auto_refresh, or POST to the refresh endpoint.",
                id="durin.W007",
            )
        )
    if durin_settings.API_ACCESS_RESPONSE_INCLUDE_TOKEN:
        messages.append(
            Warning(
                "API_ACCESS_RESPONSE_INCLUDE_TOKEN has no effect: tokens are stored only as "
                "digests, so an API token can be shown only in the response that issues it.",
                hint="Remove REST_DURIN['API_ACCESS_RESPONSE_INCLUDE_TOKEN'].",
                id="durin.W001",
            )
        )
    return messages


def _check_token_format() -> list[CheckMessage]:
    try:
        crypto.generate_token(durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX)
    except ValueError as exc:
        return [
            Error(
                f"durin cannot issue tokens with these settings: {exc}",
                hint=(
                    "Set REST_DURIN['TOKEN_CHARACTER_LENGTH'] between "
                    f"{MIN_RANDOM_CHARACTERS + CHECKSUM_LENGTH} + len(TOKEN_PREFIX) and "
                    f"{MAX_TOKEN_LENGTH}, with a TOKEN_PREFIX of [A-Za-z0-9_] only."
                ),
                id="durin.E001",
            )
        ]
    return []


#: Scope names durin keeps for itself.
DURIN_SCOPE_PREFIX = INTROSPECT_SCOPE.split(":")[0] + ":"


def _check_scopes() -> list[CheckMessage]:
    """``durin.E010`` / ``W008``: every name must fit the challenge's ``scope="..."``."""
    messages: list[CheckMessage] = []
    for name in _user_settings().get("SCOPES") or {}:
        if not is_scope_token(name):
            messages.append(
                Error(
                    f"REST_DURIN['SCOPES'] names {name!r}, which is not a scope name: tokens "
                    "could not carry it, nor a 403 challenge name it.",
                    hint="Use printable ASCII without spaces, double quotes or backslashes "
                    "(RFC 6749's scope-token), such as 'orders:read'.",
                    id="durin.E010",
                )
            )
        elif name.startswith(DURIN_SCOPE_PREFIX):
            messages.append(
                Warning(
                    f"REST_DURIN['SCOPES'] names {name!r}: scopes starting with "
                    f"{DURIN_SCOPE_PREFIX!r} are durin's own ({INTROSPECT_SCOPE!r} is always "
                    "valid, with its meaning).",
                    hint="Remove it, or rename your scope.",
                    id="durin.W008",
                )
            )
    return messages


def _check_user_serializer() -> list[CheckMessage]:
    """``durin.E009``: otherwise the first login finds out, with a 500."""
    from rest_framework.serializers import BaseSerializer

    value = _user_settings().get("USER_SERIALIZER")
    if value is None:
        return []
    try:
        serializer = import_string(value) if isinstance(value, str) else value
    except ImportError as exc:
        problem = f"does not import ({exc})"
    else:
        if isinstance(serializer, type) and issubclass(serializer, BaseSerializer):
            return []
        problem = f"is {serializer!r}, not a serializer class"
    return [
        Error(
            f"REST_DURIN['USER_SERIALIZER'] {value!r} {problem}: every login would fail.",
            hint="Give the dotted path of a DRF serializer class (a subclass of "
            "rest_framework.serializers.Serializer), or None.",
            id="durin.E009",
        )
    ]


def _check_rate(name: str) -> list[CheckMessage]:
    from rest_framework.throttling import SimpleRateThrottle

    rate = getattr(durin_settings, name)
    try:
        SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    except (ValueError, KeyError, IndexError):
        return [
            Error(
                f"{name} {rate!r} is not a rate.",
                hint="Use 'number/period' with a period of s, m, h or d ('10/m'), or None.",
                id="durin.E004",
            )
        ]
    return []


def _check_cache() -> list[CheckMessage]:
    alias = durin_settings.TOKEN_CACHE_ALIAS
    caches = getattr(settings, "CACHES", {"default": {}})
    if alias not in caches:
        return [
            Error(
                f"TOKEN_CACHE_ALIAS is {alias!r}, but CACHES has no such cache.",
                hint=f"Use one of {sorted(caches)} or add {alias!r} to CACHES.",
                id="durin.E005",
            )
        ]
    if not _cached_class_in_use():
        return []
    config = caches[alias]
    backend = config.get("BACKEND", LOCMEM)
    name = f"{alias!r} ({backend.rsplit('.', 1)[-1]})"
    swallows = _swallowed_errors(backend, config.get("OPTIONS") or {})
    if swallows:
        return [
            Error(
                f"CachedTokenAuthentication uses the cache {name}, which {swallows}: a token "
                "revoked while the cache fails stays valid wherever its entry is cached.",
                hint="Point TOKEN_CACHE_ALIAS at a cache that raises its errors (Django's "
                "RedisCache, or django-redis without IGNORE_EXCEPTIONS), or use "
                "TokenAuthentication.",
                id="durin.E006",
            )
        ]
    if _reads_from_replicas(backend, config.get("LOCATION")):
        return [
            Error(
                f"CachedTokenAuthentication uses the cache {name}, whose LOCATION names "
                "several servers: it writes to the first and reads from the others, so a "
                "revocation's marker lands on the primary while lookups read a replica that "
                "may lag, or keep serving stale data when cut off from its primary.",
                hint="Give TOKEN_CACHE_ALIAS a cache with one Redis server (the primary; a "
                "failover proxy or Sentinel-managed address is fine), or use "
                "TokenAuthentication.",
                id="durin.E008",
            )
        ]
    return []


def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``durin.W003``, tagged ``deploy``: a development server runs in one process."""
    alias = durin_settings.TOKEN_CACHE_ALIAS
    caches = getattr(settings, "CACHES", {"default": {}})
    if not isinstance(alias, str) or alias not in caches or not _cached_class_in_use():
        return []  # E003, E005, or no cache involved
    backend = caches[alias].get("BACKEND", LOCMEM)
    if backend in PROCESS_LOCAL_CACHES:
        name = f"{alias!r} ({backend.rsplit('.', 1)[-1]})"
        return [
            Warning(
                f"CachedTokenAuthentication uses the cache {name}, which each process keeps "
                "to itself: with several processes, a revoked token stays valid in the others "
                "for up to TOKEN_CACHE_TIMEOUT seconds.",
                hint="Point TOKEN_CACHE_ALIAS at a shared cache (Redis, Memcached), or "
                "silence durin.W003 if the site runs in a single process.",
                id="durin.W003",
            )
        ]
    return []


def _swallowed_errors(backend: str, options: dict[str, Any]) -> str | None:
    """What makes this cache backend hide a failed write, or ``None``."""
    try:
        backend_class = import_string(backend)
    except ImportError:  # Django's own cache checks say so.
        return None
    for path, why in ERROR_SWALLOWING_CACHES.items():
        if _is_subclass(backend_class, path):
            return why
    if _is_subclass(backend_class, "django_redis.cache.RedisCache"):
        default = getattr(settings, "DJANGO_REDIS_IGNORE_EXCEPTIONS", False)
        if options.get("IGNORE_EXCEPTIONS", default):
            return "is set to ignore exceptions (IGNORE_EXCEPTIONS): a failed write reads as done"
    memcached = "django.core.cache.backends.memcached.PyMemcacheCache"
    if _is_subclass(backend_class, memcached) and (
        options.get("ignore_exc") or options.get("default_noreply")
    ):
        return "is set to ignore errors or replies (ignore_exc, default_noreply)"
    return None


#: Redis backends that send reads to every LOCATION after the first (the replicas).
REPLICA_READING_CACHES = (
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",
)


def _reads_from_replicas(backend: str, location: Any) -> bool:
    """Whether this Redis cache may answer reads from a server that takes no writes."""
    if isinstance(location, str):
        # Django's RedisCache splits on both (django-redis on the comma).
        servers = [part for part in re.split("[;,]", location) if part.strip()]
    elif isinstance(location, (list, tuple)):
        servers = list(location)
    else:
        return False
    try:
        backend_class = import_string(backend)
    except ImportError:
        return False
    return len(servers) > 1 and any(_is_subclass(backend_class, p) for p in REPLICA_READING_CACHES)


def _is_subclass(cls: Any, path: str) -> bool:
    try:
        base = import_string(path)
    except ImportError:  # an optional package that is not installed
        return False
    return isinstance(cls, type) and issubclass(cls, base)


def _cached_class_in_use() -> bool:
    """``CachedTokenAuthentication`` (or a subclass) is a default class or set on a view."""
    from .auth import CachedTokenAuthentication

    classes = [*_default_auth_classes_imported(), *_view_auth_classes()]
    return any(isinstance(c, type) and issubclass(c, CachedTokenAuthentication) for c in classes)


def _default_auth_classes_imported() -> list[Any]:
    rest_framework = getattr(settings, "REST_FRAMEWORK", None) or {}
    imported = []
    for entry in rest_framework.get("DEFAULT_AUTHENTICATION_CLASSES", []):
        try:
            imported.append(import_string(entry) if isinstance(entry, str) else entry)
        except ImportError:  # DRF says so on the first request
            continue
    return imported


def _view_auth_classes() -> list[Any]:
    """The authentication classes set on every DRF view the URLconf reaches, and durin's on
    its ``token_required`` views and django-ninja operations.

    A view that sets none has DRF's defaults as they were when ``APIView`` was imported
    (the same as the settings', except under ``override_settings``): those are read from
    the settings instead.
    """
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.views import APIView

    def walk(patterns: Iterable[Any]) -> Iterable[Any]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)  # DRF views and viewsets
                classes = getattr(view, "authentication_classes", None) or ()
                if classes is not APIView.authentication_classes:
                    yield from classes
                yield from _durin_classes_outside_drf(pattern.callback)

    try:
        return list(walk(get_resolver().url_patterns))
    except Exception:  # noqa: BLE001  A broken URLconf: Django's URL checks report it.
        return []


def _durin_classes_outside_drf(callback: Any) -> Iterable[type]:
    """The class of a ``token_required`` view (or class-based view's method), or of each
    ``TokenAuth`` guarding the operations of a django-ninja view (ninja's view closes over
    its ``PathView``)."""
    view_class = getattr(callback, "view_class", None)  # a class-based view's methods
    methods = getattr(view_class, "http_method_names", None) or ()
    for view in (callback, *(getattr(view_class, name, None) for name in methods)):
        decorated = getattr(view, "durin_authentication_class", None)
        if decorated is not None:
            yield decorated
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            operations = getattr(cell.cell_contents, "operations", None)
        except ValueError:  # an empty cell
            continue
        for operation in operations if isinstance(operations, list) else ():
            for auth in getattr(operation, "auth_callbacks", None) or ():
                authentication = getattr(auth, "authentication", None)
                if authentication is not None:
                    yield type(authentication)


def _default_auth_classes() -> list[str]:
    rest_framework = getattr(settings, "REST_FRAMEWORK", None) or {}
    classes = rest_framework.get("DEFAULT_AUTHENTICATION_CLASSES", [])
    return [c if isinstance(c, str) else f"{c.__module__}.{c.__qualname__}" for c in classes]


def _check_auth_classes() -> list[CheckMessage]:
    if all(name in _default_auth_classes() for name in AUTH_CLASSES):
        return [
            Warning(
                "Both TokenAuthentication and CachedTokenAuthentication are in "
                "DEFAULT_AUTHENTICATION_CLASSES: only the first one listed ever decides on a "
                "durin token, so the other is dead configuration (and the cache may never be used).",
                hint="Keep one of them.",
                id="durin.W005",
            )
        ]
    return []


#: How many times the router is asked where tokens are read: a router may pick a database at
#: random for each read (Django's documentation shows one), the primary among them.
ROUTER_SAMPLES = 10


def _check_replica_reads() -> list[CheckMessage]:
    """``durin.E011``: ``TokenAuthentication`` trusts whatever database it reads; with a
    router sending token reads to a replica, a token revoked on the primary is accepted
    there until the replica applies the revocation. ``CachedTokenAuthentication`` is not
    concerned: a revocation's stale marker sends the token's lookup to the primary."""
    from django.db import router

    from .models import AuthToken

    if not _plain_class_in_use():
        return []
    primary = router.db_for_write(AuthToken)
    replicas = {router.db_for_read(AuthToken) for _ in range(ROUTER_SAMPLES)} - {primary}
    if not replicas:
        return []
    names = ", ".join(repr(alias) for alias in sorted(replicas))
    return [
        Error(
            f"TokenAuthentication reads tokens from {names} (DATABASE_ROUTERS' db_for_read) "
            f"but revokes them on {primary!r}: a revoked token is accepted for as long as "
            "the replica lags behind.",
            hint="Use durin.auth.CachedTokenAuthentication, whose revocation markers send a "
            "revoked token's lookup to the primary; or have the router read durin's models "
            "(app label 'durin') from the primary. If that alias is the primary under "
            "another name, silence durin.E011.",
            id="durin.E011",
        )
    ]


def _plain_class_in_use() -> bool:
    """``TokenAuthentication`` (or a subclass that is not ``CachedTokenAuthentication``) is a
    default class or set on a view."""
    from .auth import CachedTokenAuthentication, TokenAuthentication

    classes = [*_default_auth_classes_imported(), *_view_auth_classes()]
    return any(
        isinstance(c, type)
        and issubclass(c, TokenAuthentication)
        and not issubclass(c, CachedTokenAuthentication)
        for c in classes
    )


def check_token_lifetimes(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """``durin.W006``, a database check: 1.1.0's ``create_client`` stored a zero lifetime."""
    from django.db.models import Q

    from .models import Client

    if not databases:
        return []
    try:
        names = sorted(
            {
                name
                for db in databases
                for name in Client.objects.using(db)
                .filter(Q(token_ttl__lt=MIN_TOKEN_TTL) | Q(max_token_lifetime__lt=MIN_TOKEN_TTL))
                .values_list("name", flat=True)
            }
        )
    except DatabaseError:  # Not migrated yet: nothing to say.
        return []
    return [
        Warning(
            f"The client {name!r} has a token_ttl or max_token_lifetime under one second: "
            "every token it issued would be expired at once, so logins through it are "
            "refused.",
            hint=f"Give it lifetimes: python manage.py create_client {name} --update "
            '--token-ttl "1 00:00:00" --max-token-lifetime none (or edit it in the admin).',
            id="durin.W006",
        )
        for name in names
    ]


def check_api_access_client(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """A database check: runs only when Django names databases (``check --database``, ``migrate``)."""
    from .models import Client

    name = durin_settings.API_ACCESS_CLIENT_NAME
    if not name or not databases:
        return []
    try:
        exists = any(
            name in Client.objects.using(db).filter(name=name).values_list("name", flat=True)
            for db in databases
        )  # compared in Python too: MySQL/MariaDB collations ignore case
    except DatabaseError:  # Not migrated yet: nothing to say.
        return []
    if exists:
        return []
    return [
        Warning(
            f"API_ACCESS_CLIENT_NAME is {name!r}, but no client has that name: the API "
            "access view answers 404 to every request.",
            hint=f"Create it: python manage.py create_client {name}",
            id="durin.W002",
        )
    ]


#: Caches that cannot hold failed-login counts: each process keeps its own, they keep
#: nothing, or their ``incr`` is a read then a write, so parallel attempts share a count.
UNFIT_THROTTLE_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps its counts per process",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing",
    "django.core.cache.backends.db.DatabaseCache": "cannot count atomically",
    "django.core.cache.backends.filebased.FileBasedCache": "cannot count atomically",
    "django.core.cache.backends.memcached.PyMemcacheCache": "evicts the least recently used keys",
    "django.core.cache.backends.memcached.PyLibMCCache": "evicts the least recently used keys",
}


def check_login_throttle_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``durin.E007``: the failed-login counts must be shared, atomic and not evictable."""
    alias = _user_settings().get("LOGIN_THROTTLE_CACHE")
    if alias is None or not isinstance(alias, str):  # the default, or E003's business
        return []
    caches = getattr(settings, "CACHES", {"default": {}})
    hint = (
        "Remove LOGIN_THROTTLE_CACHE to count in the database (the default), or name a "
        "Redis cache that never evicts (no maxmemory, or maxmemory-policy noeviction)."
    )
    if alias not in caches:
        return [
            Error(
                f"LOGIN_THROTTLE_CACHE is {alias!r}, but CACHES has no such cache.",
                hint=hint,
                id="durin.E007",
            )
        ]
    backend = caches[alias].get("BACKEND", "django.core.cache.backends.locmem.LocMemCache")
    if backend not in UNFIT_THROTTLE_CACHES:
        return []
    return [
        Error(
            f"LOGIN_THROTTLE_CACHE is {alias!r} ({backend.rsplit('.', 1)[-1]}), which "
            f"{UNFIT_THROTTLE_CACHES[backend]}: failed logins would not be counted for every "
            "process, so the login throttle could be bypassed.",
            hint=hint,
            id="durin.E007",
        )
    ]
