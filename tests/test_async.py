"""The async twin, ``aauthenticate_credentials``, and the async cache read behind it (§11, §3).

Each case is asked of the sync method and of its twin, run through ``async_to_sync`` as a
sync test can: the twin's hop to the database comes back to the test's thread, so both see
the test database. Then the cache's async read: through an outage, a cache that refuses
writes, each kind of backend, and ``durin.async_redis``'s clients per event loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import time_machine
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from durin import async_redis, crypto, legacy
from durin import cache as token_cache
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.models import AuthToken
from durin.signals import token_expired, token_revoked

from .conftest import PASSWORD, BrokenCache, Received, auth_header, free_port, no_queries
from .thread_hops import counted_hops  # noqa: F401 (the fixture `hops`)

pytestmark = pytest.mark.django_db

CLASSES = [TokenAuthentication, CachedTokenAuthentication]
needs_redis_server = pytest.mark.skipif(
    not shutil.which("redis-server"), reason="needs redis-server on PATH (a private Redis)"
)


def outcome(call: Callable[[], Any]) -> tuple:
    """What authenticating answered: the user, token and client, or the refusal's code."""
    try:
        user, auth_token = call()
    except AuthenticationFailed as exc:
        return ("refused", exc.get_codes(), str(exc.detail))
    assert auth_token.user is user
    return ("ok", user.pk, auth_token.pk, auth_token.client.name)


def sync(cls: type[TokenAuthentication], token: Any) -> tuple:
    return outcome(lambda: cls.authenticate_credentials(token))


def asynchronously(cls: type[TokenAuthentication], token: Any) -> tuple:
    return outcome(lambda: async_to_sync(cls.aauthenticate_credentials)(token))


def as_a_fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token cache's per-process state as in a process that has seen no failure."""
    monkeypatch.setattr(token_cache.Outage, "failing", False)
    monkeypatch.setattr(token_cache.Outage, "owed", set())
    monkeypatch.setattr(token_cache.WriteCheck, "next_at", -float("inf"))


# --- The same answers as the sync method ---------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
@pytest.mark.parametrize("form", [str, str.encode], ids=["str", "bytes"])
def test_a_valid_token(cls, form, token, user, django_assert_num_queries):
    expected = ("ok", user.pk, token.pk, "web")
    with django_assert_num_queries(1):
        assert asynchronously(cls, form(token.token)) == expected
    assert sync(cls, form(token.token)) == expected
    if cls is CachedTokenAuthentication:  # cached by either: a hit, for either
        with no_queries():
            assert asynchronously(cls, form(token.token)) == expected
            assert sync(cls, form(token.token)) == expected


@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
@pytest.mark.parametrize(
    "presented",
    ["", "nope", "Z" * 70, "a" * 100_000, "caf\u00e9", "\u2603" * 64, b"nope", b"caf\xc3\xa9"],
    ids=["empty", "word", "no-checksum", "huge", "non-ascii", "snowmen", "bytes", "utf-8-bytes"],
)
def test_a_malformed_token_costs_nothing(cls, presented, token):
    with no_queries():
        assert asynchronously(cls, presented) == sync(cls, presented)
    assert sync(cls, presented) == ("refused", "token_invalid", "Invalid token.")


@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_bytes_that_are_not_utf8_raise_what_the_sync_method_raises(cls):
    """``aauthenticate`` turns it into durin's "invalid characters" 401, as ``authenticate``."""
    for call in (cls.authenticate_credentials, async_to_sync(cls.aauthenticate_credentials)):
        with pytest.raises(UnicodeDecodeError):
            call(b"\xff\xfe" * 32)


@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_a_token_that_is_gone_costs_two_queries(cls, django_assert_num_queries):
    unknown = crypto.generate_token(64)
    with django_assert_num_queries(2):  # the lookup, then the rotation history
        assert asynchronously(cls, unknown) == ("refused", "token_invalid", "Invalid token.")


