"""Client permissions and the per-(user, client) throttle."""

from __future__ import annotations

import pytest
from django.urls import reverse

from durin.models import AuthToken

from .conftest import auth_header

pytestmark = pytest.mark.django_db


def test_allow_specific_clients(api, user, web, make_client):
    cli = AuthToken.objects.create(user, make_client("cli"))
    web_token = AuthToken.objects.create(user, web)
    assert api.get(reverse("web-only"), **auth_header(web_token)).status_code == 200
    assert api.get(reverse("web-only"), **auth_header(cli)).status_code == 403


def test_disallow_specific_clients(api, user, web, make_client):
    cli = AuthToken.objects.create(user, make_client("cli"))
    web_token = AuthToken.objects.create(user, web)
    assert api.get(reverse("not-cli"), **auth_header(web_token)).status_code == 200
    assert api.get(reverse("not-cli"), **auth_header(cli)).status_code == 403


@pytest.mark.parametrize("url", ["web-only", "not-cli"])
def test_client_permissions_refuse_requests_not_authenticated_by_durin(api, user, url):
    api.force_authenticate(user)  # authenticated, but not with a durin token
    assert api.get(reverse(url)).status_code == 403


def _statuses(api, token, n):
    return [api.get(reverse("throttled"), **auth_header(token)).status_code for _ in range(n)]


def test_client_rate_overrides_the_default(api, user, make_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user_per_client": "5/m"},
    }
    strict = AuthToken.objects.create(user, make_client("strict", throttle_rate="2/m"))
    default = AuthToken.objects.create(user, make_client("default"))
    assert _statuses(api, strict, 3) == [200, 200, 429]
    assert _statuses(api, default, 6) == [200] * 5 + [429]


def test_throttle_is_per_user_and_client(api, user, other_user, make_client):
    client = make_client("strict", throttle_rate="1/m")
    mine, bobs = (
        AuthToken.objects.create(user, client),
        AuthToken.objects.create(other_user, client),
    )
    assert _statuses(api, mine, 2) == [200, 429]
    assert _statuses(api, bobs, 1) == [200]


def test_no_rate_anywhere_means_no_throttle(api, token):
    assert _statuses(api, token, 5) == [200] * 5
