"""A Redis that answers reads but refuses writes is not trusted past CACHE_WRITE_CHECK_INTERVAL.

Each kind of refusal is provoked on a private ``redis-server`` (never the machine's
shared one): a replica of a master that cannot be reached (``READONLY``), a failed
snapshot with ``stop-writes-on-bgsave-error`` (``MISCONF``), ``min-replicas-to-write``
with no replica (``NOREPLICAS``), ``maxmemory`` with ``noeviction`` (``OOM``). In
each, a token is cached, then revoked in the database while its marker cannot be
written; a process that did not make the revocation, and had proved the cache
writable just before, keeps trusting the entry only until its next write check.

Time is the write check's clock, moved by hand: nothing here waits or measures.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from durin import cache as token_cache
from durin.models import AuthToken

from .conftest import auth_header, free_port

pytestmark = [
    pytest.mark.django_db(transaction=True),  # revocations reach the cache on commit
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server on PATH"),
]

ALIAS = "refusing"
INTERVAL = 5  # the default CACHE_WRITE_CHECK_INTERVAL


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(token_cache, "_clock", clock)
    return clock


def as_a_fresh_process(monkeypatch) -> None:
    """Durin's per-process state as in a process that has seen no failure."""
    monkeypatch.setattr(token_cache.Outage, "failing", False)
    monkeypatch.setattr(token_cache.Outage, "owed", set())
    monkeypatch.setattr(token_cache.WriteCheck, "next_at", -float("inf"))


@pytest.fixture
def server(private_redis, settings, monkeypatch, clock) -> Iterator[redis.Redis]:
    """CachedTokenAuthentication on the private Redis; yields a client to misconfigure it."""
    as_a_fresh_process(monkeypatch)
    options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    location = f"redis://127.0.0.1:{private_redis.port}/0"
    backend = "django.core.cache.backends.redis.RedisCache"
    caches_setting = {
        **settings.CACHES,
        ALIAS: {"BACKEND": backend, "LOCATION": location, "OPTIONS": options},
    }
    with (
        redis.Redis(host="127.0.0.1", port=private_redis.port) as admin,
        override_settings(CACHES=caches_setting, REST_DURIN={"TOKEN_CACHE_ALIAS": ALIAS}),
    ):
        admin.flushall()
        yield admin


@contextmanager
def replica_of_an_unreachable_master(admin: redis.Redis) -> Iterator[None]:
    admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    try:
        yield
    finally:
        admin.execute_command("REPLICAOF", "NO", "ONE")


@contextmanager
def snapshot_failed(admin: redis.Redis) -> Iterator[None]:
    """MISCONF: snapshots are configured and the last one failed (its directory is gone)."""
    directory = admin.config_get("dir")["dir"]
    admin.config_set("save", "3600 1")
    shutil.rmtree(directory)
    admin.bgsave()
    for _ in range(200):
        persistence = admin.info("persistence")
        if not persistence["rdb_bgsave_in_progress"]:
            break
        time.sleep(0.02)
    assert persistence["rdb_last_bgsave_status"] == "err", persistence
    try:
        yield
    finally:
        admin.config_set("save", "")  # no snapshots configured: writes are allowed again
        os.makedirs(directory, exist_ok=True)


@contextmanager
def no_replica_to_write_to(admin: redis.Redis) -> Iterator[None]:
    admin.config_set("min-replicas-to-write", 1)
    try:
        yield
    finally:
        admin.config_set("min-replicas-to-write", 0)


@contextmanager
def out_of_memory(admin: redis.Redis) -> Iterator[None]:
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)
    try:
        yield
    finally:
        admin.config_set("maxmemory", 0)


REFUSALS: dict[str, tuple[Callable[[redis.Redis], AbstractContextManager], str]] = {
    "READONLY": (replica_of_an_unreachable_master, "read only replica"),
    "MISCONF": (snapshot_failed, "MISCONF"),
    "NOREPLICAS": (no_replica_to_write_to, "NOREPLICAS"),
    "OOM": (out_of_memory, "maxmemory"),
}


def status(api, token: AuthToken) -> int:
    response = api.get(reverse("cached-whoami"), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code


def entry(token: AuthToken):
    return caches[ALIAS].get(token_cache.cache_key(token.digest))


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_revocation_whose_marker_is_refused_is_seen_within_the_interval(
    kind, server, clock, api, user, web, monkeypatch, django_assert_num_queries
):
    refusal, error = REFUSALS[kind]
    token = AuthToken.objects.create(user, web)
    assert status(api, token) == 200  # proves the cache writable at clock.now, stores the entry
    with django_assert_num_queries(0):
        assert status(api, token) == 200
    with refusal(server):
        with pytest.raises(redis.RedisError, match=error):
            server.set("anything", "x")
        # Process A revokes: the row goes, the marker is refused.
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
        assert isinstance(entry(token), tuple)  # the entry is still there, unmarked
        assert status(api, token) == 401  # A itself knows the cache failed

        # Process B saw nothing: it proved the cache writable when the token was cached.
        monkeypatch.setattr(token_cache.Outage, "failing", False)
        monkeypatch.setattr(token_cache.Outage, "owed", set())
        clock.now += INTERVAL - 1
        assert status(api, token) == 200  # the bound: trusted until its next write check
        clock.now += 1
        with django_assert_num_queries(2):  # the token, then the rotation history
            assert status(api, token) == 401  # the check is refused: the database answers
        assert token_cache.Outage.failing
    # Writes work again: B draws a new generation, so the unmarked entry is trusted by no one.
    assert isinstance(entry(token), tuple)
    assert status(api, token) == 401
    assert not token_cache.Outage.failing
    as_a_fresh_process(monkeypatch)  # and by a process that never saw any of it
    assert status(api, token) == 401


def commands(server: redis.Redis) -> dict[str, int]:
    """How many of each command durin sent the private Redis (``INFO commandstats``, less
    the test's own ``CONFIG RESETSTAT``)."""
    counts = {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in server.info("commandstats").items()
    }
    counts.pop("config|resetstat", None)
    return counts


def test_the_write_check_is_one_write_per_interval_never_per_request(server, clock, api, user, web):
    """Counted by the server itself: a hit is one MGET and nothing else."""
    token = AuthToken.objects.create(user, web)
    assert status(api, token) == 200
    server.config_resetstat()
    for _ in range(10):
        assert status(api, token) == 200
    assert commands(server) == {"mget": 10}  # a hit: one round trip, no write
    server.config_resetstat()
    clock.now += INTERVAL
    for _ in range(10):
        assert status(api, token) == 200
    assert commands(server) == {"mget": 10, "set": 1}


def test_the_interval_is_the_setting(server, clock, api, user, web):
    token = AuthToken.objects.create(user, web)
    with override_settings(
        REST_DURIN={"TOKEN_CACHE_ALIAS": ALIAS, "CACHE_WRITE_CHECK_INTERVAL": 1}
    ):
        assert status(api, token) == 200
        assert status(api, token) == 200
        with no_replica_to_write_to(server):
            AuthToken.objects.filter(pk=token.pk).delete()  # the marker is refused
            token_cache.Outage.failing = False  # as seen by another process
            token_cache.Outage.owed.clear()
            clock.now += 1
            assert status(api, token) == 401
