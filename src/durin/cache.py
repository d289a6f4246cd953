"""The token cache behind ``CachedTokenAuthentication``.

Entries are keyed by ``CACHE_KEY_PREFIX + namespace + ":" + digest`` and hold the token, its
user (password left out) and its client as plain field values. The namespace is an
HMAC of ``SECRET_KEY`` over the identity of the database tokens are written to, so
two deployments sharing one cache (no ``KEY_PREFIX``, even the same ``SECRET_KEY``)
never read each other's entries, markers or generation. Revoking or changing a
token writes a *stale* marker over its entry, visible at once to every process
sharing the cache; a reader never overwrites an existing entry (``cache.add``),
so a request that read the database just before a revocation cannot put the
revoked token back. A stale entry sends lookups to the database until it times out.

Cache failures never fail a request: reads fall back to the database, with one
warning per outage on the ``durin`` logger. A revocation made during an outage
cannot write its marker, while the entry it should cover may survive the outage
(a stalled or partitioned Redis keeps its data). So the process remembers the
markers it owes, and the first of its calls that the cache answers again writes,
in this order:

- the owed markers;
- a new *generation*. Every entry carries the generation its reader found in the
  cache, in the same round trip as the entry and before reading the database, and
  no process trusts an entry that carries an older one, including processes that
  never saw the outage.

The generation alone covers every entry written, and every database read made,
before the revocation. The owed markers cover a reader that finds the new
generation while its database still answers as before the revocation: a read
replica that lags, or a transaction whose snapshot is older. It would cache the
revoked token under the new generation, for every process, long after its
database caught up; the marker, there first, makes its ``cache.add`` fail, as a
marker written at once does outside an outage. Until both writes are made, the
outage goes on for every call of the process: one whose read may have come
before them trusts no entry.

A cache that answers reads but refuses writes (a Redis replica after a failover,
``MISCONF``, ``NOREPLICAS``, out of memory) looks healthy to a reader while the
markers of every revocation fail. So each process proves, at most once every
``CACHE_WRITE_CHECK_INTERVAL`` seconds, that the cache still takes a write; a
refused write is an outage like any other.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import math
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Iterable
from typing import Any, ClassVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import router
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from . import async_redis
from .constants import CACHE_KEY_PREFIX
from .models import AuthToken, Client
from .settings import durin_settings

logger = logging.getLogger("durin")

STALE = "stale"

#: Settings the namespace is derived from: a change to one of them draws it again.
DATABASE_SETTINGS = frozenset({"DATABASES", "DATABASE_ROUTERS"})
NAMESPACE_SETTINGS = DATABASE_SETTINGS | {"SECRET_KEY", "SECRET_KEY_FALLBACKS"}

#: The clock of the write check; monotonic, so that a change of the system time cannot skip it.
_clock = time.monotonic


def backend() -> BaseCache:
    return caches[durin_settings.TOKEN_CACHE_ALIAS]


#: Django's RedisCache -> the redis-py client its reads go through (see ``get_many``).
_redis_readers: weakref.WeakKeyDictionary[BaseCache, Any] = weakref.WeakKeyDictionary()
#: The same clients by the configuration they connect with (``async_redis.configuration``).
_redis_clients: dict[str, Any] = {}


def get_many(cache: BaseCache, keys: list[str]) -> dict[str, Any]:
    """``cache.get_many(keys)``, one round trip.

    Django's ``RedisCache`` builds a new redis-py client for every call, which costs
    more Python than the rest of a cache hit (the client copies its table of response
    callbacks). For that backend, with one server, the same read goes through one
    client kept per configuration, over the cache's own connection pool (redis-py's are
    thread-safe), keys and serializer. Per configuration, not per cache object: under
    ASGI, Django builds a cache object per request, each with a pool of its own, so each
    request would open a connection. Any other backend is asked as usual.
    """
    reader = _redis_readers.get(cache)
    if reader is None:
        if type(cache) is not RedisCache or len(cache._cache._servers) != 1:
            return cache.get_many(keys)
        configuration = async_redis.configuration(cache._cache)
        reader = _redis_clients.get(configuration)
        if reader is None:
            reader = _redis_clients[configuration] = cache._cache.get_client(None)
        _redis_readers[cache] = reader
    # durin's own keys (a prefix and hex digits) need no memcached-compatibility warning.
    made = [cache.make_key(key) for key in keys]
    loads = cache._cache._serializer.loads
    return {key: loads(value) for key, value in zip(keys, reader.mget(made)) if value is not None}


#: Backends that keep entries in the process: asking them never waits, so the event loop may.
_IN_PROCESS = (LocMemCache, DummyCache)


async def aget_many(cache: BaseCache, keys: list[str]) -> dict[str, Any]:
    """``get_many(cache, keys)`` for async callers, one round trip.

    Django's async cache API runs each sync call in a thread (and ``aget_many`` one per
    key) unless the backend brings its own. So: a backend that keeps entries in the
    process is asked directly; Django's ``RedisCache`` through a redis.asyncio client over
    the same server, options, keys and serializer (``durin.async_redis``); a backend with
    its own ``aget_many`` through it; any other in one thread hop.
    """
    if type(cache) in _IN_PROCESS:
        return cache.get_many(keys)
    reader = async_redis.reader(cache)
    if reader is not None:
        made = [cache.make_key(key) for key in keys]
        loads = cache._cache._serializer.loads
        values = await reader.mget(made)
        return {key: loads(value) for key, value in zip(keys, values) if value is not None}
    if type(cache).aget_many is not BaseCache.aget_many:
        return await cache.aget_many(keys)
    return await sync_to_async(get_many)(cache, keys)


@functools.cache
def _database_identity() -> str:
    """Engine, name, host and port of the database tokens are written to, and when durin's
    tables were created in it.

    The settings alone are not enough: two deployments built from one image can spell
    different servers alike (``db:5432/app``). The moment durin was first migrated into
    a database, as ``django_migrations`` records it, is the database's own: every
    process of a deployment reads the same one, another database has another. Every
    process must still spell the settings alike (one that reaches the database under
    another HOST or PORT is another deployment to the cache). One query, once per
    process.
    """
    alias = router.db_for_write(AuthToken)
    database = settings.DATABASES.get(alias, {})
    fields = [str(database.get(field) or "") for field in ("ENGINE", "NAME", "HOST", "PORT")]
    return json.dumps([*fields, _first_migrated(alias)])


def _first_migrated(alias: str) -> str:
    """When durin's first migration was applied to this database ("" if it was not)."""
    first = (
        MigrationRecorder.Migration.objects.using(alias)
        .filter(app=AuthToken._meta.app_label)
        .order_by("applied")
        .values_list("applied", flat=True)
        .first()
    )
    return first.isoformat() if first else ""