@pytest.mark.django_db(transaction=True)  # deletions reach the cache on commit
@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_an_expired_token(cls, user, web, mobile):
    first, second = AuthToken.objects.create(user, web), AuthToken.objects.create(user, mobile)
    for each in (first, second):  # cached while valid: expiry is checked on a hit too
        assert asynchronously(cls, each.token)[0] == "ok"
    expected = ("refused", "token_expired", "The given token has expired.")
    with (
        time_machine.travel(max(first.expiry, second.expiry) + timedelta(seconds=1)),
        Received(token_expired) as expired,
    ):
        assert asynchronously(cls, first.token) == expected
        assert sync(cls, second.token) == expected
    assert not AuthToken.objects.exists()
    assert [(call["username"], call["source"]) for call in expired] == [("alice", "auth_token")] * 2
    assert asynchronously(cls, first.token) == ("refused", "token_invalid", "Invalid token.")


@pytest.mark.django_db(transaction=True)  # the user's change reaches the cache on commit
@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_an_inactive_user(cls, token, user, settings):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_DEACTIVATION": False}
    assert asynchronously(cls, token.token)[0] == "ok"
    user.is_active = False
    user.save()
    expected = ("refused", "user_inactive", "User inactive or deleted.")
    assert asynchronously(cls, token.token) == sync(cls, token.token) == expected


@pytest.fixture
def legacy_token(user, web) -> Iterator[tuple[str, AuthToken]]:
    """A 1.x token as the upgrade left it (see tests/test_legacy_tokens.py)."""
    legacy.forget()
    app, name = legacy.HASHING_MIGRATION
    upgraded = MigrationRecorder.Migration.objects.get(app=app, name=name).applied
    plaintext = secrets.token_hex(32)
    row = AuthToken(
        digest=crypto.digest(plaintext),
        user=user,
        client=web,
        created=upgraded - timedelta(days=1),
        expiry=timezone.now() + timedelta(days=7),
        last_used=timezone.now(),
    )
    row.save(force_insert=True)
    yield plaintext, row
    legacy.forget()


@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_a_1x_token_where_the_upgrade_found_some(cls, legacy_token, user, hops):
    plaintext, row = legacy_token
    assert asynchronously(cls, plaintext) == sync(cls, plaintext) == ("ok", user.pk, row.pk, "web")
    hops.clear()
    assert asynchronously(cls, plaintext)[0] == "ok"
    assert hops, "deciding on a 1.x-shaped token may query: it is decided in a hop"


@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_a_1x_shaped_token_on_a_fresh_install(cls, token):
    legacy.forget()
    try:
        shaped = secrets.token_hex(32)
        expected = ("refused", "token_invalid", "Invalid token.")
        assert asynchronously(cls, shaped) == expected  # learns there is no 1.x token, once
        with no_queries():
            assert asynchronously(cls, shaped) == sync(cls, shaped) == expected
    finally:
        legacy.forget()


GRACE = timedelta(seconds=30)  # ROTATION_GRACE_PERIOD's default


@pytest.fixture
def rotated(api, user, make_client) -> Callable[[], tuple[str, str]]:
    """Log in through a rotating client, refresh once: (replaced token, current token)."""
    make_client("app", rotate_on_refresh=True, session_limit=None)

    def rotate() -> tuple[str, str]:
        body = {"username": "alice", "password": PASSWORD, "client": "app"}
        first = api.post(reverse("durin_login"), body, format="json").json()["token"]
        response = api.post(reverse("durin_refresh"), **auth_header(first))
        assert response.status_code == 200, response.content
        return first, response.json()["token"]

    return rotate


@pytest.mark.django_db(transaction=True)  # revocations reach the cache on commit
@pytest.mark.parametrize("cls", CLASSES, ids=["plain", "cached"])
def test_a_replaced_token_in_its_grace_then_reused(cls, rotated, user):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first, second = rotated()
        session = AuthToken.objects.get()
        expected = ("ok", user.pk, session.pk, "app")
        assert asynchronously(cls, second) == expected
        clock.shift(GRACE - timedelta(milliseconds=1))
        assert asynchronously(cls, first) == sync(cls, first) == expected
        clock.shift(timedelta(milliseconds=1))
        with Received(token_revoked) as revoked:
            assert asynchronously(cls, first) == ("refused", "token_invalid", "Invalid token.")
        assert [(call["token_id"], call["reason"]) for call in revoked] == [
            (session.pk, "reuse_detected")
        ]
        assert asynchronously(cls, second) == ("refused", "token_invalid", "Invalid token.")
    assert not AuthToken.objects.exists()


# --- The cache's async read: outages, refused writes, backends -----------------------------


