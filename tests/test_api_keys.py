"""Many named API keys, ``keys/`` (CONTRACT §10, second bullet; §12, last bullet).

Everything goes through the HTTP API: a user logged in with a password (a login token that
recently proved it) lists, creates, deletes and rolls keys; a key manages none.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from durin import crypto
from durin.auth import CachedTokenAuthentication
from durin.constants import MAX_ROLL_GRACE_SECONDS
from durin.models import AuthToken
from durin.signals import token_issued, token_revoked
from durin.views import RefreshView

from .conftest import PASSWORD, Received, auth_header

pytestmark = pytest.mark.django_db

LIST, DETAIL, ROLL = "durin_keys-list", "durin_keys-detail", "durin_keys-roll"
SCOPES = {"read": "Read your things.", "write": "Change your things."}
TTL = timedelta(days=30)
NOT_FOUND = {"detail": "Not found."}
KEY_FIELDS = {"id", "name", "scopes", "created", "expiry", "last_used", "hint"}
REQUIRED = {"detail": "Recent authentication required."}


@pytest.fixture(autouse=True)
def configured(settings):
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api", "SCOPES": SCOPES}


@pytest.fixture
def key_client(make_client):
    """The API-access client: keys live 30 days, a user holds at most 3."""
    return make_client("api", token_ttl=TTL, session_limit=3)


@pytest.fixture
def frozen():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        yield clock


def logged_in(api: APIClient, username: str = "alice") -> str:
    """A login token that has just proved its user's password."""
    body = {"username": username, "password": PASSWORD, "client": "web"}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.fixture
def session(api, user, web, key_client) -> str:
    return logged_in(api)


def create(api, token, body=None, fmt="json", **extra):
    body = {"name": "ci"} if body is None else body
    return api.post(reverse(LIST), body, format=fmt, **auth_header(token), **extra)


def created(api, token, **body) -> dict:
    response = create(api, token, {"name": "ci", **body})
    assert response.status_code == 201, response.content
    return response.json()


def listed(api, token) -> list[dict]:
    response = api.get(reverse(LIST), **auth_header(token))
    assert response.status_code == 200, response.content
    return response.json()


def delete(api, token, key_id, slash=False):
    url = reverse(DETAIL, args=[key_id]) + ("/" if slash else "")
    return api.delete(url, **auth_header(token))


def roll(api, token, key_id, body=None, fmt="json"):
    return api.post(reverse(ROLL, args=[key_id]), body or {}, format=fmt, **auth_header(token))