def _namespace_for(secret_key: str | bytes, identity: str) -> str:
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    mac = hmac.new(key, b"durin.cache:" + identity.encode(), hashlib.sha256)
    return mac.hexdigest()[:20]


@functools.cache
def namespaces() -> tuple[str, ...]:
    """This deployment's namespace, then those of its ``SECRET_KEY_FALLBACKS``.

    Derived once per process (and again when the settings it reads change), never
    per request. Entries are read and written in the first only; revocation markers
    go to all, so processes still running with a rotated-out key see them too.
    """
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    identity = _database_identity()
    return tuple(dict.fromkeys(_namespace_for(key, identity) for key in keys))


def reset_namespaces(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver, connected in ``DurinConfig.ready()``."""
    if setting in NAMESPACE_SETTINGS:
        namespaces.cache_clear()
    if setting in DATABASE_SETTINGS:
        _database_identity.cache_clear()
    if setting == "CACHES":  # Django closes its caches: the clients kept beside them go too
        _redis_clients.clear()
        async_redis.forget()
    if setting in ("CACHES", "REST_DURIN"):  # another token cache: ask about eviction again
        Eviction.next_at = -math.inf


def cache_key(digest: str, namespace: str | None = None) -> str:
    return f"{CACHE_KEY_PREFIX}{namespace or namespaces()[0]}:{digest}"


def generation_key() -> str:
    """Holds the current generation of this deployment's entries (a digest is hex, never this)."""
    return f"{CACHE_KEY_PREFIX}{namespaces()[0]}:generation"


def probe_key() -> str:
    """Written by the write check; read by no one."""
    return f"{CACHE_KEY_PREFIX}{namespaces()[0]}:probe"


def _marker_keys(digests: Iterable[str]) -> dict[str, str]:
    """Stale markers for these tokens in every namespace of this deployment."""
    return {cache_key(d, namespace): STALE for d in digests for namespace in namespaces()}


def _marker_timeout() -> int:
    """A marker must outlive any entry it covers."""
    return max(durin_settings.TOKEN_CACHE_TIMEOUT, 1)


class Outage:
    """Whether the cache is failing, and the markers this process owes it.

    An outage is logged once, not per request. The first call that the cache answers
    afterwards (``answered``) ends it: it writes the owed markers, then a new generation.
    Until both are written the outage goes on for the process's other calls, since a
    read made before them could trust an entry from before the outage (see ``read``).
    """

    failing = False
    owed: ClassVar[set[str]] = set()
    _ending = False  # a call is writing what ends the outage
    _failures = 0  # calls that failed: tells whether one failed while the outage was ending
    _lock = threading.Lock()

    @classmethod
    def failed(cls, exc: Exception, owed: Iterable[str] = ()) -> None:
        with cls._lock:
            cls.owed.update(owed)
            cls._failures += 1
            first, cls.failing = not cls.failing, True
        if first:
            logger.warning(
                "durin: the token cache %r failed (%s: %s); authenticating from the "
                "database until it answers again.",
                durin_settings.TOKEN_CACHE_ALIAS,
                type(exc).__name__,
                exc,
            )

    @classmethod
    def answered(cls) -> str | None:
        """After a call the cache answered: the new generation if this call ended an outage;
        ``None`` if there was none, another call is ending it, or one failed meanwhile.

        Raises if the cache fails again while the owed writes are made.
        """
        if not cls.failing:  # the hot path: one attribute read
            return None
        with cls._lock:
            if not cls.failing or cls._ending:
                return None
            cls._ending, owed, failures = True, set(cls.owed), cls._failures
        generation = new_generation()
        try:
            if owed:
                backend().set_many(_marker_keys(owed), _marker_timeout())
            # After the markers: a reader of the new generation finds them there.
            backend().set(generation_key(), generation, None)
        except BaseException:  # still failing (or interrupted): the same outage goes on
            with cls._lock:
                cls._ending = False
            raise
        with cls._lock:
            cls.owed -= owed
            cls._ending = False
            if cls._failures != failures:
                # A call failed meanwhile: the outage goes on (its markers stay owed), and
                # this call trusts nothing either.
                return None
            cls.failing = False
        logger.warning(
            "durin: the token cache %r answers again; %d revocation(s) made during the "
            "outage written to it, entries from before the outage no longer trusted.",
            durin_settings.TOKEN_CACHE_ALIAS,
            len(owed),
        )
        return generation


def _attnames(model: type[Model], leave_out: frozenset[str] = frozenset()) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname not in leave_out)


