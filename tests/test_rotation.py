"""Rotation with reuse detection (CONTRACT §9, RFC 9700 §4.14.2).

A client with ``rotate_on_refresh`` answers ``refresh/`` with a new token for the same
session; the replaced one works for ``ROTATION_GRACE_PERIOD``; presented after that, it is
reuse and the whole session is revoked, in every process, cached class included. These
tests commit for real (``transaction=True``): cache invalidation happens on commit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from durin import crypto
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.models import AuthToken, SupersededToken
from durin.signals import token_renewed, token_revoked
from durin.views import RefreshView

from .conftest import PASSWORD, Received, auth_header
from .test_concurrency import (
    in_threads,
    repeatable_read_atomic_requests,  # noqa: F401 (a fixture)
    serialization_failure,
)

pytestmark = pytest.mark.django_db(transaction=True)

GRACE = timedelta(seconds=30)  # ROTATION_GRACE_PERIOD's default
on_a_server_database = pytest.mark.skipif(
    "sqlite" in django_settings.DATABASES["default"]["ENGINE"],
    reason="real concurrency needs PostgreSQL or MariaDB (in-memory SQLite is one connection "
    "per thread): runs in bin/test's PostgreSQL and MariaDB passes",
)


@pytest.fixture
def app(make_client):
    return make_client("app", rotate_on_refresh=True, session_limit=None)


def log_in(api, client="app", **extra) -> str:
    body = {"username": "alice", "password": PASSWORD, "client": client}
    response = api.post(reverse("durin_login"), body, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def refresh(api, token):
    return api.post(reverse("durin_refresh"), **auth_header(token))


def rotated(api, token) -> str:
    response = refresh(api, token)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def status(api, token, view="whoami") -> int:
    response = api.get(reverse(view), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code


def detail(api, token) -> str:
    return api.get(reverse("whoami"), **auth_header(token)).json().get("detail")


def at(moment):
    return time_machine.travel(moment, tick=False)


# --- Rotation ------------------------------------------------------------------------------


def test_refresh_gives_the_same_session_a_new_token(api, user, app):
    with at(timezone.now()) as clock:
        first = log_in(api, HTTP_USER_AGENT="phone/1.0", REMOTE_ADDR="192.0.2.7")
        before = api.get(reverse("durin_tokensessions-list"), **auth_header(first)).json()
        clock.shift(timedelta(hours=1))
        with Received(token_renewed) as renewed:
            response = refresh(api, first)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"token", "expiry"}
    second = body["token"]
    assert second != first and crypto.has_valid_checksum(second)
    after = api.get(reverse("durin_tokensessions-list"), **auth_header(second)).json()
    assert len(before) == len(after) == 1
    kept = ("id", "client", "created", "ip_address", "user_agent", "authenticated_at")
    assert {field: after[0][field] for field in kept} == {field: before[0][field] for field in kept}
    assert before[0]["authenticated_at"] is not None
    assert after[0]["is_current"] and after[0]["expiry"] > before[0]["expiry"]
    session = AuthToken.objects.get()
    assert session.authenticated_at is not None
    assert session.digest == crypto.digest(second)
    assert [call["token_id"] for call in renewed] == [session.pk]
    history = SupersededToken.objects.get()
    assert (history.digest, history.session_id) == (crypto.digest(first), session.pk)
    assert second not in repr(list(SupersededToken.objects.values())) + repr(renewed)


def test_without_rotate_on_refresh_refresh_answers_the_expiry_as_in_1x(api, user, web):
    token = log_in(api, client="web")
    response = refresh(api, token)
    assert response.status_code == 200
    assert set(response.json()) == {"expiry"}
    assert status(api, token) == 200
    assert not SupersededToken.objects.exists()


def test_the_replaced_token_works_during_its_grace(api, user, app):
    with at(timezone.now()) as clock:
        first = log_in(api)
        second = rotated(api, first)
        clock.shift(GRACE - timedelta(milliseconds=1))
        assert status(api, first) == 200  # a request already in flight
        assert api.get(reverse("whoami"), **auth_header(first)).json()["username"] == "alice"
        assert status(api, second) == 200
    assert AuthToken.objects.count() == 1


@pytest.mark.parametrize("view", ["whoami", "cached-whoami"])
def test_after_its_grace_the_replaced_token_revokes_the_whole_session(api, user, app, view):
    with at(timezone.now()) as clock:
        first = log_in(api)
        second = rotated(api, first)
        assert status(api, second, view) == status(api, second, view) == 200  # cached, too
        session = AuthToken.objects.get()
        clock.shift(GRACE)
        with Received(token_revoked) as revoked:
            assert status(api, first, view) == 401
        assert detail(api, first) == "Invalid token."
        assert status(api, second, view) == 401  # at once, cache included
    assert [(call["token_id"], call["reason"]) for call in revoked] == [
        (session.pk, "reuse_detected")
    ]
    assert not AuthToken.objects.exists()
    assert not SupersededToken.objects.exists()  # the history went with the session


def test_a_refresh_with_the_replaced_token_in_its_grace_rotates_again(api, user, app):
    with at(timezone.now()) as clock:
        first = log_in(api)
        second = rotated(api, first)
        clock.shift(timedelta(seconds=10))
        third = rotated(api, first)  # a second request in flight with the first token
        assert len({first, second, third}) == 3
        for token in (first, second, third):
            assert status(api, token) == 200
        assert AuthToken.objects.count() == 1
        clock.shift(GRACE)  # the second token's grace ended too
        assert status(api, third) == 200
        assert status(api, second) == 401
    assert not AuthToken.objects.exists()


def test_any_earlier_token_of_a_long_session_is_reuse(api, user, app):
    with at(timezone.now()) as clock:
        tokens = [log_in(api)]
        for _ in range(5):
            clock.shift(timedelta(minutes=1))
            tokens.append(rotated(api, tokens[-1]))
        assert SupersededToken.objects.count() == 5
        assert status(api, tokens[-1]) == 200
        assert status(api, tokens[1]) == 401
        assert status(api, tokens[-1]) == 401


def test_a_grace_of_zero_makes_any_replaced_token_reuse_at_once(api, user, app, settings):
    settings.REST_DURIN = {"ROTATION_GRACE_PERIOD": timedelta(0)}
    first = log_in(api)
    second = rotated(api, first)
    assert status(api, first) == 401
    assert status(api, second) == 401


def test_a_detected_reuse_is_never_undone(api, user, app):
    with at(timezone.now()) as clock:
        first = log_in(api)
        second = rotated(api, first)
        clock.shift(GRACE)
        assert status(api, first) == 401
        assert refresh(api, second).status_code == 401
        assert refresh(api, first).status_code == 401
        assert status(api, second) == 401
        assert not AuthToken.objects.exists()
        assert status(api, log_in(api)) == 200  # logging in again starts a new session


def test_reuse_is_revoked_even_when_atomic_requests_rolls_the_request_back(
    api, user, app, monkeypatch
):
    """DRF rolls the request's transaction back when it answers 401: the revocation made
    inside it is made again once the request has finished."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    with at(timezone.now()) as clock:
        first = log_in(api)
        second = rotated(api, first)
        clock.shift(GRACE)
        with Received(token_revoked) as revoked:
            assert status(api, first) == 401
        assert not AuthToken.objects.exists()
        assert status(api, second) == 401
    assert [call["reason"] for call in revoked] == ["reuse_detected"] * 2  # made, and again


