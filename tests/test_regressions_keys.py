"""An attacker's pass over CONTRACT §10 as built (issue 12): each test is an attack that
worked when written (a strict xfail), and passes since its fix. Docstrings say the
attack and the behaviour expected instead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from durin.auth import TokenAuthentication
from durin.constants import INTROSPECT_SCOPE
from durin.models import AuthToken
from durin.possession import IntrospectView

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db(transaction=True)

SCOPES = {"read": "Read your things.", "write": "Change your things."}
TTL = timedelta(days=30)


@pytest.fixture(autouse=True)
def configured(settings):
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api", "SCOPES": SCOPES}


@pytest.fixture
def key_client(make_client):
    """The API-access client: keys live 30 days, a user holds at most 5."""
    return make_client("api", token_ttl=TTL, session_limit=5)


@pytest.fixture
def session(api, user, web, key_client) -> str:
    """A login token that has just proved its user's password."""
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def create_key(api: APIClient, session: str, **body) -> dict:
    response = api.post(
        reverse("durin_keys-list"), {"name": "ci", **body}, format="json", **auth_header(session)
    )
    assert response.status_code == 201, response.content
    return response.json()


def works(api: APIClient, token: str) -> bool:
    response = api.get(reverse("whoami"), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def test_attack1_a_leaked_key_revokes_the_key_that_replaced_it(api, session):
    """A user rolls a leaked, read-only key with a grace so that their programs can move to
    the new key. The thief, holding the old key in its grace, sends ``DELETE apiaccess/``:
    every key of the user is revoked, the new one included (``APIAccessTokenView.delete``
    revokes all tokens of the API-access client, and accepts a key as the caller).

    Expected: an API key manages no keys (§10: "an API key cannot manage keys"): at most it
    ends itself; the user's other keys keep working."""
    leaked = create_key(api, session, scopes=["read"])
    rolled = api.post(
        reverse("durin_keys-roll", args=[leaked["id"]]),
        {"grace": 3600},
        format="json",
        **auth_header(session),
    )
    assert rolled.status_code == 201
    other = create_key(api, session, name="backup")
    api.delete(reverse("durin_apiaccess"), **auth_header(leaked["token"]))
    assert works(api, rolled.json()["token"])
    assert works(api, other["token"])


def test_attack2_a_restricted_token_mints_an_unrestricted_key(api, user, web, key_client):
    """A token restricted to ``read`` (``AuthToken.objects.create(..., scopes=["read"])``,
    or one issued in the admin with scopes) sends ``POST apiaccess/`` while its user holds
    no key: 201 with an unrestricted key (scopes null), which passes every
    ``TokenHasScope``. No password, no recent authentication needed.

    Expected: no token obtains a token with wider scopes than its own: a restricted token
    is refused (403) or, at most, gets a key restricted as it is."""
    restricted = AuthToken.objects.create(user, web, scopes=["read"])
    answer = api.post(reverse("durin_apiaccess"), **auth_header(restricted))
    assert answer.status_code in (201, 400, 403), answer.content
    keys = AuthToken.objects.filter(user=user, client=key_client)
    assert all(key.scopes is not None and set(key.scopes) <= {"read"} for key in keys)


def test_attack3_a_restricted_token_manages_keys(api, session, user, web):
    """A token restricted to ``read`` that is not of the API-access client (so
    ``IsNotAPIKey`` lets it in) lists the user's keys and deletes them (``DELETE
    keys/<id>`` needs no recent authentication).

    Expected: ``keys/`` answers a login token only (§10: login tokens are unrestricted;
    "for a user authenticated with a login token"): a restricted token gets 403, and the
    key keeps working."""
    key = create_key(api, session)
    restricted = AuthToken.objects.create(user, web, scopes=["read"])
    listed = api.get(reverse("durin_keys-list"), **auth_header(restricted))
    deleted = api.delete(reverse("durin_keys-detail", args=[key["id"]]), **auth_header(restricted))
    assert (listed.status_code, deleted.status_code) == (403, 403)
    assert works(api, key["token"])


def test_attack4_introspection_of_a_replaced_token_tells_a_late_exp(
    api, user, other_user, make_client, key_client
):
    """A rotating client's token is refreshed; the token it replaced works for 30 more
    seconds. ``introspect/`` of the replaced token answers ``active`` with ``exp`` = the
    session's new expiry (a day later): ``describe`` reads the session's row. A gateway
    that caches an introspection until ``exp`` (RFC 7662 §4) accepts the replaced token,
    perhaps stolen, for a day, and never presents it again, so no reuse is detected.

    Expected: ``exp`` is when the presented token stops working: the end of its grace."""
    app = make_client("app", rotate_on_refresh=True, token_ttl=timedelta(days=1))
    service = AuthToken.objects.create(other_user, key_client, scopes=[INTROSPECT_SCOPE])
    with time_machine.travel(timezone.now(), tick=False):
        replaced = str(AuthToken.objects.create(user, app))
        assert api.post(reverse("durin_refresh"), **auth_header(replaced)).status_code == 200
        answer = api.post(
            reverse("durin_introspect"), {"token": replaced}, format="json", **auth_header(service)
        ).json()
        assert answer["active"] is True
        grace_ends = timezone.now() + timedelta(seconds=30)
        assert answer["exp"] <= int(grace_ends.timestamp())


def test_attack5_a_short_lived_key_refreshes_itself_forever(api, session):
    """A user creates a key with ``expires_in=3600`` for a contractor. The key sends
    ``POST refresh/``: its expiry becomes now + the client's ``token_ttl`` (30 days), and
    again every time, forever (``renew_token`` only spares rolled keys).

    Expected: a key never outlives the lifetime its user gave it (as a rolled key never
    outlives its grace)."""
    with time_machine.travel(timezone.now(), tick=False):
        start = timezone.now()
        key = create_key(api, session, expires_in=3600)
        api.post(reverse("durin_refresh"), **auth_header(key["token"]))
        assert AuthToken.objects.get(pk=key["id"]).expiry <= start + timedelta(hours=1)


def test_attack6_a_short_lived_key_slides_past_its_lifetime(api, session, key_client):
    """With ``auto_refresh`` on the API-access client, a key created with
    ``expires_in=3600`` and used once after the write interval slides to now + 30 days
    (``record_use`` only spares rolled keys).

    Expected: sliding never takes a key past the lifetime its user gave it."""
    key_client.auto_refresh = True
    key_client.save()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        start = timezone.now()
        key = create_key(api, session, expires_in=3600)
        clock.shift(120)
        assert works(api, key["token"])
        assert AuthToken.objects.get(pk=key["id"]).expiry <= start + timedelta(hours=1)


class InstanceMethodOverride(TokenAuthentication):
    """A project's class written as DRF's and 1.x's: ``authenticate_credentials(self, ...)``."""

    def authenticate_credentials(self, token):
        return super().authenticate_credentials(token)


def test_attack7_introspection_with_a_project_subclass_is_a_500(
    api, user, web, other_user, key_client, monkeypatch
):
    """A project's authentication class overrides ``authenticate_credentials`` as an
    instance method (DRF's and 1.x's signature; it authenticates requests fine).
    ``introspect/`` calls it on the class (``cls.authenticate_credentials(token)``): the
    token is taken for ``self``, a ``TypeError``, a 500 for every introspection.

    Expected: introspection works with any class that authenticates requests: 200."""
    monkeypatch.setattr(IntrospectView, "authentication_classes", [InstanceMethodOverride])
    service = AuthToken.objects.create(other_user, key_client, scopes=[INTROSPECT_SCOPE])
    token = AuthToken.objects.create(user, web)
    assert works(api, str(token))
    api.raise_request_exception = False
    answer = api.post(
        reverse("durin_introspect"), {"token": str(token)}, format="json", **auth_header(service)
    )
    assert answer.status_code == 200
    assert answer.json()["active"] is True
