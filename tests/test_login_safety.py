"""§12 for the login: no secret in an error report, a failed login changes nothing, bounded
token counts and lifetimes, and failures stay counted under ``ATOMIC_REQUESTS``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from durin import crypto, services
from durin.models import AuthToken, Client
from durin.signals import token_issued, token_revoked

from .conftest import PASSWORD, Received, auth_header

pytestmark = pytest.mark.django_db
LOGIN = "durin_login"


class BrokenUserSerializer(serializers.Serializer):
    """A project's USER_SERIALIZER with a bug in it."""

    def to_representation(self, instance):
        raise RuntimeError("the user serializer broke")


class DatabaseFailingUserSerializer(serializers.Serializer):
    def to_representation(self, instance):
        raise DatabaseError("the database went away while serializing the user")


@pytest.fixture
def issued(monkeypatch):
    """Every token plaintext generated, whether or not the login returned it."""
    plaintexts: list[str] = []
    generate = crypto.generate_token

    def recording(*args, **kwargs):
        plaintexts.append(generate(*args, **kwargs))
        return plaintexts[-1]

    monkeypatch.setattr(crypto, "generate_token", recording)
    return plaintexts


@pytest.fixture
def crashing_api():
    return APIClient(raise_request_exception=False)


def login(api, fmt="json", **fields):
    body = {"username": "alice", "password": PASSWORD, "client": "web", **fields}
    return api.post(reverse(LOGIN), body, format=fmt)


def assert_absent(report: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in report


# --- No secret in an error report --------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_a_broken_user_serializer_reports_neither_password_nor_token(
    crashing_api, user, web, settings, reports, issued, debug, fmt
):
    settings.DEBUG = debug
    settings.REST_DURIN = {"USER_SERIALIZER": "tests.test_login_safety.BrokenUserSerializer"}
    assert login(crashing_api, fmt).status_code == 500
    [report] = reports
    assert "the user serializer broke" in report and "get_post_response_data" in report
    assert issued
    assert_absent(report, PASSWORD, *issued)


@pytest.mark.parametrize("debug", [False, True])
def test_a_failure_inside_the_user_lookup_does_not_report_the_password(
    crashing_api, user, web, settings, reports, monkeypatch, debug
):
    settings.DEBUG = debug

    def failing(self, user):
        raise RuntimeError("the user lookup broke")

    monkeypatch.setattr(ModelBackend, "user_can_authenticate", failing)
    assert login(crashing_api).status_code == 500
    [report] = reports
    # The password passed through DRF's AuthTokenSerializer.validate and the backend.
    assert "the user lookup broke" in report and "AuthTokenSerializer" in report
    assert_absent(report, PASSWORD)


@pytest.mark.parametrize("view", ["whoami", "cached-whoami"])
@pytest.mark.parametrize("debug", [False, True])
def test_a_failure_on_the_auth_path_does_not_report_the_token(
    crashing_api, token, settings, reports, monkeypatch, view, debug
):
    settings.DEBUG = debug

    def failing(auth_token, now):
        raise RuntimeError("recording the use broke")

    monkeypatch.setattr(services, "record_use", failing)
    response = crashing_api.get(reverse(view), **auth_header(token))
    assert response.status_code == 500
    [report] = reports
    assert "recording the use broke" in report and "authenticate_credentials" in report
    assert_absent(report, token.token)


# --- A failed login changes nothing ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("serializer", ["BrokenUserSerializer", "DatabaseFailingUserSerializer"])
def test_a_login_that_cannot_answer_issues_nothing_and_revokes_nothing(
    crashing_api, user, web, settings, serializer
):
    first = login(crashing_api).json()["token"]
    cached = reverse("cached-whoami")
    assert crashing_api.get(cached, **auth_header(first)).status_code == 200  # now in the cache
    settings.REST_DURIN = {"USER_SERIALIZER": f"tests.test_login_safety.{serializer}"}
    with Received(token_revoked) as revoked, Received(token_issued) as issued:
        assert login(crashing_api).status_code == 500
    assert AuthToken.objects.count() == 1
    assert crashing_api.get(cached, **auth_header(first)).status_code == 200
    assert crashing_api.get(reverse("whoami"), **auth_header(first)).status_code == 200
    assert not revoked  # the revocation was rolled back: its signal was never sent
    assert not issued


