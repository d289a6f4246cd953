"""``POST logoutothers/`` (CONTRACT §9): every other session of the user ends, this one and the
user's API keys go on.

These tests commit for real (``transaction=True``): cached entries are invalidated on commit,
and the point is that a revoked session is refused at once by the cached class too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from durin import cache as token_cache
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.models import AuthToken, Client
from durin.signals import token_revoked
from durin.views import LogoutOthersView

from .conftest import Received, auth_header

pytestmark = pytest.mark.django_db(transaction=True)
URL = "durin_logoutothers"
INVALID = {"detail": "Invalid token."}


def logout_others(api: APIClient, token: AuthToken | str) -> Any:
    return api.post(reverse(URL), **auth_header(token))


def works(api: APIClient, token: AuthToken | str) -> bool:
    """Whether ``token`` authenticates with both classes; a refusal must be "Invalid token."."""
    answers = [api.get(reverse(view), **auth_header(token)) for view in ("whoami", "cached-whoami")]
    for answer in answers:
        assert answer.status_code in (200, 401), answer.content
        if answer.status_code == 401:
            assert answer.json() == INVALID
    statuses = {answer.status_code for answer in answers}
    assert len(statuses) == 1, f"the two classes disagree: {statuses}"
    return statuses == {200}


def warm(api: APIClient, *tokens: AuthToken) -> None:
    """Each token served once by the cached class, so that its entry is in the cache."""
    for token in tokens:
        assert works(api, token)
        cached, _ = token_cache.read(token.digest)
        assert cached is not None and cached.pk == token.pk


@pytest.fixture(params=[TokenAuthentication, CachedTokenAuthentication], ids=["db", "cached"])
def auth_class(request, monkeypatch) -> type[TokenAuthentication]:
    """The class that authenticates the ``logoutothers/`` request itself."""
    monkeypatch.setattr(LogoutOthersView, "authentication_classes", [request.param])
    return request.param


@pytest.fixture
def clients(make_client: Callable[..., Client]) -> dict[str, Client]:
    """Two login clients that let a user hold several sessions, and the API-key client."""
    return {name: make_client(name, session_limit=None) for name in ("web", "mobile", "api")}


@pytest.fixture
def api_keys(settings) -> None:
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}


@pytest.fixture
def sessions(user, clients) -> dict[str, AuthToken]:
    """The current session (web), another on the same client and two on another client."""
    issue = AuthToken.objects.create
    return {
        "current": issue(user, clients["web"]),
        "same_client": issue(user, clients["web"]),
        "mobile_1": issue(user, clients["mobile"]),
        "mobile_2": issue(user, clients["mobile"]),
    }


def test_ends_the_other_sessions_at_once_and_keeps_this_one(api, sessions, auth_class):
    warm(api, *sessions.values())
    current = sessions.pop("current")

    response = logout_others(api, current)

    assert response.status_code == 200
    assert response.json() == {"revoked": 3}
    assert works(api, current)
    for name, other in sessions.items():
        assert not works(api, other), name
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [current.pk]


def test_keeps_the_api_keys_and_other_users_sessions(
    api, user, other_user, clients, sessions, api_keys, auth_class
):
    keys = [AuthToken.objects.create(user, clients["api"]) for _ in range(2)]
    strangers = [
        AuthToken.objects.create(other_user, clients["web"]),
        AuthToken.objects.create(other_user, clients["api"]),
    ]
    warm(api, *keys, *strangers)

    response = logout_others(api, sessions["current"])

    assert response.json() == {"revoked": 3}
    assert all(works(api, token) for token in (*keys, *strangers))


def test_expired_sessions_are_not_counted(api, user, clients, sessions):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        expired = AuthToken.objects.create(user, clients["mobile"])  # a day's ttl: gone by now

    with Received(token_revoked) as revoked:
        response = logout_others(api, sessions["current"])

    assert response.json() == {"revoked": 3}
    assert expired.pk not in {call["token_id"] for call in revoked}
    assert api.get(reverse("whoami"), **auth_header(expired)).json() == {
        "detail": "The given token has expired."
    }


def test_a_rotated_session_ends_with_every_token_it_had(api, user, make_client, sessions):
    """The token rotation replaced would still be in its grace: ending the session ends it."""
    rotating = make_client("app", session_limit=None, rotate_on_refresh=True)
    replaced = AuthToken.objects.create(user, rotating)
    refreshed = api.post(reverse("durin_refresh"), **auth_header(replaced))
    assert refreshed.status_code == 200
    rotated = refreshed.json()["token"]
    assert works(api, rotated) and works(api, replaced)  # the new one now cached

    assert logout_others(api, sessions["current"]).json() == {"revoked": 4}

    assert not works(api, rotated)
    assert not works(api, replaced)


def test_token_revoked_once_per_ended_session_never_for_this_one(api, user, sessions):
    current = sessions.pop("current")

    with Received(token_revoked) as revoked:
        logout_others(api, current)

    assert sorted(call["token_id"] for call in revoked) == sorted(t.pk for t in sessions.values())
    assert {call["reason"] for call in revoked} == {"logout_others"}
    assert {call["user_id"] for call in revoked} == {user.pk}
    assert all(call["request"] is not None for call in revoked)


def test_a_second_call_has_nothing_left_to_end(api, sessions, auth_class):
    assert logout_others(api, sessions["current"]).json() == {"revoked": 3}

    with Received(token_revoked) as revoked:
        response = logout_others(api, sessions["current"])

    assert response.status_code == 200
    assert response.json() == {"revoked": 0}
    assert revoked == []


def test_alone_ends_nothing(api, token):
    assert logout_others(api, token).json() == {"revoked": 0}
    assert works(api, token)


def test_without_a_token_is_401_and_ends_nothing(api, sessions):
    for headers in ({}, auth_header("not-a-durin-token")):
        response = api.post(reverse(URL), **headers)
        assert response.status_code == 401
        assert response.has_header("WWW-Authenticate")
    assert AuthToken.objects.count() == len(sessions)


def test_a_revoked_token_cannot_call_it(api, sessions):
    warm(api, sessions["same_client"])
    assert logout_others(api, sessions["current"]).json() == {"revoked": 3}

    response = logout_others(api, sessions["same_client"])

    assert response.status_code == 401
    assert response.json() == INVALID
    assert works(api, sessions["current"])


def test_get_is_405_and_ends_nothing(api, sessions):
    response = api.get(reverse(URL), **auth_header(sessions["current"]))
    assert response.status_code == 405
    assert AuthToken.objects.count() == len(sessions)


def test_with_an_api_key_ends_the_login_sessions_and_keeps_every_key(
    api, user, clients, sessions, api_keys, auth_class
):
    """An API key is a credential of its own, not a session: it ends the user's login
    sessions (all of them, none is "this one") and leaves the user's keys alone."""
    key, other_key = (AuthToken.objects.create(user, clients["api"]) for _ in range(2))
    warm(api, key, other_key, *sessions.values())

    response = logout_others(api, key)

    assert response.json() == {"revoked": 4}
    assert works(api, key) and works(api, other_key)
    assert not any(works(api, session) for session in sessions.values())


