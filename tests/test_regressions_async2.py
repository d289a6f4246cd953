"""A second attacker's pass over issue 13: async authentication, django-ninja,
``token_required``, read replicas, and the fixes of the first pass (CONTRACT §3, §11, §12).

Every test here is a finding of this pass; those still marked strict xfail are documented
limits, their reason names the promise that breaks and why. What held is in the report of
this pass.
"""

from __future__ import annotations

import django
import pytest
from django.test import Client as BrowserClient
from django.test import override_settings
from django.urls import reverse

from durin.models import AuthToken

from .conftest import auth_header
from .test_replicas import CACHED, counted, lagging_replica, on_primary, status

URLS = "tests.regressions_async2_views"
CLASS_BASED = ["atk2-notes", "atk2-async-notes"]


# --- token_required on one method of a class-based view (as the README shows) ----------------


@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs/ninja.md: decorate dispatch): token_required marks only the function "
    "it wraps csrf_exempt; on a method (method_decorator(token_required, name='post')) "
    "CsrfViewMiddleware "
    "looks at the view as_view() built, which is not exempt: a POST with a valid token "
    "and no CSRF cookie is a 403",
)
@pytest.mark.django_db
@pytest.mark.urls(URLS)
@pytest.mark.parametrize("name", CLASS_BASED)
def test_a_post_with_a_token_to_a_class_based_views_method_needs_no_csrf_token(
    token, settings, name
):
    middleware = "django.middleware.csrf.CsrfViewMiddleware"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]
    browser = BrowserClient(enforce_csrf_checks=True)
    answered = browser.post(reverse(name), **auth_header(token))
    assert answered.status_code == 201, answered.status_code


@pytest.mark.skipif(
    django.VERSION < (5, 1),
    reason="LoginRequiredMiddleware exists from Django 5.1: NOT TESTED on this Django",
)
@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs/ninja.md: decorate dispatch): token_required sets login_required=False "
    "on the function it wraps only; on a method LoginRequiredMiddleware reads the view "
    "as_view() built and redirects a request with a valid token to the login page",
)
@pytest.mark.django_db
@pytest.mark.urls(URLS)
@pytest.mark.parametrize("name", CLASS_BASED)
def test_a_class_based_views_method_answers_for_itself_under_login_required_middleware(
    token, settings, name
):
    middleware = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, middleware]
    answered = BrowserClient().get(reverse(name), **auth_header(token))
    assert answered.status_code == 200, (answered.status_code, answered.get("Location"))


# --- SECRET_KEY rotation: a revocation made by a process still on the old key ----------------

OLD_KEY, NEW_KEY = "an old secret key " * 3, "a new secret key " * 3


@pytest.mark.django_db
def test_a_logout_on_a_process_with_the_old_key_holds_on_one_with_the_new_key(
    api, token, django_capture_on_commit_callbacks
):
    rotated = override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    not_yet = override_settings(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[])
    whoami = reverse("cached-whoami")
    with rotated:  # a new process: its entry for the token is cached
        assert [api.get(whoami, **auth_header(token)).status_code for _ in "ab"] == [200, 200]
    with not_yet, django_capture_on_commit_callbacks(execute=True):  # an old process
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    with rotated:
        assert api.get(whoami, **auth_header(token)).status_code == 401


# --- Read replicas: a marker the cache evicts while its generation stays ---------------------

#: A cache under memory pressure: Django's local-memory cache culls its least recently used
#: keys, as Redis does under ``maxmemory-policy allkeys-lru`` or ``volatile-lru`` (markers
#: have a timeout, the generation has none: ``volatile-*`` never evicts the generation).
SMALL_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "durin-atk2-small",
    "OPTIONS": {"MAX_ENTRIES": 8, "CULL_FREQUENCY": 2},
}


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_revocation_holds_when_the_cache_evicts_its_marker_while_the_replica_lags(
    api, user, make_user, make_client, settings
):
    """A local-memory cache culls past MAX_ENTRIES, so it cannot prove it keeps a marker:
    its misses read the primary, never the lagging replica (durin.cache.Eviction)."""
    settings.CACHES = {**settings.CACHES, "small": SMALL_CACHE}
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": "small"}
    many = make_client("many", session_limit=None)
    victim = AuthToken.objects.create(user, many)
    others = [AuthToken.objects.create(make_user(f"user{i}"), many) for i in range(12)]
    with lagging_replica():
        assert status(api, victim, CACHED) == 200
        assert api.post(reverse("durin_logout"), **auth_header(victim)).status_code == 204
        assert not on_primary(victim)
        for other in others:  # other users' requests fill the cache
            assert status(api, other, CACHED) == 200
        with counted() as read:
            answered = status(api, victim, CACHED)
    assert (answered, read["replica"]) == (401, 0)
