"""Session limits hold under real concurrent requests (real threads, a real server database)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from durin.models import AuthToken

from .conftest import PASSWORD, auth_header

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite in memory is one connection per thread; this runs in the PostgreSQL pass",
    ),
]


def in_threads(count: int, request: Callable[[APIClient], Any]) -> list[Any]:
    """Run ``request`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def work(i: int) -> None:
        try:
            api = APIClient()
            barrier.wait()
            results[i] = request(api)
        except Exception as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.parametrize("limit", [1, 3])
def test_fifty_concurrent_logins_leave_at_most_the_limit(user, make_client, limit, settings):
    # The login throttle reserves each attempt before its password is checked, so at
    # most LOGIN_THROTTLE_RATE attempts of one (address, account) are in flight at once.
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": "50/m"}
    client = make_client("web", session_limit=limit)
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    responses = in_threads(50, lambda api: api.post(reverse("durin_login"), body, format="json"))

    assert [getattr(r, "status_code", r) for r in responses] == [200] * 50
    tokens = [r.json()["token"] for r in responses]
    assert len(set(tokens)) == 50
    live = AuthToken.objects.filter(user=user, client=client)
    assert live.count() == limit
    check = APIClient()
    answers = {t: check.get(reverse("whoami"), **auth_header(t)) for t in tokens}
    valid = [t for t, a in answers.items() if a.status_code == 200]
    assert len(valid) == limit
    refused = [a for a in answers.values() if a.status_code != 200]
    assert all(a.status_code == 401 and a.json() == {"detail": "Invalid token."} for a in refused)


def test_concurrent_api_key_requests_issue_exactly_one(user, make_client, settings):
    make_client("api", session_limit=None)
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    login = AuthToken.objects.create(user, make_client("web"))
    responses = in_threads(
        10, lambda api: api.post(reverse("durin_apiaccess"), **auth_header(login))
    )
    codes = sorted(getattr(r, "status_code", r) for r in responses)
    assert codes == [201] + [400] * 9
    assert AuthToken.objects.filter(user=user, client__name="api").count() == 1


def test_logout_racing_refresh_never_resurrects(user, make_client):
    client = make_client("web", session_limit=None)

    def logout_then_refresh(api: APIClient, token: AuthToken) -> list[Any]:
        return [
            api.post(reverse("durin_logout"), **auth_header(token)),
            api.post(reverse("durin_refresh"), **auth_header(token)),
        ]

    for _ in range(5):
        token = AuthToken.objects.create(user, client)
        results = in_threads(2, lambda api, token=token: logout_then_refresh(api, token))
        codes = {r.status_code for pair in results for r in pair}
        assert codes <= {200, 204, 401}, codes
        assert not AuthToken.objects.filter(digest=token.digest).exists()


def test_a_password_change_racing_a_login_wins(user, make_client):
    """The login checked the old password; the change commits before the token is issued."""
    from django.contrib.auth import get_user_model

    from durin import services

    client = make_client("web")
    checked = get_user_model().objects.get(pk=user.pk)  # what the login authenticated
    changed = get_user_model().objects.get(pk=user.pk)
    changed.set_password("new password")
    changed.save()
    with pytest.raises(services.CredentialsChanged):
        services.issue_token(checked, client, verify_user=True)
    assert not AuthToken.objects.exists()


# --- Snapshot isolation: REPEATABLE READ with ATOMIC_REQUESTS (MariaDB's default level) ---


@pytest.fixture
def repeatable_read_atomic_requests(monkeypatch):
    """Every connection opened from now on runs REPEATABLE READ, each request in a transaction."""
    if connection.vendor == "postgresql":
        from psycopg import IsolationLevel

        level: Any = IsolationLevel.REPEATABLE_READ
    else:
        level = "repeatable read"
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    options = {**connection.settings_dict.get("OPTIONS", {}), "isolation_level": level}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    connection.close()
    yield
    connection.close()


def serialization_failure(result: Any) -> bool:
    """PostgreSQL may refuse a snapshot that went stale instead of acting on it: acceptable."""
    from django.db import OperationalError

    return isinstance(result, OperationalError) and "could not serialize" in str(result)


@pytest.mark.parametrize("limit", [1, 2])
def test_parallel_logins_under_repeatable_read_respect_the_limit(
    user, make_client, limit, repeatable_read_atomic_requests
):
    client = make_client("web", session_limit=limit)
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    responses = in_threads(8, lambda api: api.post(reverse("durin_login"), body, format="json"))

    ok = [r for r in responses if getattr(r, "status_code", None) == 200]
    assert all(r in ok or serialization_failure(r) for r in responses), responses
    assert ok  # a login retried after a serialization failure gets through
    assert AuthToken.objects.filter(user=user, client=client).count() == limit
    check = APIClient()
    valid = [
        r
        for r in ok
        if check.get(reverse("whoami"), **auth_header(r.json()["token"])).status_code == 200
    ]
    assert len(valid) == limit


def test_parallel_api_key_requests_under_repeatable_read_issue_one(
    user, make_client, settings, repeatable_read_atomic_requests
):
    make_client("api", session_limit=None)
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    login = AuthToken.objects.create(user, make_client("web", session_limit=None))
    responses = in_threads(
        6, lambda api: api.post(reverse("durin_apiaccess"), **auth_header(login))
    )
    codes = [getattr(r, "status_code", r) for r in responses]
    assert codes.count(201) == 1, codes
    assert all(c in (201, 400) or serialization_failure(c) for c in codes), codes
    assert AuthToken.objects.filter(user=user, client__name="api").count() == 1