def works(api, token, view="whoami") -> bool:
    response = api.get(reverse(view), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def row(token: str) -> AuthToken:
    return AuthToken.objects.get(digest=crypto.digest(token))


# --- Create ------------------------------------------------------------------------------


def test_create_answers_the_key_once_with_its_name_scopes_and_hint(api, session, frozen):
    response = create(api, session, {"name": "deploy bot", "scopes": ["read"]})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == KEY_FIELDS | {"token"}
    token = body["token"]
    assert body["name"] == "deploy bot" and body["scopes"] == ["read"]
    assert body["hint"] == f"\u2026{token[-4:]}"
    assert parse_datetime(body["expiry"]) == timezone.now() + TTL  # the client's token_ttl
    assert works(api, token)
    key = row(token)
    assert key.client.name == "api" and key.authenticated_at is None
    assert (key.name, key.scopes, key.id) == ("deploy bot", ["read"], body["id"])


def test_create_takes_expires_in_in_seconds(api, session, frozen):
    body = created(api, session, expires_in=3600)
    assert parse_datetime(body["expiry"]) == timezone.now() + timedelta(hours=1)
    longest = int(TTL.total_seconds())
    assert create(api, session, {"name": "x", "expires_in": longest}).status_code == 201


def test_scopes_left_out_or_null_make_an_unrestricted_key(api, session):
    assert created(api, session)["scopes"] is None
    assert created(api, session, scopes=None)["scopes"] is None
    assert created(api, session, scopes=[])["scopes"] == []


def test_create_reads_form_data_one_entry_per_scope(api, session):
    body = {"name": "form", "scopes": ["read", "write"], "expires_in": "60"}
    response = create(api, session, body, fmt="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == ["read", "write"]
    urlencoded = "name=urlencoded&scopes=write"
    response = api.post(
        reverse(LIST),
        urlencoded,
        content_type="application/x-www-form-urlencoded",
        **auth_header(session),
    )
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == ["write"]


def test_the_introspection_scope_is_always_known(api, session):
    assert created(api, session, scopes=["durin:introspect"])["scopes"] == ["durin:introspect"]


BAD_CREATES = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 10_240}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"name": "tab\there"}, "name"),
    ({"name": 123}, "name"),
    ({"name": ["ci"]}, "name"),
    ({"name": None}, "name"),
    ({"name": "ci", "scopes": "read"}, "scopes"),
    ({"name": "ci", "scopes": {"read": True}}, "scopes"),
    ({"name": "ci", "scopes": [1, 2]}, "scopes"),
    ({"name": "ci", "scopes": [["read"]]}, "scopes"),
    ({"name": "ci", "scopes": ["read", "read"]}, "scopes"),
    ({"name": "ci", "scopes": ["admin"]}, "scopes"),
    ({"name": "ci", "scopes": ["read"] * 5000}, "scopes"),
    ({"name": "ci", "scopes": [f"s{i}" for i in range(3000)]}, "scopes"),
    ({"name": "ci", "scopes": ["re\x00ad"]}, "scopes"),
    ({"name": "ci", "expires_in": -1}, "expires_in"),
    ({"name": "ci", "expires_in": 0}, "expires_in"),
    ({"name": "ci", "expires_in": 30 * 86400 + 1}, "expires_in"),
    ({"name": "ci", "expires_in": 10**30}, "expires_in"),
    ({"name": "ci", "expires_in": "9" * 400}, "expires_in"),
    ({"name": "ci", "expires_in": 3600.5}, "expires_in"),
    ({"name": "ci", "expires_in": 1e300}, "expires_in"),
    ({"name": "ci", "expires_in": "1h"}, "expires_in"),
    ({"name": "ci", "expires_in": "-5"}, "expires_in"),
    ({"name": "ci", "expires_in": " 5"}, "expires_in"),
    ({"name": "ci", "expires_in": "\u0665"}, "expires_in"),
    ({"name": "ci", "expires_in": True}, "expires_in"),
    ({"name": "ci", "expires_in": None}, "expires_in"),
    ({"name": "ci", "expires_in": [60]}, "expires_in"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATES, ids=lambda v: repr(v)[:40])
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, session, body, field):
    hostile = APIClient(raise_request_exception=False)
    response = create(hostile, session, body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {field}, response.json()
    assert all(isinstance(message, str) for message in response.json()[field])
    assert not AuthToken.objects.filter(client__name="api").exists()


@pytest.mark.parametrize(
    "payload",
    ["[]", '"name"', "null", "{not json", "[" * 5000 + "]" * 5000],
    ids=["list", "string", "null", "broken", "deep"],
)
def test_a_body_that_is_not_an_object_is_a_400(api, session, payload):
    hostile = APIClient(raise_request_exception=False)
    response = hostile.post(
        reverse(LIST), payload, content_type="application/json", **auth_header(session)
    )
    assert response.status_code == 400, response.content
    assert not AuthToken.objects.filter(client__name="api").exists()


def test_a_body_over_64_kib_is_a_413(api, session):
    response = create(api, session, {"name": "ci", "pad": "x" * 70_000})
    assert response.status_code == 413
    assert not AuthToken.objects.filter(client__name="api").exists()


# --- List --------------------------------------------------------------------------------


def test_list_shows_the_users_live_keys_newest_first_and_never_a_secret(
    api, session, user, other_user, key_client, frozen
):
    first = created(api, session, name="first", scopes=["read"])
    frozen.shift(10)
    second = created(api, session, name="second", expires_in=60)
    AuthToken.objects.create(other_user, key_client)  # bob's
    frozen.shift(30)
    keys = listed(api, session)
    assert [k["name"] for k in keys] == ["second", "first"]  # not alice's login, not bob's
    assert all(set(k) == KEY_FIELDS for k in keys)
    assert keys[1] == {key: first[key] for key in KEY_FIELDS}
    text = json.dumps(keys)
    for plaintext in (first["token"], second["token"], session):
        assert plaintext not in text and crypto.digest(plaintext) not in text
    frozen.shift(30)  # the second has expired
    assert [k["name"] for k in listed(api, session)] == ["first"]


def test_list_shows_last_use(api, session, frozen):
    key = created(api, session)
    assert listed(api, session)[0]["last_used"] == key["created"]
    frozen.shift(3600)
    assert works(api, key["token"])
    assert parse_datetime(listed(api, session)[0]["last_used"]) == timezone.now()


# --- Who may use keys/ -------------------------------------------------------------------


def test_an_api_key_gets_403_on_every_method(api, session):
    key = created(api, session)
    hostile = APIClient(raise_request_exception=False)
    refused = [
        hostile.get(reverse(LIST), **auth_header(key["token"])),
        create(hostile, key["token"]),
        delete(hostile, key["token"], key["id"]),
        roll(hostile, key["token"], key["id"]),
    ]
    for response in refused:
        assert response.status_code == 403, response.content
        assert response.json()["detail"] == "Only the token of a login can manage API keys."
    assert AuthToken.objects.filter(client__name="api").count() == 1
    assert works(api, key["token"])


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [("get", LIST, []), ("post", LIST, []), ("delete", DETAIL, [1]), ("post", ROLL, [1])],
)
def test_without_a_token_every_method_is_401(api, method, name, args, key_client):
    response = getattr(api, method)(reverse(name, args=args))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_creating_and_rolling_need_a_recent_password(api, session, user, web, frozen):
    key = created(api, session)
    frozen.shift(301)  # REAUTHENTICATION_MAX_AGE is 300 seconds
    for response in (create(api, session), roll(api, session, key["id"])):
        assert response.status_code == 401
        assert response.json() == REQUIRED
        assert 'error="insufficient_user_authentication"' in response["WWW-Authenticate"]
        assert "max_age=300" in response["WWW-Authenticate"]
    # Listing and deleting need no password: they mint nothing.
    assert len(listed(api, session)) == 1
    assert delete(api, session, key["id"]).status_code == 204
    # After reauthenticate/, minting works again.
    reauth = api.post(
        reverse("durin_reauthenticate"), {"password": PASSWORD}, **auth_header(session)
    )
    assert reauth.status_code == 200
    assert create(api, session).status_code == 201


