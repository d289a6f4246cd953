"""With reads routed to a replica, the cached class lets a miss read the replica only when the
token cache provably keeps its keys (``durin.cache.Eviction``): a stale marker evicted under
memory pressure would let a lagging replica answer for a revoked token. A private Redis here,
its eviction policy set by the test; tests/test_regressions_async2.py shows a local-memory
cache, which culls, reading the primary."""

from __future__ import annotations

import shutil

import pytest
import redis
from django.test import override_settings

from durin import cache as token_cache
from durin.models import AuthToken

from .test_replicas import CACHED, counted, lagging_replica, status

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
    pytest.mark.skipif(
        not shutil.which("redis-server"), reason="needs redis-server on PATH: NOT TESTED"
    ),
]


@pytest.fixture
def policy(private_redis, settings, monkeypatch):
    """The token cache on a private Redis; yields a function that sets its eviction policy
    (``None``: no ``maxmemory`` at all)."""
    location = f"redis://127.0.0.1:{private_redis.port}/0"
    caches = {
        **settings.CACHES,
        "evicting": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
        },
    }
    admin = redis.Redis(port=private_redis.port)
    clock = [1000.0]
    monkeypatch.setattr(token_cache, "_clock", lambda: clock[0])

    def set_policy(name: str | None) -> None:
        admin.config_set("maxmemory", "0" if name is None else "100mb")
        admin.config_set("maxmemory-policy", name or "noeviction")
        clock[0] += 3600  # past CACHE_WRITE_CHECK_INTERVAL: asked again

    with override_settings(CACHES=caches, REST_DURIN={"TOKEN_CACHE_ALIAS": "evicting"}):
        admin.flushall()
        yield set_policy
    admin.close()


@pytest.mark.parametrize(
    ("name", "replica_reads"),
    [(None, 1), ("noeviction", 1), ("allkeys-lru", 0), ("volatile-lru", 0), ("allkeys-random", 0)],
)
def test_a_miss_reads_the_replica_only_from_a_cache_that_keeps_its_keys(
    policy, api, user, web, name, replica_reads
):
    token = AuthToken.objects.create(user, web)
    with lagging_replica():  # the replica holds the token
        policy(name)
        with counted() as read:
            assert status(api, token, CACHED) == 200
    assert read["replica"] == replica_reads
    assert read["default"] == 1 - replica_reads


def test_a_policy_changed_at_run_time_is_seen_within_the_check_interval(policy, api, user, web):
    """An operator may set ``maxmemory`` on a running Redis: durin asks again at most once
    per CACHE_WRITE_CHECK_INTERVAL, never trusting an answer older than that."""
    token = AuthToken.objects.create(user, web)
    with lagging_replica():
        policy(None)
        with counted() as before:
            assert status(api, token, CACHED) == 200
        token_cache.backend().delete(token_cache.cache_key(token.digest))  # a miss again
        policy("allkeys-lru")
        with counted() as after:
            assert status(api, token, CACHED) == 200
    assert (before["replica"], after["replica"]) == (1, 0)