def test_an_outage_falls_back_to_the_database_with_one_warning(
    token, user, monkeypatch, caplog, django_assert_num_queries
):
    as_a_fresh_process(monkeypatch)
    monkeypatch.setattr(token_cache, "backend", lambda: BrokenCache())
    expected = ("ok", user.pk, token.pk, "web")
    with caplog.at_level(logging.WARNING, logger="durin"):
        for _ in range(5):
            with django_assert_num_queries(1):
                assert asynchronously(CachedTokenAuthentication, token.token) == expected
    warnings = [record for record in caplog.records if record.name == "durin"]
    assert len(warnings) == 1 and "failed" in warnings[0].getMessage()

    monkeypatch.setattr(token_cache, "backend", lambda: caches["default"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="durin"):
        assert asynchronously(CachedTokenAuthentication, token.token) == expected
    assert "answers again" in caplog.records[-1].getMessage()
    assert not token_cache.Outage.failing
    with no_queries():  # stored by the call that ended the outage
        assert asynchronously(CachedTokenAuthentication, token.token) == expected


def test_a_redis_nobody_answers_is_an_outage_not_a_401(token, user, monkeypatch, caplog, settings):
    """The redis.asyncio client's own failure (connection refused) goes the same way."""
    as_a_fresh_process(monkeypatch)
    settings.CACHES = {**settings.CACHES, "down": redis_cache(free_port())}
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": "down"}
    readers = recorded_readers(monkeypatch)
    valid = ("ok", user.pk, token.pk, "web")
    with caplog.at_level(logging.WARNING, logger="durin"):
        for _ in range(3):
            assert asynchronously(CachedTokenAuthentication, token.token) == valid
    assert readers and all(isinstance(reader, redis.asyncio.Redis) for reader in readers)
    warnings = [record for record in caplog.records if record.name == "durin"]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()


def redis_cache(port: int, location: str | None = None, **options: Any) -> dict[str, Any]:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": location or f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2, **options},
    }


def recorded_readers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What ``durin.async_redis.reader`` answers, each time the cache's async read asks."""
    readers: list[Any] = []
    original = async_redis.reader

    def recorded(cache: Any) -> Any:
        readers.append(original(cache))
        return readers[-1]

    monkeypatch.setattr(async_redis, "reader", recorded)
    return readers


class Clock:
    """The write check's clock, moved by hand."""

    now = 1000.0

    def __call__(self) -> float:
        return self.now


WRITE_CHECK_INTERVAL = 5  # the default CACHE_WRITE_CHECK_INTERVAL


@pytest.fixture
def private_cache(private_redis, settings, monkeypatch) -> Iterator[redis.Redis]:
    """The token cache on a private Redis, as seen by a fresh process; yields an admin client."""
    as_a_fresh_process(monkeypatch)
    settings.CACHES = {**settings.CACHES, "private": redis_cache(private_redis.port)}
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": "private"}
    with redis.Redis(host="127.0.0.1", port=private_redis.port) as admin:
        admin.flushall()
        yield admin


@needs_redis_server
@pytest.mark.django_db(transaction=True)  # revocations reach the cache on commit
def test_a_cache_that_refuses_writes_is_distrusted_within_the_interval(
    private_cache, monkeypatch, user, web, django_assert_num_queries
):
    """A Redis turned into a replica of an unreachable master answers reads and refuses
    writes: the async read's write check finds it out, as the sync one does."""
    clock = Clock()
    monkeypatch.setattr(token_cache, "_clock", clock)
    token = AuthToken.objects.create(user, web)
    valid = ("ok", user.pk, token.pk, "web")
    assert asynchronously(CachedTokenAuthentication, token.token) == valid  # proves, stores
    with no_queries():
        assert asynchronously(CachedTokenAuthentication, token.token) == valid
    private_cache.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    try:
        AuthToken.objects.filter(pk=token.pk).delete()  # its marker is refused
        # A process that saw nothing of it: it proved the cache writable a moment ago.
        monkeypatch.setattr(token_cache.Outage, "failing", False)
        monkeypatch.setattr(token_cache.Outage, "owed", set())
        clock.now += WRITE_CHECK_INTERVAL - 1
        with no_queries():  # the bound: trusted until its next write check
            assert asynchronously(CachedTokenAuthentication, token.token) == valid
        clock.now += 1
        with django_assert_num_queries(2):  # the check is refused: the database answers
            assert asynchronously(CachedTokenAuthentication, token.token)[1] == "token_invalid"
        assert token_cache.Outage.failing
    finally:
        private_cache.execute_command("REPLICAOF", "NO", "ONE")
    assert asynchronously(CachedTokenAuthentication, token.token)[1] == "token_invalid"
    assert not token_cache.Outage.failing