def test_a_token_issued_without_a_password_cannot_mint_a_key(api, user, web, key_client):
    token = AuthToken.objects.create(user, web)  # no authenticated_at
    assert create(api, token).status_code == 401
    assert listed(api, token) == []


@pytest.mark.parametrize(
    ("rest_durin", "detail"),
    [
        ({}, "API access is not enabled: API_ACCESS_CLIENT_NAME is not set."),
        (
            {"API_ACCESS_CLIENT_NAME": "missing"},
            "API access is not available: the client named by API_ACCESS_CLIENT_NAME does "
            "not exist.",
        ),
    ],
)
def test_without_a_key_client_every_method_is_404_saying_why(
    api, session, settings, rest_durin, detail
):
    settings.REST_DURIN = rest_durin
    hostile = APIClient(raise_request_exception=False)
    for response in (
        hostile.get(reverse(LIST), **auth_header(session)),
        create(hostile, session),
        delete(hostile, session, 1),
        roll(hostile, session, 1),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": detail}


# --- The session limit -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["revoke_oldest", "refuse"])
def test_create_is_refused_at_the_limit_whatever_the_action(api, session, key_client, action):
    key_client.session_limit_action = action
    key_client.save()
    keys = [created(api, session, name=f"k{i}")["token"] for i in range(3)]
    response = create(api, session, {"name": "fourth"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You hold as many API keys as allowed: delete one first."}
    assert all(works(api, key) for key in keys)  # nothing was revoked to make room
    assert AuthToken.objects.filter(client=key_client).count() == 3


def test_an_unlimited_client_is_still_bounded(api, session, key_client, settings):
    key_client.session_limit = None
    key_client.save()
    settings.REST_DURIN = {**settings.REST_DURIN, "MAX_TOKENS_PER_USER_CLIENT": 2}
    created(api, session)
    created(api, session)
    assert create(api, session).status_code == 403


# --- Delete ------------------------------------------------------------------------------


def test_delete_revokes_the_key_and_says_why(api, session, user, key_client):
    key = created(api, session)
    kept = created(api, session, name="kept")
    with Received(token_revoked) as revoked:
        response = delete(api, session, key["id"])
    assert response.status_code == 204
    assert [(r["token_id"], r["reason"]) for r in revoked] == [(key["id"], "api_key_delete")]
    assert not works(api, key["token"])
    assert works(api, kept["token"]) and works(api, session)
    assert delete(api, session, key["id"]).status_code == 404  # already gone


def test_delete_with_a_trailing_slash(api, session):
    key = created(api, session)
    assert delete(api, session, key["id"], slash=True).status_code == 204


def test_delete_of_an_id_that_is_not_your_key_is_404(
    api, session, user, other_user, web, key_client, frozen
):
    bobs = AuthToken.objects.create(other_user, key_client)
    login_token = row(session)
    expired = created(api, session, name="short", expires_in=1)
    frozen.shift(2)
    hostile = APIClient(raise_request_exception=False)
    for key_id in [
        bobs.pk,
        login_token.pk,
        expired["id"],
        10**6,
        "abc",
        "-1",
        "1.0",
        "1_0",
        "\u0665",
        "9" * 30,
        str(2**63),
        "%00",
    ]:
        response = delete(hostile, session, key_id)
        assert response.status_code == 404, (key_id, response.content)
        assert response.json() == NOT_FOUND
    assert AuthToken.objects.filter(pk=bobs.pk).exists()
    assert works(api, session)


# --- Roll --------------------------------------------------------------------------------


def test_roll_issues_a_new_key_of_the_same_name_scopes_and_lifetime(api, session, frozen):
    old = created(api, session, name="deploy", scopes=["read", "write"], expires_in=7200)
    frozen.shift(200)  # within the recent authentication's 300 seconds
    with Received(token_issued) as issued:
        response = roll(api, session, old["id"], {"grace": 60})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    new = response.json()
    assert set(new) == KEY_FIELDS | {"token"}
    assert (new["name"], new["scopes"]) == ("deploy", ["read", "write"])
    assert new["id"] != old["id"] and new["token"] != old["token"]
    assert parse_datetime(new["expiry"]) == timezone.now() + timedelta(hours=2)
    assert [i["token_id"] for i in issued] == [new["id"]]
    assert row(new["token"]).authenticated_at is None
    # The old key works through its grace, then stops.
    assert works(api, old["token"]) and works(api, new["token"])
    listed_keys = {k["id"]: k for k in listed(api, session)}
    assert parse_datetime(listed_keys[old["id"]]["expiry"]) == timezone.now() + timedelta(
        seconds=60
    )
    frozen.shift(61)
    assert not works(api, old["token"])
    assert works(api, new["token"])
    assert [k["id"] for k in listed(api, session)] == [new["id"]]


def test_roll_with_no_grace_stops_the_old_key_at_once(api, session):
    old = created(api, session)
    new = roll(api, session, old["id"]).json()
    assert not works(api, old["token"])
    assert works(api, new["token"])


def test_a_grace_never_lengthens_the_old_key(api, session, frozen):
    old = created(api, session, expires_in=30)
    roll(api, session, old["id"], {"grace": MAX_ROLL_GRACE_SECONDS})
    assert row(old["token"]).expiry == timezone.now() + timedelta(seconds=30)


def test_the_new_key_lives_at_most_the_clients_token_ttl(api, session, key_client, frozen):
    old = created(api, session)
    key_client.token_ttl = timedelta(days=1)
    key_client.save()
    new = roll(api, session, old["id"]).json()
    assert parse_datetime(new["expiry"]) == timezone.now() + timedelta(days=1)


def test_roll_works_at_the_limit(api, session, key_client):
    key_client.session_limit = 1  # what a new client gets by default
    key_client.save()
    old = created(api, session)
    assert create(api, session).status_code == 403
    new = roll(api, session, old["id"], {"grace": 3600}).json()
    assert works(api, new["token"]) and works(api, old["token"])
    # The key in its grace still counts: nothing else fits until it ends or is deleted.
    assert create(api, session).status_code == 403
    assert roll(api, session, new["id"]).status_code == 403
    assert delete(api, session, old["id"]).status_code == 204
    assert roll(api, session, new["id"]).status_code == 201


def test_a_grace_never_takes_a_user_past_the_absolute_bound(api, session, key_client, settings):
    key_client.session_limit = None
    key_client.save()
    settings.REST_DURIN = {**settings.REST_DURIN, "MAX_TOKENS_PER_USER_CLIENT": 2}
    first, _ = created(api, session), created(api, session)
    assert roll(api, session, first["id"], {"grace": 60}).status_code == 403
    assert roll(api, session, first["id"]).status_code == 201  # no grace: still two live keys
    assert AuthToken.objects.live().filter(client=key_client).count() == 2


def test_a_key_in_its_grace_is_not_rolled_again(api, session):
    old = created(api, session)
    assert roll(api, session, old["id"], {"grace": 3600}).status_code == 201
    response = roll(api, session, old["id"], {"grace": 3600})
    assert response.status_code == 400
    assert "already rolled" in response.json()["detail"]
    assert AuthToken.objects.filter(client__name="api").count() == 2


def test_rolling_an_id_that_is_not_your_key_is_404(api, session, other_user, key_client):
    bobs = AuthToken.objects.create(other_user, key_client)
    old = created(api, session)
    roll(api, session, old["id"])  # grace 0: the old key is gone
    hostile = APIClient(raise_request_exception=False)
    for key_id in [bobs.pk, row(session).pk, old["id"], "abc", "9" * 30, "\u0665"]:
        response = roll(hostile, session, key_id)
        assert response.status_code == 404, (key_id, response.content)
        assert response.json() == NOT_FOUND
    assert works(api, bobs.token)


@pytest.mark.parametrize(
    "grace",
    [-1, MAX_ROLL_GRACE_SECONDS + 1, 10**30, "9" * 400, 1.5, 1e300, True, "soon", None, [1]],
    ids=repr,
)
def test_a_bad_grace_is_a_400_and_rolls_nothing(api, session, grace):
    old = created(api, session)
    hostile = APIClient(raise_request_exception=False)
    response = roll(hostile, session, old["id"], {"grace": grace})
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"grace"}
    assert AuthToken.objects.filter(client__name="api").count() == 1
    assert row(old["token"]).rolled_at is None


def test_grace_in_form_data(api, session):
    old = created(api, session)
    response = roll(api, session, old["id"], {"grace": "600"}, fmt="multipart")
    assert response.status_code == 201
    assert works(api, old["token"])


def test_a_key_whose_scopes_were_withdrawn_is_not_rolled(api, session, settings):
    old = created(api, session, scopes=["write"])
    settings.REST_DURIN = {**settings.REST_DURIN, "SCOPES": {"read": "Read."}}
    response = roll(api, session, old["id"])
    assert response.status_code == 400
    assert "'write'" in response.json()["detail"]
    assert works(api, old["token"])


def test_nothing_extends_a_rolled_key(api, session, key_client, frozen):
    """refresh/, a rotating refresh and sliding expiry would otherwise outlive the grace."""
    key_client.auto_refresh = True
    key_client.save()
    old = created(api, session)
    roll(api, session, old["id"], {"grace": 600})
    grace_end = timezone.now() + timedelta(seconds=600)
    frozen.shift(120)
    assert works(api, old["token"])  # a use that would slide the expiry
    refreshed = api.post(reverse("durin_refresh"), **auth_header(old["token"]))
    assert refreshed.status_code == 200
    assert parse_datetime(refreshed.json()["expiry"]) == grace_end
    key_client.rotate_on_refresh = True
    key_client.save()
    rotated = api.post(reverse("durin_refresh"), **auth_header(old["token"]))
    assert rotated.status_code == 200
    assert parse_datetime(rotated.json()["expiry"]) == grace_end
    frozen.shift(481)
    assert not works(api, rotated.json()["token"])


# --- apiaccess/ keeps its 1.x meaning ----------------------------------------------------


def test_apiaccess_with_several_keys(api, session, frozen):
    created(api, session, name="older")
    frozen.shift(5)
    newest = created(api, session, name="newest")
    shown = api.get(reverse("durin_apiaccess"), **auth_header(session))
    assert shown.status_code == 200
    assert shown.json()["created"] == newest["created"]
    assert "token" not in shown.json()
    again = api.post(reverse("durin_apiaccess"), **auth_header(session))
    assert again.status_code == 400
    assert api.delete(reverse("durin_apiaccess"), **auth_header(session)).status_code == 204
    assert listed(api, session) == []


def test_a_key_from_apiaccess_is_listed_and_rolled(api, session):
    issued = api.post(reverse("durin_apiaccess"), **auth_header(session)).json()
    [key] = listed(api, session)
    assert (key["name"], key["scopes"]) == ("", None)
    new = roll(api, session, key["id"]).json()
    assert new["name"] == "" and new["scopes"] is None
    assert not works(api, issued["token"]) and works(api, new["token"])


# --- The cached class, across processes --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deleting_and_rolling_reach_the_cached_class_at_once(api, session):
    cached = "cached-whoami"
    deleted, rolled, graced = (created(api, session, name=n) for n in ("a", "b", "c"))
    for key in (deleted, rolled, graced):
        assert works(api, key["token"], cached)  # now in the cache
    assert delete(api, session, deleted["id"]).status_code == 204
    assert not works(api, deleted["token"], cached)
    new = roll(api, session, rolled["id"]).json()
    assert not works(api, rolled["token"], cached)
    assert works(api, new["token"], cached)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert roll(api, session, graced["id"], {"grace": 60}).status_code == 201
        assert works(api, graced["token"], cached)
        clock.shift(61)
        assert not works(api, graced["token"], cached)  # the cached entry had the old expiry


@pytest.mark.django_db(transaction=True)
def test_durin_views_with_the_cached_class(api, session, monkeypatch):
    from durin import api_keys

    for view in (api_keys.KeysView, api_keys.KeyView, api_keys.RollKeyView, RefreshView):
        monkeypatch.setattr(view, "authentication_classes", [CachedTokenAuthentication])
    key = created(api, session)
    assert create(api, key["token"]).status_code == 403  # a cached key is still a key
    new = roll(api, session, key["id"], {"grace": 60}).json()
    # A rolled key's cached entry knows it was rolled: refresh/ cannot extend it.
    refreshed = api.post(reverse("durin_refresh"), **auth_header(key["token"]))
    assert parse_datetime(refreshed.json()["expiry"]) <= timezone.now() + timedelta(seconds=60)
    assert delete(api, session, new["id"]).status_code == 204
    assert listed(api, session)[0]["id"] == key["id"]


# --- Admin -------------------------------------------------------------------------------


def test_admin_shows_name_hint_and_scopes(api, session):
    key = created(api, session, name="deploy bot", scopes=["read"])
    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    browser.force_login(admin)
    detail = browser.get(reverse("admin:durin_authtoken_change", args=[key["id"]]))
    text = detail.content.decode()
    assert "deploy bot" in text and key["hint"] in text and "read" in text
    assert key["token"] not in text
    listing = browser.get(reverse("admin:durin_authtoken_changelist")).content.decode()
    assert "deploy bot" in listing and key["hint"] in listing


# --- Races (a server database) -----------------------------------------------------------

server_database = pytest.mark.skipif(
    "sqlite" in django_settings.DATABASES["default"]["ENGINE"],
    reason="SQLite in memory is one connection per thread; this runs on PostgreSQL and MariaDB",
)


@server_database
@pytest.mark.django_db(transaction=True)
def test_creates_at_once_never_pass_the_limit(api, session, key_client):
    from .test_concurrency import in_threads

    created(api, session, name="first")
    responses = in_threads(8, lambda api: create(api, session, {"name": "racer"}))
    codes = sorted(getattr(r, "status_code", r) for r in responses)
    assert codes == [201, 201] + [403] * 6, codes
    assert AuthToken.objects.filter(client=key_client).count() == 3


@server_database
@pytest.mark.django_db(transaction=True)
def test_rolls_of_one_key_at_once_make_one_new_key(api, session, key_client):
    from .test_concurrency import in_threads

    old = created(api, session)
    responses = in_threads(6, lambda api: roll(api, session, old["id"], {"grace": 60}))
    codes = sorted(getattr(r, "status_code", r) for r in responses)
    assert codes == [201] + [400] * 5, codes
    assert AuthToken.objects.filter(client=key_client).count() == 2
