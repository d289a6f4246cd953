"""``durin.decorators.token_required`` on plain Django views, sync and async (CONTRACT §11, §3).

The views are in tests/plain_views.py: each of sync and async, with the plain class and with
``authentication_class=CachedTokenAuthentication``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import iscoroutinefunction
from django.conf import settings as django_settings
from django.test import Client as BrowserClient
from django.urls import reverse

from durin import cache as token_cache
from durin import crypto
from durin.auth import CachedTokenAuthentication
from durin.decorators import token_required
from durin.models import AuthToken
from durin.signals import token_expired

from . import plain_views
from .conftest import Received, auth_header, no_queries
from .thread_hops import counted_hops  # noqa: F401 (the fixture `hops`)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.async_urls")]

VIEWS = list(plain_views.VIEWS)  # plain-sync, plain-async, cached-sync, cached-async
INVALID = "Invalid token."
NOT_PROVIDED = "Authentication credentials were not provided."
CHARACTERS = "Invalid token header. Token string should not contain invalid characters."


def url(view: str) -> str:
    return reverse(f"plain-{view}")


def ok(response: Any, view: str, token: AuthToken, method: str = "GET") -> None:
    assert response.status_code == 200, response.content
    assert response.json() == {
        "username": "alice",
        "auser": "alice" if view.endswith("async") else None,
        "auth_is_token": True,
        "token_id": token.pk,
        "client": token.client.name,
        "same_user": True,
        "method": method,
    }


def refused(response: Any, message: str, challenge: str | None = None) -> None:
    """401, DRF's body, and durin's challenge (``invalid_token`` unless given another)."""
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": message}
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == (
        challenge or f'Token error="invalid_token", error_description="{message}"'
    )


@pytest.mark.parametrize("view", VIEWS)
def test_a_valid_token_reaches_the_view(api, token, view):
    ok(api.get(url(view), **auth_header(token)), view, token)


@pytest.mark.parametrize("view", ["plain-sync", "plain-async"])
def test_the_plain_class_costs_one_query(api, token, view, django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(1):
            ok(api.get(url(view), **auth_header(token)), view, token)


@pytest.mark.parametrize("view", ["cached-sync", "cached-async"])
def test_the_cached_class_costs_one_query_then_none(api, token, view, django_assert_num_queries):
    with django_assert_num_queries(1):
        ok(api.get(url(view), **auth_header(token)), view, token)
    for _ in range(2):
        with django_assert_num_queries(0):
            ok(api.get(url(view), **auth_header(token)), view, token)


@pytest.mark.parametrize("view", VIEWS)
def test_a_token_that_is_gone_costs_two_queries(api, view, django_assert_num_queries):
    with django_assert_num_queries(2):  # the lookup, then the rotation history
        refused(api.get(url(view), **auth_header(crypto.generate_token(64))), INVALID)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("header", [None, "", "Bearer abc", "Basic cm9ib3Q6YmVlcA=="])
def test_no_header_or_another_scheme_is_401_with_the_challenge(api, view, header):
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    with no_queries():
        refused(api.get(url(view), **headers), NOT_PROVIDED, "Token")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(
    ("header", "message", "challenge"),
    [
        ("Token", "Invalid token header. No credentials provided.", "Token"),
        ("Token   ", "Invalid token header. No credentials provided.", "Token"),
        ("Token a b", "Invalid token header. Token string should not contain spaces.", None),
        ("Token not-a-token", INVALID, None),
        ("Token " + "A" * 64, INVALID, None),
        ("Token " + "a" * 100_000, INVALID, None),
        ("Token \u2603snowman", CHARACTERS, None),
        ("Token \xff\xfe\xfd", CHARACTERS, None),
        ("Token caf\xc3\xa9", INVALID, None),
    ],
    ids=[
        "prefix-alone",
        "prefix-and-spaces",
        "two-words",
        "malformed",
        "bad-checksum",
        "huge",
        "beyond-latin-1",
        "not-utf-8",
        "utf-8-not-a-token",
    ],
)
def test_refused_headers_cost_no_query(api, token, view, header, message, challenge):
    with no_queries():
        refused(api.get(url(view), HTTP_AUTHORIZATION=header), message, challenge)


@pytest.mark.parametrize("view", VIEWS)
def test_a_custom_prefix(api, token, view, settings):
    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": "Bearer"}
    ok(api.get(url(view), **auth_header(token, "Bearer")), view, token)
    refused(api.get(url(view), **auth_header(token)), NOT_PROVIDED, "Bearer")


@pytest.mark.django_db(transaction=True)  # the deletion must commit to reach the cache
@pytest.mark.parametrize("view", VIEWS)
def test_an_expired_token_is_refused_deleted_and_signalled(api, token, view):
    ok(api.get(url(view), **auth_header(token)), view, token)  # cached while valid
    with Received(token_expired) as expired:
        with time_machine.travel(token.expiry + timedelta(seconds=1)):
            refused(api.get(url(view), **auth_header(token)), "The given token has expired.")
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    assert [(call["username"], call["source"]) for call in expired] == [("alice", "auth_token")]
    refused(api.get(url(view), **auth_header(token)), INVALID)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("view", VIEWS)
def test_an_inactive_user_is_refused(api, token, user, view, settings):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_DEACTIVATION": False}
    ok(api.get(url(view), **auth_header(token)), view, token)
    user.is_active = False
    user.save()
    refused(api.get(url(view), **auth_header(token)), "User inactive or deleted.")


@pytest.mark.django_db(transaction=True)  # revocations reach the cache on commit
@pytest.mark.parametrize("revocation", ["logout", "password-change", "deactivation"])
def test_a_revocation_holds_on_the_very_next_request(api, token, user, revocation):
    for view in VIEWS:
        ok(api.get(url(view), **auth_header(token)), view, token)
    assert token_cache.read(token.digest)[0] is not None
    if revocation == "logout":
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    elif revocation == "password-change":
        user.set_password("another one")
        user.save()
    else:
        user.is_active = False
        user.save()
    for view in VIEWS:
        refused(api.get(url(view), **auth_header(token)), INVALID)


# --- CSRF, and what the decorator keeps of the view ------------------------------------------

CSRF_MIDDLEWARE = [*django_settings.MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]


@pytest.mark.parametrize("view", VIEWS)
def test_a_post_with_a_token_needs_no_csrf_token(token, view, settings):
    """A token is not a cookie: the view is exempt, as DRF's views are."""
    settings.MIDDLEWARE = CSRF_MIDDLEWARE
    browser = BrowserClient(enforce_csrf_checks=True)
    # The same browser is refused by a view that is not exempt: CSRF is checked here.
    assert browser.post(reverse("plain-unguarded")).status_code == 403
    ok(browser.post(url(view), **auth_header(token)), view, token, "POST")