_user_model = functools.cache(get_user_model)  # as fixed as the schema _layout() reads


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


def _pack(token: AuthToken, generation: str) -> tuple[Any, ...]:
    token_fields, user_fields, client_fields = _layout()
    return (
        _fingerprint(),
        generation,
        token._state.db,
        tuple(getattr(token, name) for name in token_fields),
        tuple(getattr(token.user, name) for name in user_fields),
        tuple(getattr(token.client, name) for name in client_fields),
    )


def _unpack(entry: Any, generation: str) -> AuthToken | None:
    """The token an entry holds; ``None`` for a marker, or an entry of another schema or
    generation."""
    if (
        not isinstance(entry, tuple)
        or len(entry) != 6
        or entry[0] != _fingerprint()
        or entry[1] != generation
    ):
        return None
    _, _, db, token_values, user_values, client_values = entry
    token_fields, user_fields, client_fields = _layout()
    token = _loaded(AuthToken, db, token_fields, token_values)
    user = _loaded(_user_model(), db, user_fields, user_values)
    client = _loaded(Client, db, client_fields, client_values)
    AuthToken.user.field.set_cached_value(token, user)
    AuthToken.client.field.set_cached_value(token, client)
    return token


def _loaded(model: type[Model], db: str, names: tuple[str, ...], values: tuple) -> Any:
    """``model.from_db(db, names, values)``, minus the work no one could notice.

    ``from_db`` runs ``Model.__init__``, which sends ``pre_init``/``post_init`` and sets
    each field: a third of a cache hit. When the model keeps Django's own ``from_db``,
    assigning its fields does nothing more (``_plain_init``) and nothing listens to those
    signals for it, the instance is built directly, with the same attributes and state.
    """
    if (
        not _plain_init(model)
        or model.from_db.__func__ is not _FROM_DB  # type: ignore[attr-defined]
        or (pre_init.receivers and pre_init.has_listeners(model))
        or (post_init.receivers and post_init.has_listeners(model))
    ):
        return model.from_db(db, names, values)
    instance = model.__new__(model)
    state = instance._state = ModelState()
    state.adding, state.db = False, db
    instance.__dict__.update(zip(names, values))
    return instance


