"""A real Redis outage: requests keep working, and no revoked token comes back afterwards.

The Redis here is a private ``redis-server`` on a free loopback port, never the
machine's shared one. The outage is SIGSTOP: the server stays alive with its data
but answers nothing, as a stalled or partitioned Redis does; SIGCONT ends it with
every entry written before the outage still there. That is the dangerous case: a
token revoked during the outage still has its entry in the cache.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
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

ALIAS = "outage"
#: Short, so that each request during the outage waits this long, not the OS default.
TIMEOUT = 0.3


@pytest.fixture
def outage_cache(private_redis, settings, monkeypatch) -> Iterator[subprocess.Popen]:
    """CachedTokenAuthentication on the private Redis, in a process that saw no outage yet."""
    monkeypatch.setattr(token_cache.Outage, "failing", False)
    monkeypatch.setattr(token_cache.Outage, "owed", set())
    location = f"redis://127.0.0.1:{private_redis.port}/0"
    options = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    caches_setting = {
        **settings.CACHES,
        ALIAS: {**redis_cache, "LOCATION": location, "OPTIONS": options},
    }
    with override_settings(CACHES=caches_setting, REST_DURIN={"TOKEN_CACHE_ALIAS": ALIAS}):
        caches[ALIAS].clear()
        yield private_redis


@contextmanager
def stalled(process: subprocess.Popen) -> Iterator[None]:
    """Redis alive, data kept, answering nothing."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def status(api, token: AuthToken) -> int:
    response = api.get(reverse("cached-whoami"), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code


def entry(token: AuthToken):
    """What the cache holds for ``token``, read directly."""
    return caches[ALIAS].get(token_cache.cache_key(token.digest))


@pytest.fixture
def warm_tokens(outage_cache, user, make_client, django_assert_num_queries, api):
    """Two tokens of one user, each served from the Redis cache with no query."""
    client = make_client("web", session_limit=None)
    tokens = [AuthToken.objects.create(user, client) for _ in range(2)]
    for token in tokens:
        for _ in range(3):
            assert status(api, token) == 200
        with django_assert_num_queries(0):
            assert status(api, token) == 200
        assert isinstance(entry(token), tuple)
    return tokens


def durin_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "durin"]


def logout_during_outage(api, caplog, outage_cache, kept: AuthToken, revoked: AuthToken) -> None:
    with caplog.at_level(logging.WARNING, logger="durin"), stalled(outage_cache):
        for _ in range(3):
            assert status(api, kept) == 200  # from the database
        assert api.post(reverse("durin_logout"), **auth_header(revoked)).status_code == 204
        assert status(api, revoked) == 401
        assert status(api, kept) == 200
    warnings = durin_warnings(caplog)
    assert len(warnings) == 1 and "failed" in warnings[0], warnings
    caplog.clear()
    # The outage is over and the revoked token's entry survived it: the marker never got there.
    cached = entry(revoked)
    assert isinstance(cached, tuple) and revoked.digest in cached[-3]


def test_outage_then_recovery_accepts_no_token_revoked_meanwhile(
    warm_tokens, outage_cache, api, caplog, django_assert_num_queries
):
    kept, revoked = warm_tokens
    logout_during_outage(api, caplog, outage_cache, kept, revoked)
    with caplog.at_level(logging.WARNING, logger="durin"):
        assert status(api, revoked) == 401
    assert entry(revoked) == token_cache.STALE  # the owed marker, written on recovery
    assert ["answers again" in w for w in durin_warnings(caplog)] == [True]
    # The live token's entry predates the outage: trusted no more, it sends the token to the
    # database until it times out, since a reader may not overwrite an entry.
    with django_assert_num_queries(1):
        assert status(api, kept) == 200
    # Entries written from now on are trusted: a new token is served without a query.
    fresh = AuthToken.objects.create(kept.user, kept.client)
    assert status(api, fresh) == 200
    with django_assert_num_queries(0):
        assert status(api, fresh) == 200


def test_a_lost_marker_is_covered_by_the_new_generation(warm_tokens, outage_cache, api, caplog):
    """The process that revoked during the outage is gone, its owed marker with it."""
    kept, revoked = warm_tokens
    logout_during_outage(api, caplog, outage_cache, kept, revoked)
    token_cache.Outage.owed.clear()
    # Another request ends the outage for this process: it draws a new generation...
    assert status(api, kept) == 200
    # ...so the revoked token's entry, still there, is trusted by no process, even one
    # that never saw the outage.
    assert isinstance(entry(revoked), tuple)
    assert status(api, revoked) == 401


def test_a_server_that_is_down_fails_fast(warm_tokens, outage_cache, api, caplog, settings):
    """Connection refused (Redis stopped, not stalled): the database answers, one warning."""
    kept, _ = warm_tokens
    with (
        override_settings(
            CACHES={
                **settings.CACHES,
                ALIAS: {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                },
            },
            REST_DURIN={"TOKEN_CACHE_ALIAS": ALIAS},
        ),
        caplog.at_level(logging.WARNING, logger="durin"),
    ):
        for _ in range(5):
            assert status(api, kept) == 200
    assert len(durin_warnings(caplog)) == 1