@pytest.mark.parametrize("view", VIEWS)
def test_the_view_keeps_its_name_doc_and_kind(view):
    decorated = plain_views.VIEWS[view]
    assert decorated.__name__ == decorated.__wrapped__.__name__
    assert decorated.__name__.replace("cached_", "") in ("sync_view", "async_view")
    assert decorated.__doc__ == decorated.__wrapped__.__doc__
    assert decorated.__doc__.startswith("Who is asking")
    assert decorated.__module__ == "tests.plain_views"
    is_async = view.endswith("async")
    assert iscoroutinefunction(decorated) is is_async
    assert inspect.iscoroutinefunction(decorated) is is_async
    assert decorated.csrf_exempt is True


def test_the_decorator_with_empty_parentheses(token, rf):
    @token_required()
    def view(request: Any) -> Any:
        return request.auth

    assert view(rf.get("/", **auth_header(token))).pk == token.pk


# --- What runs where -------------------------------------------------------------------------


def test_an_async_cached_hit_makes_no_thread_hop(api, token, hops):
    ok(api.get(url("cached-async"), **auth_header(token)), "cached-async", token)
    assert hops and hops[-1] == CachedTokenAuthentication._accept_after_miss
    hops.clear()
    ok(api.get(url("cached-async"), **auth_header(token)), "cached-async", token)
    assert hops == []


def test_the_async_view_answers_a_cached_hit_on_the_loop_it_was_called_on(api, token, rf):
    """Called from a running loop (as under ASGI), the decorated view is a coroutine; with
    the token cached, it answers without a query."""
    ok(api.get(url("cached-sync"), **auth_header(token)), "cached-sync", token)
    request = rf.get("/", **auth_header(token))

    async def call() -> Any:
        return await plain_views.cached_async_view(request)

    with no_queries():
        response = asyncio.run(call())
    assert response.status_code == 200
    assert json.loads(response.content)["token_id"] == token.pk