def test_the_cached_class_serves_the_current_token_and_never_the_replaced_one(
    api, user, app, monkeypatch, django_assert_num_queries
):
    # durin's views read the project's default classes when they are imported.
    monkeypatch.setattr(RefreshView, "authentication_classes", [CachedTokenAuthentication])
    cached = "cached-whoami"
    with at(timezone.now()) as clock:
        first = log_in(api)
        assert status(api, first, cached) == status(api, first, cached) == 200  # cached
        second = rotated(api, first)  # authenticated by a cache hit
        assert status(api, second, cached) == 200  # a miss, then cached
        with django_assert_num_queries(0):
            assert status(api, second, cached) == 200
        for _ in range(2):  # the replaced token is never served from the cache
            with django_assert_num_queries(2):  # not a token: then the history
                assert status(api, first, cached) == 200
        clock.shift(GRACE)
        assert status(api, first, cached) == 401
        assert status(api, second, cached) == 401


def test_the_current_tokens_lookup_costs_one_query_whatever_the_history(
    api, user, app, django_assert_num_queries
):
    token = log_in(api)
    for _ in range(10):
        token = rotated(api, token)
    with django_assert_num_queries(1):
        assert status(api, token) == 200


# --- Rotation and the rest of the session's life --------------------------------------------


def test_logout_with_the_replaced_token_in_its_grace_ends_the_session(api, user, app):
    first = log_in(api)
    second = rotated(api, first)
    assert api.post(reverse("durin_logout"), **auth_header(first)).status_code == 204
    assert status(api, second) == 401
    assert not SupersededToken.objects.exists()


def test_a_session_that_expired_is_expired_whichever_token_comes(api, user, make_client):
    make_client("short", rotate_on_refresh=True, token_ttl=timedelta(seconds=20))
    with at(timezone.now()) as clock:
        first = log_in(api, client="short")
        rotated(api, first)
        clock.shift(timedelta(seconds=25))  # past the session's expiry, within the grace
        assert detail(api, first) == "The given token has expired."
    assert not AuthToken.objects.exists()


