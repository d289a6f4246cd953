"""redis.asyncio clients for Django's ``RedisCache``, so that an async cache hit never leaves
the event loop.

Django's ``RedisCache`` has no async methods of its own: its ``aget_many`` runs a sync
``get`` in a thread once per key. The same read through redis.asyncio is one round trip on
the loop itself. A redis.asyncio connection belongs to the loop that opened it, so clients
are kept per loop: an ASGI server runs one loop per process and keeps its client; an async
view under WSGI runs in a loop of its own per request, and a closed loop's clients are
dropped when the next loop asks for one.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache

#: id(loop) -> (the loop, weakly; its clients by cache configuration, ``None`` for one that
#: redis.asyncio cannot open with the same options).
_by_loop: dict[int, tuple[weakref.ref[asyncio.AbstractEventLoop], dict[str, Any]]] = {}


def reader(cache: BaseCache) -> Any | None:
    """A redis.asyncio client reading what ``cache`` holds, or ``None`` to ask it otherwise.

    Only for Django's own ``RedisCache`` with one server, its default connection pool and
    parser (a custom one has no async counterpart to take its place), inside a running loop.
    """
    if type(cache) is not RedisCache:
        return None
    client = cache._cache
    if len(client._servers) != 1 or client._pool_class is not client._lib.ConnectionPool:
        return None
    options = dict(client._pool_options)
    if options.pop("parser_class") is not client._lib.connection.DefaultParser:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    key = configuration(client)
    clients = _clients_of(loop)
    try:
        return clients[key]
    except KeyError:
        opened = clients[key] = _opened(client._servers[0], options)
        if opened is not None:
            clients[_closer_key(key)] = _closed_with_loop(opened)
        return opened


def configuration(client: Any) -> str:
    """What a ``RedisCache``'s client connects with: its caches may share one connection pool.

    Django builds a cache object (and a client, with a pool of its own) per thread, and under
    ASGI per request; the configuration stays the same.
    """
    pool_class = client._pool_class
    options = sorted(client._pool_options.items(), key=lambda item: item[0])
    return repr((client._servers, f"{pool_class.__module__}.{pool_class.__qualname__}", options))


def _opened(url: str, options: dict[str, Any]) -> Any | None:
    import redis.asyncio

    try:
        pool = redis.asyncio.ConnectionPool.from_url(url, **options)
        # The pool takes any option; a connection refuses one only the sync client knows
        # (its OCSP checks, a command packer). Made here, connecting nowhere, it tells.
        pool.connection_class(**pool.connection_kwargs)
    except TypeError:
        return None
    return redis.asyncio.Redis(connection_pool=pool)


def _closer_key(key: str) -> str:
    return "closer:" + key


def _closed_with_loop(client: Any) -> Any:
    """Close ``client``'s connections when its loop shuts down.

    asyncio closes a loop's live async generators before the loop itself
    (``shutdown_asyncgens``: ``asyncio.run``, asgiref's ``async_to_sync``, ASGI servers), so
    a generator started on the loop, holding the client, closes it then: under WSGI, where
    each async view gets a loop of its own, the connection ends with the request instead of
    waiting for the garbage collector.
    """

    async def closer() -> Any:
        try:
            yield
        finally:
            await client.connection_pool.disconnect()

    held = closer()
    try:  # the loop registers it now; up to its yield, it awaits nothing
        held.__anext__().send(None)
    except StopIteration:
        pass
    return held  # kept with the client: the loop only holds it weakly


def _clients_of(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    held = _by_loop.get(id(loop))
    if held is None or held[0]() is not loop:
        _forget_closed_loops()
        held = _by_loop[id(loop)] = (weakref.ref(loop), {})
    return held[1]


def _forget_closed_loops() -> None:
    for key, (ref, _) in list(_by_loop.items()):
        loop = ref()
        if loop is None or loop.is_closed():
            _by_loop.pop(key, None)


def forget() -> None:
    """Drop every client (the cache settings changed); their loops close their connections."""
    _by_loop.clear()
