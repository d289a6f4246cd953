"""An attacker's pass over issue 13: async authentication, django-ninja, ``token_required``,
read replicas (CONTRACT §3, §11, §12).

Every test here is a finding of that pass; the ones still marked strict xfail are not fixed
yet, and name the promise that breaks and why. What held is in the report of this pass.
"""

from __future__ import annotations

import gc
import shutil
from datetime import timedelta
from types import ModuleType
from typing import Any

import django
import pytest
import time_machine
from django.core import checks
from django.core.cache import cache
from django.test import Client as BrowserClient
from django.urls import path, reverse
from django.utils import timezone

from durin import cache as token_cache
from durin import lookup
from durin.models import AuthToken

from .conftest import PASSWORD, auth_header
from .regressions_async_views import PROJECT_CLASSES, REFUSED_CLIENT, Report
from .test_async import private_cache  # noqa: F401 (the fixture)
from .test_replicas import CACHED, counted, lagging_replica, log_in, on_primary, status

URLS = "tests.regressions_async_views"
FRONTENDS = ["token_required", "ninja"]


def _url(frontend: str, name: str, kind: str) -> str:
    if frontend == "ninja":
        pytest.importorskip("ninja", reason="django-ninja is not installed: NOT TESTED")
        return f"/atk/ninja/{name}/{kind}"
    return f"/atk/plain/{name}/{kind}/"


# --- A project's own class: its refusal skipped on every async path --------------------------


@pytest.mark.django_db
@pytest.mark.urls(URLS)
@pytest.mark.parametrize("name", PROJECT_CLASSES)
@pytest.mark.parametrize("frontend", FRONTENDS)
def test_a_project_classs_refusal_holds_on_async_views_too(api, user, make_client, frontend, name):
    """The same class guards a sync and an async view (or ninja operation); the sync one
    refuses the token, so must the async one."""
    token = AuthToken.objects.create(user, make_client(REFUSED_CLIENT))
    refused = api.get(_url(frontend, name, "sync"), **auth_header(token))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Not for command-line clients."}
    answered = api.get(_url(frontend, name, "async"), **auth_header(token))
    assert answered.status_code == 401, answered.content


# --- token_required under Django's LoginRequiredMiddleware -----------------------------------


@pytest.mark.skipif(
    django.VERSION < (5, 1),
    reason="LoginRequiredMiddleware exists from Django 5.1: NOT TESTED on this Django",
)
@pytest.mark.django_db
@pytest.mark.urls("tests.async_urls")
@pytest.mark.parametrize("view", ["plain-sync", "plain-async", "cached-sync", "cached-async"])
def test_token_required_answers_for_itself_under_login_required_middleware(token, settings, view):
    middleware = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]
    browser = BrowserClient()
    # DRF's views (durin's own included) are exempt: the token is what decides there.
    assert browser.get(reverse("durin_tokensessions-list"), **auth_header(token)).status_code == 200
    url = reverse(f"plain-{view}")
    assert browser.get(url, **auth_header(token)).status_code == 200
    unauthenticated = browser.get(url)
    assert unauthenticated.status_code == 401
    assert unauthenticated["WWW-Authenticate"] == "Token"


# --- durin.E011 and a token_required on one method of a class-based view ---------------------


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_e011_finds_token_required_on_a_class_based_views_method(api, user, web, settings):
    urlconf = ModuleType("atk_report_urls")
    urlconf.urlpatterns = [path("report/", Report.as_view())]  # type: ignore[attr-defined]
    settings.ROOT_URLCONF = urlconf
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": []}
    token = AuthToken.objects.create(user, web)
    with lagging_replica():
        AuthToken.objects.filter(pk=token.pk).delete()  # revoked on the primary
        # The view takes the revoked token from the replica: what E011 is there to refuse.
        assert api.get("/report/", **auth_header(token)).status_code == 200
        ids = [message.id for message in checks.run_checks()]
    assert "durin.E011" in ids