_FROM_DB = Model.from_db.__func__  # type: ignore[attr-defined]


@functools.cache
def _plain_init(model: type[Model]) -> bool:
    """Whether setting the fields in ``__dict__`` does all that ``Model.__init__`` would.

    No class of the model's MRO defines its own ``__init__`` (``Model.__init__`` ends with
    ``super()``'s, so a mixin after it runs too) or ``__setattr__``, and no field's
    descriptor does anything on assignment (a field's ``descriptor_class`` may); a foreign
    key's id descriptor only clears a related object, which a new instance has none of.
    """
    if any(
        "__init__" in vars(cls) or "__setattr__" in vars(cls)
        for cls in model.__mro__
        if cls not in (Model, object)
    ):
        return False
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    for field in model._meta.concrete_fields:
        descriptor = getattr(model, field.attname, None)
        if hasattr(descriptor, "__set__") and type(descriptor) not in plain:
            return False
    return True


def new_generation() -> str:
    """A generation, stamped with when it began (seconds since the epoch)."""
    return f"{int(time.time())}-{uuid.uuid4().hex}"


def settled(generation: str) -> bool:
    """Whether every marker written before ``generation`` began has expired.

    Until then, a new generation (a cache that was flushed, restarted, evicted its
    generation, or came back from an outage) may have lost the marker of a revocation
    made just before it: absence of a marker proves nothing, so a miss reads the
    primary, not a replica that may lag behind that revocation.
    """
    began, _, _ = generation.partition("-")
    try:
        return time.time() - int(began) >= _marker_timeout()
    except ValueError:  # a generation from before durin stamped them
        return True


def _first_generation(cache: BaseCache) -> str | None:
    """Start a generation in a cache that has none (new, flushed or evicted); ``None`` if
    another process got there first, since then which one won is unknown."""
    generation = new_generation()
    return generation if cache.add(generation_key(), generation, None) else None


async def _afirst_generation(cache: BaseCache) -> str | None:
    generation = new_generation()
    return generation if await cache.aadd(generation_key(), generation, None) else None


