"""An attacker's own failed logins cannot evict the victim's count from LOGIN_THROTTLE_CACHE.

§12: counts "cannot be evicted by an attacker's own requests". E007 refuses Memcached
(it always evicts); a Redis cache passes the check, so durin reads its eviction policy on
every attempt and counts in the database when it may evict. On a Redis with a
``maxmemory`` and an evicting policy (the usual
setting for a cache: ``allkeys-lru``; ``volatile-*`` evicts these keys too, since
they all carry a TTL), every failed login under a fresh (unknown) username writes two
new keys, so an attacker who fails under random names pushes the victim's count out
and would get a fresh 10 guesses at the victim's password, as often as they liked.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
import redis
from django.core import checks
from django.test import override_settings
from django.urls import reverse

from .conftest import PASSWORD

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,  # half a minute of floods against a private Redis
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server on PATH"),
]


def attempt(api, username, password="wrong", ip="192.0.2.1"):
    body = {"username": username, "password": password, "client": "web"}
    return api.post(reverse("durin_login"), body, format="json", REMOTE_ADDR=ip)


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru"])
def test_an_attacker_cannot_evict_the_victims_count(policy, private_redis, api, user, web):
    location = f"redis://127.0.0.1:{private_redis.port}/0"
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
        },
    }
    with (
        redis.Redis(port=private_redis.port) as admin,
        # An hour's window: however long the floods take on a loaded machine, one window.
        override_settings(
            CACHES=caches_setting,
            REST_DURIN={"LOGIN_THROTTLE_CACHE": "throttle", "LOGIN_THROTTLE_RATE": "10/h"},
        ),
    ):
        admin.flushall()
        admin.config_set("maxmemory-policy", policy)
        attempt(api, "warm-up")  # Django's connection to the cache exists, as in production
        admin.config_set("maxmemory", admin.info("memory")["used_memory"] + 128 * 1024)
        try:
            # A cache the operator uses for everything else too: it passes the check.
            assert not [m for m in checks.run_checks() if m.id == "durin.E007"]

            guesses = 0
            for _round in range(3):
                while attempt(api, "alice").status_code == 400:  # guessing alice's password
                    guesses += 1
                assert attempt(api, "alice", PASSWORD).status_code == 429
                for _ in range(1200):  # failures under names no one has: cheap, never throttled
                    assert attempt(api, uuid.uuid4().hex).status_code == 400
                if attempt(api, "alice").status_code == 400:
                    guesses += 1
                    continue
                break
            # 10/h allows 10 guesses at alice's password from this address in this hour.
            assert guesses <= 10, f"{guesses} guesses at alice's password within one window"
        finally:
            admin.config_set("maxmemory", 0)
            admin.config_set("maxmemory-policy", "noeviction")