def test_a_session_revoked_while_its_refresh_runs_stays_revoked(api, user, app, monkeypatch):
    """A logout commits between the refresh's authentication and its rotation."""
    first = log_in(api)
    record_use = TokenAuthentication.record_use.__func__

    def revoke_meanwhile(cls, auth_token, now):
        record_use(cls, auth_token, now)
        AuthToken.objects.filter(pk=auth_token.pk).delete()

    monkeypatch.setattr(TokenAuthentication, "record_use", classmethod(revoke_meanwhile))
    response = refresh(api, first)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"].startswith('Token error="invalid_token"')
    assert not AuthToken.objects.exists() and not SupersededToken.objects.exists()


def test_purging_expired_sessions_takes_their_history(api, user, app):
    from durin.services import purge_expired_tokens

    rotated(api, log_in(api))
    with at(timezone.now() + timedelta(days=2)):
        assert purge_expired_tokens() == 1
    assert not SupersededToken.objects.exists()


def test_the_session_list_shows_one_session_however_often_it_rotated(api, user, app):
    token = log_in(api)
    for _ in range(3):
        token = rotated(api, token)
    sessions = api.get(reverse("durin_tokensessions-list"), **auth_header(token)).json()
    assert [s["is_current"] for s in sessions] == [True]


# --- Races ---------------------------------------------------------------------------------


@on_a_server_database
def test_two_refreshes_with_the_same_token_at_once_both_succeed(user, app):
    first = log_in(APIClient())
    responses = in_threads(2, lambda api: refresh(api, first))
    assert [getattr(r, "status_code", r) for r in responses] == [200, 200]
    tokens = [r.json()["token"] for r in responses]
    assert len(set(tokens)) == 2
    session = AuthToken.objects.get()
    assert session.digest in {crypto.digest(t) for t in tokens}  # the later one is current
    for token in [first, *tokens]:  # in flight: every one of them works during the grace
        assert status(APIClient(), token) == 200


@on_a_server_database
def test_a_refresh_racing_a_logout_never_brings_the_session_back(user, app):
    for _ in range(5):
        first = log_in(APIClient())

        def either(api, index):
            if index == 0:
                return api.post(reverse("durin_logout"), **auth_header(first))
            return refresh(api, first)

        responses = in_threads(2, lambda api, counter=iter(range(2)): either(api, next(counter)))
        codes = sorted(getattr(r, "status_code", r) for r in responses)
        assert codes in ([200, 204], [204, 401]), codes
        assert not AuthToken.objects.exists()
        for response in responses:
            if response.status_code == 200:
                assert status(APIClient(), response.json()["token"]) == 401


@on_a_server_database
def test_replays_after_the_grace_racing_a_refresh_leave_nothing_alive(user, app):
    """Stolen first token replayed from several places as the legitimate client refreshes:
    whatever the order, the session ends revoked, and no token it handed out works."""
    with at(timezone.now()) as clock:
        first = log_in(APIClient())
        second = rotated(APIClient(), first)
        clock.shift(GRACE)
        counter = iter(range(6))

        def replay_or_refresh(api):
            return refresh(api, second) if next(counter) == 0 else refresh(api, first)

        responses = in_threads(6, replay_or_refresh)
    codes = [getattr(r, "status_code", r) for r in responses]
    assert set(codes) <= {200, 401}, codes
    assert codes.count(401) >= 5
    assert not AuthToken.objects.exists()
    for response in responses:
        if response.status_code == 200:
            assert status(APIClient(), response.json()["token"]) == 401
    assert status(APIClient(), second) == 401


@on_a_server_database
@pytest.mark.usefixtures("repeatable_read_atomic_requests")
def test_log_out_others_racing_rotations_under_repeatable_read_ends_the_session(user, app):
    """The device being logged out keeps refreshing while ``logoutothers/`` runs, each request
    in a REPEATABLE READ transaction: the revocation is retried, never a 500, and whatever
    token the rotations handed out is dead afterwards."""
    keeper, other = log_in(APIClient()), log_in(APIClient())
    tokens = iter([other] * 4)
    counter = iter(range(5))

    def logout_others_or_refresh(api):
        if next(counter) == 0:
            return "others", api.post(reverse("durin_logoutothers"), **auth_header(keeper))
        return "refresh", refresh(api, next(tokens))

    results = in_threads(5, logout_others_or_refresh)
    assert all(isinstance(result, tuple) for result in results), results
    (ended,) = [response for kind, response in results if kind == "others"]
    assert ended.status_code == 200, ended.content
    refreshes = [response for kind, response in results if kind == "refresh"]
    codes = [getattr(r, "status_code", r) for r in refreshes]
    assert all(code in (200, 401) or serialization_failure(code) for code in codes), codes
    assert status(APIClient(), keeper) == 200
    assert status(APIClient(), other) == 401
    for response in refreshes:
        if getattr(response, "status_code", None) == 200:
            assert status(APIClient(), response.json()["token"]) == 401
    assert AuthToken.objects.count() == 1