# --- Read replicas: what a lagging replica still decides -------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_revocation_holds_when_the_cache_is_flushed_while_the_replica_lags(api, user, web):
    """A flush takes the revocation's marker with it; the generation the next read starts is
    too new to vouch that no marker was lost, so the miss reads the primary, not the replica
    that still holds the revoked token."""
    token = AuthToken.objects.create(user, web)
    with lagging_replica():
        assert status(api, token, CACHED) == 200
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
        assert not on_primary(token)
        cache.clear()  # a Redis restarted without persistence, a FLUSHDB
        with counted() as read:
            answered = status(api, token, CACHED)
        assert (answered, read["replica"]) == (401, 0)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_slid_token_is_not_expired_by_a_replica_behind_its_extension(api, user, make_client):
    """A one-minute sliding client writes its use every 30 seconds; the replica lags 35
    seconds, well under TOKEN_CACHE_TIMEOUT (60), the limit the README gives for a lag."""
    sliding = make_client("web", auto_refresh=True, token_ttl=timedelta(minutes=1))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = AuthToken.objects.create(user, sliding)
    with lagging_replica():  # holds the token as issued: expiry start + 60 s
        with time_machine.travel(start + timedelta(seconds=40), tick=False):
            assert status(api, token, CACHED) == 200  # due: slides to start + 100 s
        extended = AuthToken.objects.using("default").get(pk=token.pk).expiry
        assert extended == start + timedelta(seconds=100)
        with time_machine.travel(start + timedelta(seconds=75), tick=False):
            answered = status(api, token, CACHED)
    assert (answered, on_primary(token)) == (200, True)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_reauthenticate_refuses_a_password_the_primary_no_longer_holds(api, user, web, settings):
    """With REVOKE_TOKENS_ON_PASSWORD_CHANGE off, a session survives a password change; a
    thief holding it and the old password must not get sudo mode (and mint API keys)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"],
    }
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_PASSWORD_CHANGE": False}
    stolen = log_in(api)
    with lagging_replica():
        user.set_password("a new passphrase, the old one leaked")
        user.save()
        # Logging in with the old password is refused: issuing checks the primary's row.
        body = {"username": "alice", "password": PASSWORD, "client": "web"}
        assert api.post(reverse("durin_login"), body, format="json").status_code == 400
        response = api.post(
            reverse("durin_reauthenticate"),
            {"password": PASSWORD},
            format="json",
            **auth_header(stolen),
        )
        assert response.status_code == 400, response.content


# --- An async view and the user of a cached hit ----------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs): a cache hit's user has no password hash (the cache never "
    "holds one; it is deferred, read on demand), so an async view that reads it without "
    "arefresh_from_db works on a miss and raises SynchronousOnlyOperation (a 500) on a hit",
)
@pytest.mark.django_db
@pytest.mark.urls(URLS)
@pytest.mark.parametrize("frontend", FRONTENDS)
def test_an_async_view_can_check_the_password_of_a_cached_hits_user(token, frontend):
    if frontend == "ninja":
        pytest.importorskip("ninja", reason="django-ninja is not installed: NOT TESTED")
    url = f"/atk/{'ninja' if frontend == 'ninja' else 'plain'}/password/"
    browser = BrowserClient(raise_request_exception=False)
    answers = [browser.get(url, **auth_header(token)) for _ in range(2)]  # a miss, then a hit
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json() for answer in answers] == [{"password_ok": True}] * 2


# --- An async view under WSGI and its Redis connection ---------------------------------------


@pytest.mark.skipif(
    not shutil.which("redis-server"), reason="needs redis-server on PATH: NOT TESTED"
)
@pytest.mark.django_db
@pytest.mark.urls("tests.async_urls")
def test_an_async_view_under_wsgi_leaves_no_redis_connection_open(
    private_cache,  # noqa: F811 (the fixture imported above)
    token,
    monkeypatch,
):
    """Under WSGI each async view runs in an event loop of its own; the Redis connection its
    read opened is closed when that loop shuts down, not whenever the collector runs."""
    monkeypatch.setattr(token_cache, "_clock", lambda: 0.0)  # one write check, at the start
    browser = BrowserClient()
    url = reverse("plain-cached-async")
    assert browser.get(url, **auth_header(token)).status_code == 200  # stores the entry
    gc.collect()
    before = private_cache.info("clients")["connected_clients"]
    gc.disable()  # what a busy process does between two collections, made certain
    try:
        for _ in range(10):
            assert browser.get(url, **auth_header(token)).status_code == 200
        opened = private_cache.info("clients")["connected_clients"] - before
    finally:
        gc.enable()
        gc.collect()
    assert opened <= 1, f"{opened} Redis connections left open by 10 requests"


# --- A database error that becomes a 401 -----------------------------------------------------


def _a_driver_that_cannot_decode_a_row(*args: Any, **kwargs: Any) -> Any:
    # mysqlclient raises this for a column whose bytes are not in the connection's charset.
    raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


@pytest.mark.django_db
@pytest.mark.urls("tests.async_urls")
@pytest.mark.parametrize(
    "url",
    ["/api/auth/sessions/", "/plain/plain-async/", "/plain/cached-async/"],
    ids=["drf", "token_required-plain-async", "token_required-cached-async"],
)
def test_a_database_that_cannot_decode_a_row_is_a_server_error(token, monkeypatch, url):
    monkeypatch.setattr(lookup, "_find_on", _a_driver_that_cannot_decode_a_row)
    browser = BrowserClient(raise_request_exception=False)
    assert browser.get(url, **auth_header(token)).status_code == 500
