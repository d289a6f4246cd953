"""Clients with a token_ttl of zero (1.1.0's ``create_client`` stored one, CONTRACT §13):
every way of issuing or renewing through one is refused clearly, never a token born expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as BrowserClient
from django.urls import reverse

from durin import services
from durin.models import AuthToken, Client

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db

REFUSAL = (
    "The client 'legacy' cannot issue tokens: its token_ttl is 0:00:00, so every token "
    "would be expired when issued. Give it a token_ttl of at least one second."
)


@pytest.fixture
def legacy(make_client):
    """As 1.1.0's ``create_client legacy`` left it: saved without validation, lifetime zero."""
    return make_client("legacy", token_ttl=timedelta(0))


def login(api, password=PASSWORD):
    body = {"username": "alice", "password": password, "client": "legacy"}
    return api.post(reverse("durin_login"), body, format="json")


def test_a_login_is_a_clear_400_whatever_the_password(api, user, legacy, settings):
    """Refused before the password is checked, as an unknown client is: no oracle, no count."""
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": "2/m"}
    answers = [login(api, password) for password in [PASSWORD, "wrong"] * 3]
    assert [(r.status_code, r.json()) for r in answers] == [(400, {"detail": REFUSAL})] * 6
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("ttl", [timedelta(0), -timedelta(seconds=1), -timedelta(days=900_000)])
def test_issuing_through_one_is_refused_before_any_session_is_revoked(user, make_client, ttl):
    client = make_client("legacy")
    earlier = AuthToken.objects.create(user, client)  # session_limit 1: the next would revoke it
    Client.objects.filter(pk=client.pk).update(token_ttl=ttl)
    client.refresh_from_db()
    with pytest.raises(services.UnusableClient, match="cannot issue tokens"):
        AuthToken.objects.create(user, client)
    assert list(AuthToken.objects.all()) == [earlier]


def test_an_explicit_lifetime_still_issues(user, legacy):
    """``delta_ttl`` overrides the client's lifetime, so there is nothing to refuse."""
    token = AuthToken.objects.create(user, legacy, delta_ttl=timedelta(hours=1))
    assert token.expiry - token.created == timedelta(hours=1)


def test_refresh_is_a_clear_400_and_leaves_the_expiry(api, user, legacy):
    token = AuthToken.objects.create(user, legacy, delta_ttl=timedelta(hours=1))
    response = api.post(reverse("durin_refresh"), **auth_header(token))
    assert (response.status_code, response.json()) == (400, {"detail": REFUSAL})
    assert AuthToken.objects.get().expiry == token.expiry


def test_sliding_expiry_on_such_a_client_neither_fails_nor_shortens(api, user, legacy, settings):
    Client.objects.filter(pk=legacy.pk).update(auto_refresh=True)
    legacy.refresh_from_db()
    token = AuthToken.objects.create(user, legacy, delta_ttl=timedelta(hours=1))
    settings.REST_DURIN = {"MIN_REFRESH_INTERVAL": 0}
    assert api.get(reverse("whoami"), **auth_header(token)).status_code == 200
    assert AuthToken.objects.get().expiry == token.expiry


def test_api_access_is_a_clear_400(api, user, make_client, web, settings):
    make_client("legacy", token_ttl=timedelta(0))
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "legacy"}
    session = AuthToken.objects.create(user, web)
    response = api.post(reverse("durin_apiaccess"), **auth_header(session))
    assert (response.status_code, response.json()) == (400, {"detail": REFUSAL})
    assert list(AuthToken.objects.all()) == [session]


def test_the_admin_refuses_it_on_the_form(user, legacy):
    browser = BrowserClient()
    browser.force_login(get_user_model().objects.create_superuser("admin", "a@x.org", "pw"))
    response = browser.post(
        reverse("admin:durin_authtoken_add"), {"user": user.pk, "client": legacy.pk}
    )
    assert response.status_code == 200
    assert "cannot issue tokens" in response.content.decode()
    assert not AuthToken.objects.exists()