def test_without_an_api_key_client_every_other_session_ends(api, user, clients, sessions):
    """``API_ACCESS_CLIENT_NAME`` unset: a client named "api" is a client like any other."""
    AuthToken.objects.create(user, clients["api"])
    assert logout_others(api, sessions["current"]).json() == {"revoked": 4}


def test_the_key_client_is_named_exactly(api, user, make_client, sessions, settings):
    """MySQL/MariaDB's collations would find ``Keys`` for ``keys``: it is no key client."""
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "keys"}
    lookalike = AuthToken.objects.create(user, make_client("Keys", session_limit=None))
    warm(api, lookalike)

    assert logout_others(api, sessions["current"]).json() == {"revoked": 4}
    assert not works(api, lookalike)


def test_queries_with_three_other_sessions(api, sessions, api_keys, auth_class):
    """Besides authentication (none on a cache hit): the key client's row, then, in one
    transaction, a locking read of the other sessions, their rotation history and the rows
    deleted; after it, their clients for the signals. The same on every backend."""
    current = sessions["current"]
    warm(api, current)
    with CaptureQueriesContext(connection) as queries:
        assert logout_others(api, current).json() == {"revoked": 3}
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    lookup = ["SELECT"] if auth_class is TokenAuthentication else []
    assert statements == [*lookup, "SELECT", "BEGIN", "SELECT", "DELETE", "DELETE", "COMMIT",
                          "SELECT"]  # fmt: skip


# --- Two sessions of one user log each other out at once (PostgreSQL, MariaDB) ---------------


def in_threads(*calls: Callable[[APIClient], Any]) -> list[Any]:
    """Each call in a thread of its own, all released at the same instant."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(i: int) -> None:
        try:
            api = APIClient()
            barrier.wait()
            results[i] = calls[i](api)
        except Exception as exc:  # reported by the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.skipif(
    "sqlite" in django_settings.DATABASES["default"]["ENGINE"],
    reason="SQLite in memory is one connection per thread; this runs on PostgreSQL and MariaDB",
)
def test_two_sessions_logging_each_other_out_at_once(user, clients, api_keys):
    """Each request was authenticated before the other ended its session, or the later one
    is refused: both may end (each ended the other), or one goes on alone. Never a 500, never
    both left, and the API key stays."""
    key = AuthToken.objects.create(user, clients["api"])
    for _ in range(5):
        first, second = (AuthToken.objects.create(user, clients["web"]) for _ in range(2))
        bystander = AuthToken.objects.create(user, clients["mobile"])

        responses = in_threads(
            lambda api: logout_others(api, first), lambda api: logout_others(api, second)
        )

        statuses = [getattr(r, "status_code", r) for r in responses]
        assert set(statuses) <= {200, 401}, statuses
        assert 200 in statuses, statuses
        left = set(AuthToken.objects.filter(user=user).values_list("pk", flat=True))
        assert key.pk in left and bystander.pk not in left
        callers = left & {first.pk, second.pk}
        if statuses == [200, 200]:
            assert callers == set(), "each ended the other"
        else:
            survivor = first if statuses[0] == 200 else second
            assert callers == {survivor.pk}
            assert responses[statuses.index(401)].json() == INVALID
        revoked = sum(r.json()["revoked"] for r in responses if r.status_code == 200)
        assert revoked == 3 - len(callers)
        AuthToken.objects.filter(user=user).exclude(pk=key.pk).delete()