class WriteCheck:
    """When this process next proves that the cache takes writes.

    Once per ``CACHE_WRITE_CHECK_INTERVAL`` seconds at most, never per request: a
    request that is not due pays one clock read. During an outage no check is made,
    since every call then tries to write a new generation anyway.
    """

    next_at = -math.inf

    @classmethod
    def prove(cls, cache: BaseCache) -> None:
        """Raises what the cache raises if it refuses the write."""
        now = _clock()
        if now < cls.next_at or Outage.failing:
            return
        interval = durin_settings.CACHE_WRITE_CHECK_INTERVAL
        cls.next_at = now + interval
        cache.set(probe_key(), uuid.uuid4().hex, interval * 2)

    @classmethod
    async def aprove(cls, cache: BaseCache) -> None:
        now = _clock()
        if now < cls.next_at or Outage.failing:
            return
        interval = durin_settings.CACHE_WRITE_CHECK_INTERVAL
        cls.next_at = now + interval
        await cache.aset(probe_key(), uuid.uuid4().hex, interval * 2)


class Eviction:
    """Whether the token cache may evict a key under memory pressure; asked again at most
    once per ``CACHE_WRITE_CHECK_INTERVAL`` (an operator can change the policy any time).

    A marker evicted before it expires is a revocation forgotten. That is harmless when the
    miss that follows reads the primary, not when it reads a replica that still holds the
    token. So a miss reads a replica only when the cache provably keeps its keys: a Redis
    with no ``maxmemory``, or the ``noeviction`` policy. Any other backend (local memory
    culls past ``MAX_ENTRIES``; Memcached evicts) and a Redis that refuses ``CONFIG GET``
    cannot prove it.
    """

    possible = True
    next_at = -math.inf

    @classmethod
    def may_evict(cls) -> bool:
        now = _clock()
        if now >= cls.next_at:
            cls.next_at = now + durin_settings.CACHE_WRITE_CHECK_INTERVAL
            cls.possible = _evicts(backend())
        return cls.possible


def redis_client(cache: BaseCache) -> Any:
    """The redis-py client behind Django's ``RedisCache`` or django-redis, else ``None``."""
    django_client = getattr(cache, "_cache", None)
    if hasattr(django_client, "get_client"):
        return django_client.get_client(None, write=True)
    django_redis_client = getattr(cache, "client", None)
    if hasattr(django_redis_client, "get_client"):
        return django_redis_client.get_client(write=True)
    return None


def _evicts(cache: BaseCache) -> bool:
    client = redis_client(cache)
    if client is None:
        return True
    try:
        config = client.config_get("maxmemory*")
    except Exception:  # noqa: BLE001  CONFIG renamed or refused, or the cache is down
        return True
    bounded = bool(int(config.get("maxmemory") or 0))
    return bounded and config.get("maxmemory-policy") != "noeviction"


def read(digest: str) -> tuple[AuthToken | None, str | None]:
    """``(token or None, generation)``: a token from the cache, or else the generation to
    store what the caller reads from the database with (``None``: do not store it).

    The entry and the generation come in one round trip. Read *before* the database, the
    generation makes the stored entry untrusted if an outage ends in between.
    """
    key, generation_at = cache_key(digest), generation_key()
    fallbacks = _fallback_keys(digest)
    failing = Outage.failing  # read before the cache: see below
    try:
        cache = backend()
        found = get_many(cache, [key, generation_at, *fallbacks])
        WriteCheck.prove(cache)
        if failing or Outage.failing:
            # An outage was on when this read began, or began meanwhile: only the call that
            # ends it, writing the owed markers and a new generation, may use what it read.
            # Any other may have read before those writes: it trusts no entry, stores nothing.
            generation = Outage.answered()
            if generation is None:
                return None, None
            # This call ended the outage: the entry it read came before the markers it owed
            # were written, and a missing marker would let a lagging replica answer.
            found[key] = cache.get(key)
        else:
            generation = found.get(generation_at)
            if generation is None:
                # A new, flushed or evicted generation. A marker (or an entry) still there
                # says the cache knows of this token: the primary must answer, not a replica.
                started = _first_generation(cache)
                return None, (None if key in found else started)
    except Exception as exc:  # Any cache failure: the database is the source of truth.
        Outage.failed(exc)
        return None, None
    return _answer(found, key, generation, fallbacks)