@needs_redis_server
def test_async_hits_on_one_loop_are_one_mget_each_over_one_connection(private_cache, token):
    """Counted by the server itself: five hits on one event loop (as under an ASGI server)
    are five MGETs, over one connection (its handshake, once), and nothing else."""
    assert asynchronously(CachedTokenAuthentication, token.token)[0] == "ok"  # stores it
    private_cache.config_resetstat()

    async def five_hits() -> list[Any]:
        return [
            await CachedTokenAuthentication.aauthenticate_credentials(token.token) for _ in range(5)
        ]

    with no_queries():
        assert [auth.pk for _, auth in asyncio.run(five_hits())] == [token.pk] * 5
    stats = private_cache.info("commandstats")
    counts = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    counts.pop("config|resetstat", None)
    assert counts.pop("mget") == 5
    handshake = {"hello", "select", "ping"}
    assert all(name in handshake or name.startswith("client|") for name in counts), counts
    assert set(counts.values()) <= {1}, counts


@pytest.mark.parametrize(
    ("kind", "queries"),
    [
        ("dummy", [1, 1, 1]),
        ("locmem", [1, 0, 0]),
        pytest.param("redis", [1, 0, 0], marks=needs_redis_server),
    ],
)
def test_each_backend_answers_as_the_sync_read(
    kind, queries, token, user, settings, request, hops, django_assert_num_queries, monkeypatch
):
    as_a_fresh_process(monkeypatch)
    monkeypatch.setattr(token_cache, "_clock", Clock())  # the write check: due once
    backends = {
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "a"},
    }
    if kind == "redis":
        backends["redis"] = redis_cache(request.getfixturevalue("private_redis").port)
    settings.CACHES = {**settings.CACHES, kind: backends[kind]}
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": kind}
    caches[kind].clear()
    valid = ("ok", user.pk, token.pk, "web")
    for count in queries:
        hops.clear()
        with django_assert_num_queries(count):
            assert asynchronously(CachedTokenAuthentication, token.token) == valid
        assert bool(hops) is bool(count)  # a miss goes on in a hop; a hit makes none
    assert sync(CachedTokenAuthentication, token.token) == valid


# --- durin.async_redis: one client per event loop ------------------------------------------


def a_redis_cache(location: str = "redis://127.0.0.1:6379/0", **options: Any) -> Any:
    """A RedisCache object: making a client connects nowhere, so no server is needed."""
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(location, {"OPTIONS": options})


def test_one_client_per_loop_and_a_closed_loops_is_dropped():
    cache = a_redis_cache()

    async def asked_twice() -> tuple[Any, Any, asyncio.AbstractEventLoop]:
        return async_redis.reader(cache), async_redis.reader(cache), asyncio.get_running_loop()

    first, again, first_loop = asyncio.run(asked_twice())
    assert isinstance(first, redis.asyncio.Redis) and again is first
    second, _, second_loop = asyncio.run(asked_twice())
    assert second is not first
    assert first_loop.is_closed()
    held = [ref() for ref, _ in async_redis._by_loop.values()]
    assert first_loop not in held and second_loop in held  # dropped once the next loop asked


def test_each_configuration_gets_its_own_client():
    async def both() -> tuple[Any, Any]:
        return (
            async_redis.reader(a_redis_cache("redis://127.0.0.1:6379/0")),
            async_redis.reader(a_redis_cache("redis://127.0.0.1:6379/1")),
        )

    zero, one = asyncio.run(both())
    assert zero is not one
    assert zero.connection_pool.connection_kwargs["db"] == 0
    assert one.connection_pool.connection_kwargs["db"] == 1


def test_no_client_outside_a_loop_or_for_another_backend():
    from django.core.cache.backends.locmem import LocMemCache

    assert async_redis.reader(a_redis_cache()) is None

    async def asked() -> Any:
        return async_redis.reader(LocMemCache("x", {}))

    assert asyncio.run(asked()) is None


class PoolOfOurOwn(redis.ConnectionPool):
    """A project's own connection pool: redis.asyncio has no counterpart to take its place."""