def test_a_login_that_cannot_answer_counts_as_a_failure(crashing_api, user, web, settings):
    settings.REST_DURIN = {
        "USER_SERIALIZER": "tests.test_login_safety.BrokenUserSerializer",
        "LOGIN_THROTTLE_RATE": "2/m",
    }
    assert [login(crashing_api).status_code for _ in range(3)] == [500, 500, 429]


# --- ATOMIC_REQUESTS ---------------------------------------------------------------------


@pytest.fixture
def atomic_requests(monkeypatch, transactional_db):
    """Real transactions: DRF's handler would mark a test's own transaction for rollback."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


def test_failed_logins_are_throttled_with_atomic_requests(
    api, user, web, settings, atomic_requests
):
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": "3/m"}
    codes = [login(api, password="wrong").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert login(api).status_code == 429


def test_a_failed_login_keeps_what_the_throttle_wrote_with_atomic_requests(
    api, user, web, monkeypatch, atomic_requests
):
    """A throttle that counts in the database (as §12 wants) must not be rolled back."""
    from durin import login_throttle

    failed = login_throttle.LoginThrottle.failed

    def counted_in_the_database(self):
        Client.objects.create(name=f"failure-{Client.objects.count()}")
        failed(self)

    monkeypatch.setattr(login_throttle.LoginThrottle, "failed", counted_in_the_database)
    assert login(api, password="wrong").status_code == 400
    assert Client.objects.filter(name__startswith="failure-").count() == 1


# --- Bounded -----------------------------------------------------------------------------


@pytest.mark.parametrize("session_limit", [None, 10])
def test_no_user_holds_more_than_the_cap_of_one_client(
    api, user, make_client, settings, session_limit
):
    settings.REST_DURIN = {"MAX_TOKENS_PER_USER_CLIENT": 3}
    client = make_client("cli", session_limit=session_limit)
    with Received(token_revoked) as revoked:
        tokens = [login(api, client="cli").json()["token"] for _ in range(4)]
        tokens.append(AuthToken.objects.create(user, client).token)
    assert AuthToken.objects.filter(user=user, client=client).count() == 3
    answers = [api.get(reverse("whoami"), **auth_header(t)).status_code for t in tokens]
    assert answers == [401, 401, 200, 200, 200]
    assert [r["reason"] for r in revoked] == ["session_limit", "session_limit"]


def test_the_default_cap_is_a_hundred(user, make_client):
    client = make_client("cli", session_limit=None)
    for _ in range(101):
        AuthToken.objects.create(user, client)
    assert AuthToken.objects.filter(user=user, client=client).count() == 100


@pytest.mark.parametrize("field", ["token_ttl", "max_token_lifetime"])
def test_a_lifetime_that_would_overflow_a_date_fails_validation(field):
    client = Client(name="forever", **{field: timedelta(days=3_000_000)})
    with pytest.raises(DjangoValidationError) as raised:
        client.full_clean()
    assert "at most 36500 days" in str(raised.value.message_dict[field])
    Client(name="century", **{field: timedelta(days=36500)}).full_clean()


def test_create_client_refuses_an_overflowing_ttl():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="36500"):
        call_command("create_client", "forever", "--token-ttl", "3000000 00:00:00")
    assert not Client.objects.exists()


@pytest.mark.parametrize("days", [3_000_000, -3_000_000])
def test_an_overflowing_delta_ttl_is_a_value_error(user, web, days):
    with pytest.raises(ValueError, match="at most 36500 days"):
        AuthToken.objects.create(user, web, delta_ttl=timedelta(days=days))
    assert not AuthToken.objects.exists()


def test_a_client_saved_around_validation_still_logs_in(api, user, make_client):
    """A row written without validation (``objects.create``) is capped, never a 500."""
    make_client("forever", token_ttl=timedelta(days=3_000_000), auto_refresh=True)
    response = login(api, client="forever")
    assert response.status_code == 200
    token = AuthToken.objects.get()
    assert token.expiry <= timezone.now() + timedelta(days=36500)
    assert (
        api.post(reverse("durin_refresh"), **auth_header(response.json()["token"])).status_code
        == 200
    )