def _fallback_keys(digest: str) -> list[str]:
    """The token's keys in the namespaces of ``SECRET_KEY_FALLBACKS`` (usually none): a
    process still on a rotated-out key writes its markers there only."""
    return [cache_key(digest, namespace) for namespace in namespaces()[1:]]


def _answer(
    found: dict[str, Any], key: str, generation: str, fallbacks: list[str]
) -> tuple[AuthToken | None, str | None]:
    """What ``read`` and ``aread`` answer once the cache gave ``found``."""
    if any(found.get(fallback) == STALE for fallback in fallbacks):
        return None, None  # revoked by a process on an older key: the primary decides
    entry = found.get(key)
    if entry is None:
        return None, generation
    return _unpack(entry, generation), None


async def aread(digest: str) -> tuple[AuthToken | None, str | None]:
    """``read`` for async callers, with the same answers: the cache is asked without a
    thread hop where it can be (``aget_many``); the rarer writes (the write check, a first
    generation, the end of an outage) go through Django's async cache API."""
    if not namespaces.cache_info().currsize:
        await sync_to_async(namespaces)()  # its first call per process reads the database
    key, generation_at = cache_key(digest), generation_key()
    fallbacks = _fallback_keys(digest)
    failing = Outage.failing  # read before the cache: see read()
    try:
        cache = backend()
        found = await aget_many(cache, [key, generation_at, *fallbacks])
        await WriteCheck.aprove(cache)
        if failing or Outage.failing:
            generation = await sync_to_async(Outage.answered)()
            if generation is None:
                return None, None
            found[key] = await cache.aget(key)  # after the owed markers: see read()
        else:
            generation = found.get(generation_at)
            if generation is None:
                started = await _afirst_generation(cache)  # see read()
                return None, (None if key in found else started)
    except Exception as exc:
        Outage.failed(exc)
        return None, None
    return _answer(found, key, generation, fallbacks)


def store(token: AuthToken, generation: str) -> None:
    """Cache ``token`` unless an entry (or a stale marker) is already there.

    ``generation`` is the one ``read`` gave before the token was read from the
    database. The entry lives no longer than ``TOKEN_CACHE_TIMEOUT`` or the token
    itself and, for a sliding (``auto_refresh``) client, than the moment its use is
    due for a write: a cache hit never writes. For other clients ``last_used`` is
    written on the next cache miss, so it lags by up to ``TOKEN_CACHE_TIMEOUT``.
    """
    now = timezone.now()
    seconds = [durin_settings.TOKEN_CACHE_TIMEOUT, (token.expiry - now).total_seconds()]
    interval = token.use_interval
    if token.client.auto_refresh and interval is not None and token.last_used is not None:
        seconds.append(interval - (now - token.last_used).total_seconds())
    timeout = math.floor(min(seconds))
    if timeout <= 0:
        return
    try:
        backend().add(cache_key(token.digest), _pack(token, generation), timeout)
    except Exception as exc:
        Outage.failed(exc)


def invalidate(digests: Iterable[str]) -> None:
    """Mark these tokens stale in every process, for as long as an entry could live.

    If the cache fails, the markers are owed and written once it answers again.
    """
    digests = list(digests)
    if not digests:
        return
    try:
        backend().set_many(_marker_keys(digests), _marker_timeout())
        Outage.answered()
    except Exception as exc:
        Outage.failed(exc, digests)
