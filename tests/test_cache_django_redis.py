"""django-redis with IGNORE_EXCEPTIONS loses revocations, so the system checks refuse it.

Shown for real: django-redis installed, a private ``redis-server`` stalled with SIGSTOP
(alive, data kept, answering nothing). The backend turns every failure into "nothing
there" or "done", so durin never learns of the outage: the marker of a logout made
meanwhile is dropped and owed to no one, and once Redis answers again the revoked
token's entry and generation are both intact. Durin cannot tell this apart from a
healthy cache, so the configuration is refused (durin.E006).
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import reverse

from durin import cache as token_cache
from durin.checks import check_settings
from durin.models import AuthToken

from .conftest import auth_header

pytest.importorskip("django_redis")

pytestmark = [
    pytest.mark.django_db(transaction=True),  # revocations reach the cache on commit
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server on PATH"),
]

ALIAS = "swallowing"


def django_redis_cache(port: int, **options) -> dict:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"SOCKET_TIMEOUT": 0.3, "SOCKET_CONNECT_TIMEOUT": 0.3, **options},
    }


@pytest.fixture
def swallowing(private_redis, settings, monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(token_cache.Outage, "failing", False)
    monkeypatch.setattr(token_cache.Outage, "owed", set())
    monkeypatch.setattr(token_cache.WriteCheck, "next_at", -float("inf"))
    caches_setting = {
        **settings.CACHES,
        ALIAS: django_redis_cache(private_redis.port, IGNORE_EXCEPTIONS=True),
    }
    with override_settings(
        CACHES=caches_setting,
        REST_DURIN={"TOKEN_CACHE_ALIAS": ALIAS},
        ROOT_URLCONF="tests.urls",  # routes CachedWhoAmIView: the cached class is in use
    ):
        yield


def status(api, token: AuthToken) -> int:
    response = api.get(reverse("cached-whoami"), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code


def test_ignore_exceptions_loses_a_revocation_and_is_refused(
    swallowing, private_redis, api, user, web, django_assert_num_queries
):
    token = AuthToken.objects.create(user, web)
    assert status(api, token) == 200
    with django_assert_num_queries(0):
        assert status(api, token) == 200
    private_redis.send_signal(signal.SIGSTOP)
    try:
        # Requests go on meanwhile; their timed-out connections are dropped, so the marker's
        # write waits on a new connection that never gets an answer (a partition, in effect).
        for _ in range(2):
            assert status(api, token) == 200  # from the database: the cache "has nothing"
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
        assert status(api, token) == 401
    finally:
        private_redis.send_signal(signal.SIGCONT)
    assert not token_cache.Outage.failing and not token_cache.Outage.owed  # nothing noticed
    # Why it is refused: the logged-out token is served from its old entry again.
    assert status(api, token) == 200

    assert [m.id for m in check_settings()] == ["durin.E006"]
    with pytest.raises(SystemCheckError, match="durin.E006"):
        call_command("check")


def test_the_same_backend_raising_its_errors_is_accepted(private_redis, settings):
    caches_setting = {**settings.CACHES, ALIAS: django_redis_cache(private_redis.port)}
    with override_settings(
        CACHES=caches_setting, REST_DURIN={"TOKEN_CACHE_ALIAS": ALIAS}, ROOT_URLCONF="tests.urls"
    ):
        assert [m.id for m in check_settings()] == []