class ParserOfOurOwn(redis.connection.DefaultParser):
    """A project's own parser, likewise."""


@needs_redis_server
@pytest.mark.parametrize("setup", ["pool_class", "parser_class", "several-servers"])
def test_a_redis_cache_without_an_async_counterpart_is_asked_in_a_hop(
    setup, private_redis, settings, monkeypatch, token, user, hops
):
    as_a_fresh_process(monkeypatch)
    monkeypatch.setattr(token_cache, "_clock", Clock())
    location = f"redis://127.0.0.1:{private_redis.port}/0"
    options: dict[str, Any] = {
        "pool_class": {"pool_class": PoolOfOurOwn},
        # redis-py 6+ speaks RESP3 by default, which a RESP2 parser cannot read.
        "parser_class": {"parser_class": ParserOfOurOwn, "protocol": 2},
        "several-servers": {},
    }[setup]
    if setup == "several-servers":  # a primary and a replica (the same server, here)
        location = f"{location},{location}"
    settings.CACHES = {**settings.CACHES, "own": redis_cache(0, location, **options)}
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": "own"}
    caches["own"].clear()

    async def reader() -> Any:
        return async_redis.reader(caches["own"])

    assert asyncio.run(reader()) is None
    valid = ("ok", user.pk, token.pk, "web")
    assert asynchronously(CachedTokenAuthentication, token.token) == valid
    hops.clear()
    with no_queries():  # a hit all the same
        assert asynchronously(CachedTokenAuthentication, token.token) == valid
    assert hops == [token_cache.get_many]  # the read, in one hop
    assert not token_cache.Outage.failing


@needs_redis_server
def test_an_option_only_the_sync_client_knows_is_asked_in_a_hop_not_an_outage(
    private_redis, settings, monkeypatch, token, user, hops, caplog
):
    """redis.asyncio takes any option into its pool and refuses one it does not know only
    when it connects. Such a cache must be read in a hop, as the sync client reads it: not
    turned into an outage that sends every async request to the database (and draws a new
    generation, distrusting every entry, each time a sync request ends it)."""
    as_a_fresh_process(monkeypatch)
    monkeypatch.setattr(token_cache, "_clock", Clock())
    sync_only = {"command_packer": None}  # redis-py's sync connections alone take it
    settings.CACHES = {**settings.CACHES, "own": redis_cache(private_redis.port, **sync_only)}
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": "own"}
    caches["own"].clear()

    async def reader() -> Any:
        return async_redis.reader(caches["own"])

    assert asyncio.run(reader()) is None
    valid = ("ok", user.pk, token.pk, "web")
    with caplog.at_level(logging.WARNING, logger="durin"):
        assert asynchronously(CachedTokenAuthentication, token.token) == valid
        hops.clear()
        with no_queries():
            assert asynchronously(CachedTokenAuthentication, token.token) == valid
    assert hops == [token_cache.get_many]
    assert [record for record in caplog.records if record.name == "durin"] == []
    assert not token_cache.Outage.failing


def test_a_tls_option_only_the_sync_client_knows_gets_no_async_client():
    """OCSP checks exist in redis-py's sync TLS connections only (no server needed to see it:
    making the client connects nowhere)."""

    async def reader() -> Any:
        cache = a_redis_cache("rediss://127.0.0.1:6380/0", ssl_validate_ocsp=False)
        return async_redis.reader(cache)

    assert asyncio.run(reader()) is None


@needs_redis_server
def test_reads_through_a_cache_object_per_request_share_one_connection(private_redis):
    """Under ASGI, Django builds a cache object per request, each with a connection pool of
    its own; durin's sync reads (a sync view under ASGI) go through one pool per
    configuration, so requests do not each open a Redis connection."""
    from django.core.cache.backends.redis import RedisCache

    location = f"redis://127.0.0.1:{private_redis.port}/0"
    name = "durin-per-request-test"
    options = {"KEY_PREFIX": "per-request", "OPTIONS": {"client_name": name}}
    per_request = [RedisCache(location, options) for _ in range(5)]
    for cache in per_request:  # all alive at once, as concurrent requests' caches are
        assert token_cache.get_many(cache, ["a", "b"]) == {}
    with redis.Redis(port=private_redis.port) as admin:
        assert [client["name"] for client in admin.client_list()].count(name) == 1
