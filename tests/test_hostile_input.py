"""A hostile client against every endpoint and both authentication classes.

Every test here sends what a careless or malicious client might send and checks
what a user of the package relies on: the status code, the body, and that
nothing was issued, extended or revoked that should not have been. A server
error (500) anywhere is a finding. Tests marked ``xfail(strict=True)`` document
bugs that are still open; each reason starts with ``BUG:``.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from durin import crypto
from durin.models import AuthToken, Client

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db

ON_SERVER_DB = not django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
server_db_only = pytest.mark.skipif(
    not ON_SERVER_DB,
    reason="real concurrency needs PostgreSQL or MariaDB (in-memory SQLite locks whole tables)",
)

LOGIN = "durin_login"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}
INVALID = "Invalid token."
EXPIRED = "The given token has expired."
INACTIVE = "User inactive or deleted."
NO_CREDENTIALS = "Invalid token header. No credentials provided."
SPACES = "Invalid token header. Token string should not contain spaces."
CHARACTERS = "Invalid token header. Token string should not contain invalid characters."
NOT_PROVIDED = "Authentication credentials were not provided."
DURIN_REFUSALS = {INVALID, EXPIRED, INACTIVE, NO_CREDENTIALS, SPACES, CHARACTERS}


@pytest.fixture(autouse=True)
def _private_redis_namespace(settings):
    """On Redis, keys of this module's own, in a logical database of their own.

    Other test runs sharing the Redis server flush its test database and count
    failed logins for alice@127.0.0.1 too; the throttle tests here must see
    neither. The prefix is unique, so nothing needs clearing: every key has a TTL.
    """
    default = settings.CACHES["default"]
    if "redis" not in default["BACKEND"].lower():
        return
    location = default["LOCATION"]
    base, _, db = location.rpartition("/")
    if db.isdigit():
        location = f"{base}/{14 if db != '14' else 13}"
    private = {**default, "LOCATION": location, "KEY_PREFIX": f"durin-hostile-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "default": private}


@pytest.fixture
def hostile() -> APIClient:
    """A client that gets a 500 back as a response instead of an exception."""
    return APIClient(raise_request_exception=False)


@pytest.fixture
def api_access(make_client, settings):
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    return make_client("api", token_ttl=timedelta(days=365))


def login_body(username="alice", password=PASSWORD, client="web"):
    return {"username": username, "password": password, "client": client}


def post_login(api, body=None, **extra):
    return api.post(reverse(LOGIN), login_body() if body is None else body, format="json", **extra)


def raw_login(api, payload, content_type="application/json", **extra):
    return api.generic("POST", reverse(LOGIN), payload, content_type=content_type, **extra)


def whoami(api, token, url="whoami"):
    return api.get(reverse(url), **auth_header(token))


def still_works(api, token) -> bool:
    response = whoami(api, token)
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def no_token_issued():
    return not AuthToken.objects.exists()


# Every view that needs a token, with a method it answers. The session detail
# gets the id of a session that exists, so a refusal cannot be a plain 404.
TOKEN_CALLS = [
    ("post", "durin_refresh"),
    ("post", "durin_logout"),
    ("post", "durin_logoutall"),
    ("get", "durin_tokensessions-list"),
    ("delete", "durin_tokensessions-detail"),
    ("get", "durin_apiaccess"),
    ("post", "durin_apiaccess"),
    ("delete", "durin_apiaccess"),
]


def call(api, method, name, token=None, session_id=None, **extra):
    args = [session_id] if name == "durin_tokensessions-detail" else []
    headers = auth_header(token) if token is not None else {}
    return getattr(api, method)(reverse(name, args=args), **headers, **extra)


# --- The Authorization header -----------------------------------------------------------

AUTH_URLS = ["whoami", "cached-whoami", "durin_tokensessions-list"]


def hostile_headers(token: str, other: str):
    """(header value, what must happen): a username, or the expected refusal detail."""
    return [
        # Tolerated spellings of a good header.
        (f"Token {token}", "alice"),
        (f"TOKEN {token}", "alice"),
        (f"token {token}", "alice"),
        (f"  Token    {token}   ", "alice"),
        # Prefix alone, in any case, with trailing junk whitespace.
        ("Token", NO_CREDENTIALS),
        ("token", NO_CREDENTIALS),
        ("Token \t\r\n ", NO_CREDENTIALS),
        # Not durin's scheme: not ours, so the view's own "not provided".
        (f"Token\x00{token}", NOT_PROVIDED),
        (f"Token:{token}", NOT_PROVIDED),
        (f"Token{token}", NOT_PROVIDED),
        (f"Token\xa0{token}", NOT_PROVIDED),
        (f"Token\u2003{token}", NOT_PROVIDED),
        (f"Bearer {token}", NOT_PROVIDED),
        (f"Basic {token}", NOT_PROVIDED),
        ("", NOT_PROVIDED),
        # A presented token, refused.
        (f"Token {token}\x00", INVALID),
        (f"Token \x00{token}", INVALID),
        (f"Token {token}=", INVALID),
        (f"Token {token[:-1]}", INVALID),
        (f"Token {token}A", INVALID),
        (f"Token {token.swapcase()}", INVALID),
        (f"Token {token},{other}", INVALID),
        (f"Token {token};", INVALID),
        (f"Token '{token}'", INVALID),
        (f'Token "{token}"', INVALID),
        ("Token " + "A" * 64, INVALID),
        ("Token " + "Z" * 1_000_000, INVALID),
        ("Token " + "\x01\x02\x03\x7f" * 16, INVALID),
        # Two words, two tokens, header injection, two headers folded into one.
        (f"Token {token} {token}", SPACES),
        (f"Token {token}\r\nX-Injected: yes", SPACES),
        (f"Token {token}, Token {other}", SPACES),
        (f"Token {token},Token {other}", SPACES),
        (f"Token {other}\tToken {token}", SPACES),
        ("Token " + "a " * 50_000, SPACES),
        # Bytes that are not text.
        (f"Token {token}\xa0", CHARACTERS),
        ("Token \xe9\xe8\xe0", CHARACTERS),
        ("Token " + "\xff" * 64, CHARACTERS),
        ("Token \u2603" + token, CHARACTERS),
        ("Token \ud800" + token, CHARACTERS),
        ("Token " + token[:20] + "\u0000\u202e" + token[20:], CHARACTERS),
    ]


@pytest.mark.parametrize("url", AUTH_URLS)
def test_hostile_authorization_headers(hostile, token, other_user, web, url):
    others = AuthToken.objects.create(other_user, web)
    cases = hostile_headers(token.token, others.token)
    for header, expected in cases:
        response = hostile.get(reverse(url), HTTP_AUTHORIZATION=header)
        label = repr(header[:80])
        body = response.content.decode("utf-8", "replace")
        assert token.token not in body and others.token not in body, label
        if expected == "alice":
            assert response.status_code == 200, (label, response.content[:200])
            if url != "durin_tokensessions-list":
                assert response.json()["username"] == "alice", label
            continue
        assert response.status_code == 401, (label, response.status_code, response.content[:200])
        assert response.json() == {"detail": expected}, label
        www = response["WWW-Authenticate"]
        assert "\r" not in www and "\n" not in www and "Injected" not in www, label
        if expected in (NOT_PROVIDED, NO_CREDENTIALS):
            assert www == "Token", label
        else:
            assert www == f'Token error="invalid_token", error_description="{expected}"', label
        assert "X-Injected" not in response.headers, label
    # Nothing above logged anyone out or authenticated bob.
    assert whoami(hostile, token).json()["username"] == "alice"
    assert whoami(hostile, others).json()["username"] == "bob"


@pytest.mark.parametrize(
    "header",
    [
        "Token A{}".format("A" * 63),
        "Token " + "Z" * 600,
        "Token \x00" + "A" * 63,
        "Token \xe9" * 3,
        "Token \u2603",
        "Token a b",
        "Token",
        "Token abc,def",
    ],
)
def test_malformed_headers_cost_no_query_on_a_token_view(hostile, token, header):
    with CaptureQueriesContext(connection) as queries:
        response = hostile.post(reverse("durin_logout"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"] in DURIN_REFUSALS
    assert queries.captured_queries == []
    assert still_works(hostile, token)


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_X_AUTHORIZATION": "Token {token}"},
        {"HTTP_PROXY_AUTHORIZATION": "Token {token}"},
        {"HTTP_AUTHORIZATION_TOKEN": "{token}"},
        {"HTTP_TOKEN": "{token}"},
        {"HTTP_COOKIE": "token={token}; sessionid={token}"},
        {"QUERY_STRING": "token={token}&auth_token={token}"},
        {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg==", "HTTP_X_AUTHORIZATION": "Token {token}"},
    ],
)
def test_a_token_anywhere_but_the_authorization_header_is_ignored(hostile, token, extra):
    meta = {key: value.format(token=token.token) for key, value in extra.items()}
    for method, name in TOKEN_CALLS:
        response = call(hostile, method, name, session_id=token.pk, **meta)
        assert response.status_code == 401, (name, response.content)
        assert response.json() == {"detail": NOT_PROVIDED}
        assert response["WWW-Authenticate"] == "Token"
    assert still_works(hostile, token)


# --- Tokens that are not (or no longer) good, on every view that needs one --------------


def _expire(token):
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))


def _revoke(token):
    AuthToken.objects.filter(pk=token.pk).delete()


def _delete_client(token):
    Client.objects.filter(pk=token.client_id).delete()


def _delete_user(token):
    get_user_model().objects.filter(pk=token.user_id).delete()


def _deactivate_without_signals(token):
    # A bulk update sends no signal, so the token row survives: the auth row of the table.
    get_user_model().objects.filter(pk=token.user_id).update(is_active=False)


BAD_STATES = [
    (_expire, EXPIRED),
    (_revoke, INVALID),
    (_delete_client, INVALID),
    (_delete_user, INVALID),
    (_deactivate_without_signals, INACTIVE),
]


@pytest.mark.parametrize(("spoil", "detail"), BAD_STATES, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize(("method", "name"), TOKEN_CALLS)
def test_spoiled_tokens_are_refused_by_every_token_view(
    hostile, user, other_user, web, mobile, api_access, spoil, detail, method, name
):
    token = AuthToken.objects.create(user, web)
    own_other_session = AuthToken.objects.create(user, mobile)
    bystander = AuthToken.objects.create(other_user, mobile)  # survives deleting web
    bystander_key = AuthToken.objects.create(other_user, api_access)
    spoil(token)
    before = set(AuthToken.objects.values_list("pk", "expiry"))
    response = call(hostile, method, name, token.token, session_id=own_other_session.pk)
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": detail}
    assert response["WWW-Authenticate"] == (
        f'Token error="invalid_token", error_description="{detail}"'
    )
    after = set(AuthToken.objects.values_list("pk", "expiry"))
    if detail == EXPIRED:  # the expired token is deleted, and nothing else changes
        assert after == {row for row in before if row[0] != token.pk}
    else:  # nothing issued, renewed or revoked
        assert after == before
    assert still_works(hostile, bystander) and still_works(hostile, bystander_key)


def _deactivate(token):
    user = get_user_model().objects.get(pk=token.user_id)
    user.is_active = False
    user.save()


@pytest.mark.django_db(transaction=True)  # cache invalidation happens on commit
@pytest.mark.parametrize("url", ["whoami", "cached-whoami"])
@pytest.mark.parametrize(
    ("spoil", "detail"),
    [
        (_expire, EXPIRED),
        (_revoke, INVALID),
        (_delete_client, INVALID),
        (_delete_user, INVALID),
        (_deactivate, INACTIVE),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_spoiled_tokens_are_refused_after_being_cached(
    hostile, token, url, spoil, detail, settings
):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_DEACTIVATION": False}  # keep the row: its own answer
    for _ in range(2):  # warm the cache, then read from it
        assert whoami(hostile, token, url).json()["username"] == "alice"
    if spoil is _expire:
        with time_machine.travel(token.expiry + timedelta(seconds=1)):
            response = whoami(hostile, token, url)
    else:
        spoil(token)
        response = whoami(hostile, token, url)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}


# --- Tokens of somebody else, or of another client --------------------------------------


def test_another_users_session_id_is_indistinguishable_from_a_missing_one(
    hostile, token, other_user, web
):
    bobs = AuthToken.objects.create(other_user, web)
    missing = AuthToken.objects.order_by("-pk").first().pk + 1000
    theirs = call(hostile, "delete", "durin_tokensessions-detail", token.token, session_id=bobs.pk)
    nobodys = call(hostile, "delete", "durin_tokensessions-detail", token.token, session_id=missing)
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.content == nobodys.content
    assert set(theirs.json()) == {"detail"}
    assert still_works(hostile, bobs) and still_works(hostile, token)


def test_a_session_id_is_not_read_from_the_body(hostile, token, user, other_user, web, mobile):
    bobs = AuthToken.objects.create(other_user, web)
    mine = AuthToken.objects.create(user, mobile)
    url = reverse("durin_tokensessions-detail", args=[mine.pk])
    body = {"id": bobs.pk, "pk": bobs.pk, "user": other_user.pk}
    response = hostile.delete(url, body, format="json", **auth_header(token))
    assert response.status_code == 204
    assert not AuthToken.objects.filter(pk=mine.pk).exists()
    assert still_works(hostile, bobs) and still_works(hostile, token)


@pytest.mark.parametrize("spelling", ["{pk}", "0{pk}", "000000{pk}"])
def test_the_current_session_cannot_be_deleted_under_another_spelling(hostile, token, spelling):
    url = "/api/auth/sessions/" + spelling.format(pk=token.pk)
    response = hostile.delete(url, **auth_header(token))
    assert response.status_code == 400
    assert "logout" in response.json()["detail"]
    assert still_works(hostile, token)


def test_expired_own_session_cannot_be_deleted_as_a_live_one(hostile, token, user, mobile):
    stale = AuthToken.objects.create(user, mobile)
    _expire(stale)
    response = call(
        hostile, "delete", "durin_tokensessions-detail", token.token, session_id=stale.pk
    )
    assert response.status_code == 404
    assert "detail" in response.json()


def test_api_access_client_sessions_hidden_when_excluded_cannot_be_deleted_either(
    hostile, token, api_access, settings
):
    created = call(hostile, "post", "durin_apiaccess", token.token)
    assert created.status_code == 201
    key = AuthToken.objects.get(client=api_access)
    settings.REST_DURIN = {
        "API_ACCESS_CLIENT_NAME": "api",
        "API_ACCESS_EXCLUDE_FROM_SESSIONS": True,
    }
    response = call(hostile, "delete", "durin_tokensessions-detail", token.token, session_id=key.pk)
    assert response.status_code == 404
    assert still_works(hostile, created.json()["token"])


def test_refresh_renews_only_the_presented_token(hostile, user, make_client):
    web = make_client("web", token_ttl=timedelta(hours=1))
    cli = make_client("cli", token_ttl=timedelta(days=30))
    web_token = AuthToken.objects.create(user, web)
    cli_token = AuthToken.objects.create(user, cli)
    cli_expiry = AuthToken.objects.get(pk=cli_token.pk).expiry
    response = call(hostile, "post", "durin_refresh", web_token.token)
    assert response.status_code == 200
    new_expiry = parse_datetime(response.json()["expiry"])
    assert abs(new_expiry - (timezone.now() + timedelta(hours=1))) < timedelta(seconds=30)
    assert AuthToken.objects.get(pk=cli_token.pk).expiry == cli_expiry


def test_logout_all_with_bobs_token_only_logs_bob_out(hostile, token, other_user, web, mobile):
    bobs = AuthToken.objects.create(other_user, web)
    bobs_phone = AuthToken.objects.create(other_user, mobile)
    body = {"user": token.user_id, "username": "alice"}
    response = hostile.post(reverse("durin_logoutall"), body, format="json", **auth_header(bobs))
    assert response.status_code == 204
    assert not still_works(hostile, bobs) and not still_works(hostile, bobs_phone)
    assert still_works(hostile, token)


def test_api_key_of_bob_cannot_be_seen_or_deleted_by_alice(
    hostile, token, other_user, web, api_access
):
    bobs = AuthToken.objects.create(other_user, web)
    key = call(hostile, "post", "durin_apiaccess", bobs.token).json()["token"]
    assert call(hostile, "get", "durin_apiaccess", token.token).status_code == 404
    assert call(hostile, "delete", "durin_apiaccess", token.token).status_code == 404
    assert still_works(hostile, key)


# --- Mass assignment: bodies the token views must not read ------------------------------


def test_refresh_ignores_an_expiry_in_the_body(hostile, token, web):
    far = "2999-01-01T00:00:00Z"
    for body in ({"expiry": far}, {"token_ttl": "9999 00:00:00", "client": "other"}):
        response = hostile.post(reverse("durin_refresh"), body, format="json", **auth_header(token))
        assert response.status_code == 200
        expiry = parse_datetime(response.json()["expiry"])
        assert expiry < timezone.now() + web.token_ttl + timedelta(minutes=1)
    assert AuthToken.objects.get(pk=token.pk).expiry < timezone.now() + timedelta(days=2)


def test_api_key_post_ignores_a_chosen_token_client_or_expiry(hostile, token, web, api_access):
    chosen = crypto.generate_token(64)
    body = {"token": chosen, "client": "web", "expiry": "2999-01-01T00:00:00Z", "user": 999}
    response = hostile.post(reverse("durin_apiaccess"), body, format="json", **auth_header(token))
    assert response.status_code == 201
    data = response.json()
    assert data["client"] == "api" and data["token"] != chosen
    assert parse_datetime(data["expiry"]) < timezone.now() + timedelta(days=366)
    assert not still_works(hostile, chosen)
    assert whoami(hostile, data["token"]).json() == {"username": "alice", "client": "api"}


def test_login_ignores_a_chosen_token_expiry_or_user(hostile, user, other_user, web):
    chosen = crypto.generate_token(64)
    body = {
        **login_body(),
        "token": chosen,
        "expiry": "2999-01-01T00:00:00Z",
        "user": other_user.pk,
    }
    response = post_login(hostile, body)
    assert response.status_code == 200
    data = response.json()
    assert data["token"] != chosen
    assert parse_datetime(data["expiry"]) < timezone.now() + web.token_ttl + timedelta(minutes=1)
    assert whoami(hostile, data["token"]).json()["username"] == "alice"
    assert not still_works(hostile, chosen)


# --- LoginView: every field, every wrong type -------------------------------------------

WRONG_TYPES = [
    None,
    True,
    False,
    0,
    1.5,
    [],
    {},
    ["alice"],
    {"name": "alice"},
    "",
    " ",
    "x" * 60_000,
]


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
def test_login_credentials_of_the_wrong_type(hostile, user, web, field, value):
    response = post_login(hostile, {**login_body(), field: value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body, dict) and set(body) <= {"username", "password", "non_field_errors"}
    assert "token" not in body
    assert no_token_issued()


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (None, "No client specified."),
        (False, "No client specified."),
        (0, "No client specified."),
        ("", "No client specified."),
        ([], "No client specified."),
        ({}, "No client specified."),
        (True, "The client must be given by its name, a string."),
        (1, "The client must be given by its name, a string."),
        (1.5, "The client must be given by its name, a string."),
        (["web"], "The client must be given by its name, a string."),
        ({"name": "web"}, "The client must be given by its name, a string."),
        ("WEB", "No client with that name."),
        (" web", "No client with that name."),
        ("web\x00", "No client with that name."),
        ("we%", "No client with that name."),
        ("w_b", "No client with that name."),
        ("x" * 60_000, "No client with that name."),
        ("web\u202e", "No client with that name."),
    ],
    ids=repr,
)
def test_login_client_of_the_wrong_type_or_name(hostile, user, web, value, detail):
    response = post_login(hostile, {**login_body(), "client": value})
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": detail}
    assert no_token_issued()


def test_login_client_name_with_a_lone_surrogate(hostile, user, web):
    response = raw_login(
        hostile, '{"username": "alice", "password": "' + PASSWORD + '", "client": "w\\ud800"}'
    )
    assert response.status_code == 400, response.status_code
    assert response.json() == {"detail": "No client with that name."}
    assert no_token_issued()


@pytest.mark.parametrize("field", ["username", "password"])
def test_login_credentials_with_a_lone_surrogate(hostile, user, web, field):
    values = {"username": "alice", "password": PASSWORD, "client": "web", field: "x\\udfff"}
    members = ", ".join(f'"{key}": "{value}"' for key, value in values.items())
    response = raw_login(hostile, "{" + members + "}")
    assert response.status_code == 400
    assert set(response.json()) <= {"username", "password", "non_field_errors"}
    assert no_token_issued()


def test_unknown_user_wrong_password_and_inactive_user_answer_byte_for_byte_the_same(
    hostile, user, make_user, web
):
    make_user("carol", is_active=False)
    attempts = {
        "unknown user": login_body(username="mallory", password="guess"),
        "wrong password": login_body(password="guess"),
        "inactive user": login_body(username="carol"),
    }
    answers = {}
    for label, body in attempts.items():
        for fmt in ("json", "multipart"):
            response = hostile.post(reverse(LOGIN), body, format=fmt)
            answers[(label, fmt)] = (
                response.status_code,
                response.content,
                sorted(response.headers.items()),
            )
    first = answers[("unknown user", "json")]
    assert first[0] == 400 and json.loads(first[1]) == BAD_CREDENTIALS
    for key, answer in answers.items():
        assert answer == first, key
    assert no_token_issued()


@pytest.mark.parametrize("client", [{"client": "nope"}, {}, {"client": ""}, {"client": ["web"]}])
def test_a_refused_client_answers_byte_for_byte_the_same_whatever_the_password(
    hostile, user, web, client
):
    """Checked first and answered as such: the password is never the difference (§12)."""
    answers = set()
    for password in (PASSWORD, "guess"):
        for fmt in ("json", "multipart"):
            if fmt == "multipart" and isinstance(client.get("client"), list):
                continue
            body = {"username": "alice", "password": password, **client}
            response = hostile.post(reverse(LOGIN), body, format=fmt)
            assert response.status_code == 400
            answers.add((fmt, response.content, tuple(sorted(response.headers.items()))))
    assert len({a[1:] for a in answers}) == 1, answers
    assert no_token_issued()


# --- LoginView: bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/json", b""),
        ("application/json", b"   "),
        ("application/json", b"\xef\xbb\xbf{}"),
        ("application/json", b"{}" * 1000),
        ("application/json", b'{"username": "alice", "password": NaN, "client": "web"}'),
        ("application/json", b'{"username": "alice", "password": Infinity, "client": "web"}'),
        ("application/json", b'{"username": "alice", "password": 1e999, "client": "web"}'),
        ("application/json", b'{"username": "alice", "password": ' + b"9" * 5000 + b"}"),
        ("application/json", b'{"username": "alice"' + b', "a": 1' * 5000 + b"}"),
        ("application/json; charset=utf-16", b'{"username": "alice"}'),
        ("application/json; charset=bogus-charset", b"{}"),
        ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(5000)).encode()),
        ("application/x-www-form-urlencoded", b"%%%%&&&===&username"),
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=", b"--\r\n\r\n"),
        ("multipart/form-data; boundary=\x00", b"--\x00\r\n"),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",
        ),
        ("application/xml", b"<login><username>alice</username></login>"),
        ("text/plain", PASSWORD.encode()),
        ("", b"username=alice"),
        ("\x00/\x00", b"{}"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_login_garbage_bodies_are_refused_with_a_4xx(hostile, user, web, content_type, payload):
    response = raw_login(hostile, payload, content_type=content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert no_token_issued()


def _encode(codec: str, text: bytes) -> bytes:
    import codecs

    return (
        codecs.encode(text, codec)
        if codec != "rot13"
        else codecs.encode(text.decode(), codec).encode()
    )


# DRF 3.15 and 3.16 decode a body through any codec Django accepts, bytes-to-bytes ones
# included (a 250-byte bz2 body inflating past the 64 KiB cap); durin's login refuses
# them itself, whatever the DRF.
@pytest.mark.parametrize("codec", ["bz2_codec", "zlib_codec", "base64_codec", "hex_codec", "rot13"])
@pytest.mark.parametrize("media_type", ["application/json", "application/x-www-form-urlencoded"])
def test_login_body_in_a_non_text_charset_is_refused(hostile, user, web, codec, media_type):
    padding = "x" * (1024 * 1024 if codec in ("bz2_codec", "zlib_codec") else 10)
    body = {**login_body(), "padding": padding}
    if media_type == "application/json":
        text = json.dumps(body).encode()
    else:
        text = "&".join(f"{key}={value}" for key, value in body.items()).encode()
    payload = _encode(codec, text)
    assert len(payload) < 64 * 1024
    response = raw_login(hostile, payload, content_type=f"{media_type}; charset={codec}")
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert no_token_issued()


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_login_deeply_nested_json_is_a_400(hostile, user, web, opener):
    closer = "]" if opener == "[" else "}"
    depth = 60_000 // (len(opener) + 1)
    payload = (
        '{"username": "alice", "password": "x", "client": "web", "z": '
        + opener * depth
        + "1" * (opener != "[")
        + closer * depth
        + "}"
    )
    assert len(payload) < 64 * 1024
    response = raw_login(hostile, payload)
    assert response.status_code == 400, response.status_code
    assert "detail" in response.json()
    assert no_token_issued()


@pytest.mark.parametrize("name", [LOGIN, "durin_refresh", "durin_logout", "durin_apiaccess"])
def test_a_body_over_the_cap_is_413_before_anything_happens(hostile, token, name, api_access):
    payload = json.dumps({**login_body(), "padding": "x" * (65 * 1024)})
    before = set(AuthToken.objects.values_list("pk", "expiry"))
    response = hostile.generic(
        "POST", reverse(name), payload, content_type="application/json", **auth_header(token)
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large."}
    assert set(AuthToken.objects.values_list("pk", "expiry")) == before


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("999999999", 413),  # declares too much: refused unread
        (" 70000 ", 413),
        ("+70000", 413),
        ("10", 400),  # declares less than it sends: only that much is read
        ("-1", 400),
        ("abc", 400),
        ("1e9", 400),
        ("", 400),
        ("0", 400),
    ],
)
def test_login_with_a_content_length_that_lies(hostile, user, web, declared, expected):
    payload = json.dumps({**login_body(), "padding": "x" * 200_000})
    response = raw_login(hostile, payload, CONTENT_LENGTH=declared)
    assert response.status_code == expected, (response.status_code, response.content[:200])
    assert isinstance(response.json(), dict)
    assert no_token_issued()


def test_login_by_multipart_with_files(hostile, user, web):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(name, content=b"alice"):
        return SimpleUploadedFile(name, content, content_type="application/octet-stream")

    url = reverse(LOGIN)
    for field in ("username", "password", "client"):
        body = {**login_body(), field: upload(field)}
        response = hostile.post(url, body, format="multipart")
        assert response.status_code == 400, (field, response.content)
        assert no_token_issued()
    # An extra file next to good credentials changes nothing.
    response = hostile.post(url, {**login_body(), "avatar": upload("a.png", b"\x89PNG" * 100)})
    assert response.status_code == 200 and set(response.json()) == {"token", "expiry"}
    # A file that takes the body over the cap is refused before it is parsed.
    big = {**login_body(), "avatar": upload("a.bin", b"\x00" * (70 * 1024))}
    assert hostile.post(url, big, format="multipart").status_code == 413


def test_login_ignores_a_garbage_authorization_header(hostile, user, web):
    for header in ("Token \x00\xff", "Token", "Token a b", f"Token {'A' * 64}"):
        response = post_login(hostile, HTTP_AUTHORIZATION=header)
        assert response.status_code == 200, header
        assert set(response.json()) == {"token", "expiry"}


@pytest.mark.parametrize(
    "agent",
    [
        "x" * 100_000,
        "\u00e9\u00e8" * 500,
        "\x01\x02\x1b[31mred\x1b[0m",
        "'; DROP TABLE durin_authtoken; --",
    ],
    ids=["long", "latin1", "control", "sql"],
)
def test_login_records_a_hostile_user_agent_truncated(hostile, user, web, agent):
    response = post_login(hostile, HTTP_USER_AGENT=agent)
    assert response.status_code == 200
    sessions = call(hostile, "get", "durin_tokensessions-list", response.json()["token"]).json()
    shown = sessions[0]["user_agent"]
    assert len(shown) <= 256
    # Kept as sent, or with its control characters dropped: never more, never mangled otherwise.
    assert shown in (agent[:256], "".join(c for c in agent if c.isprintable())[:256])


def test_login_with_a_nul_byte_in_the_user_agent(hostile, user, web):
    response = post_login(hostile, HTTP_USER_AGENT="evil\x00agent")
    assert response.status_code == 200, response.status_code
    sessions = call(hostile, "get", "durin_tokensessions-list", response.json()["token"]).json()
    assert "\x00" not in sessions[0]["user_agent"]


@pytest.mark.parametrize(
    "remote_addr",
    ["garbage", "1.2.3.4, 5.6.7.8", "999.1.1.1", "1.2.3.4\x00", "", "localhost", "x" * 10_000],
)
def test_login_with_a_hostile_remote_address(hostile, user, web, remote_addr):
    response = post_login(hostile, REMOTE_ADDR=remote_addr)
    assert response.status_code == 200
    sessions = call(hostile, "get", "durin_tokensessions-list", response.json()["token"]).json()
    assert sessions[0]["ip_address"] is None


@pytest.mark.parametrize(
    "forwarded",
    [
        "garbage",
        "1.2.3.4\x00",
        "\u0661.\u0662.\u0663.\u0664",
        "x" * 10_000,
        ",,,,",
        "1.2.3.4 5.6.7.8",
    ],
)
def test_login_with_a_hostile_forwarded_for_behind_a_trusted_proxy(
    hostile, user, web, settings, forwarded
):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": 1}
    response = post_login(hostile, HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200
    sessions = call(hostile, "get", "durin_tokensessions-list", response.json()["token"]).json()
    assert sessions[0]["ip_address"] == "10.0.0.7"


# --- The login throttle -----------------------------------------------------------------


def _fail_ten_times(api, username="alice"):
    for _ in range(10):
        response = post_login(api, login_body(username=username, password="guess"))
        assert response.status_code == 400


def test_throttled_pair_gets_429_even_with_the_right_password(hostile, user, web):
    _fail_ten_times(hostile)
    response = post_login(hostile)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "detail" in response.json() and "token" not in response.json()
    assert no_token_issued()
    # Another address is another pair.
    assert post_login(hostile, REMOTE_ADDR="10.9.9.9").status_code == 200


def test_throttle_answers_the_same_for_known_and_unknown_users(hostile, user, web):
    with time_machine.travel(timezone.now(), tick=False):
        _fail_ten_times(hostile, "alice")
        _fail_ten_times(hostile, "mallory")
        known = post_login(hostile, login_body(username="alice", password="guess"))
        unknown = post_login(hostile, login_body(username="mallory", password="guess"))
    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content
    assert sorted(known.headers.items()) == sorted(unknown.headers.items())


@pytest.mark.parametrize(
    "variant", [" alice", "alice ", "\talice", "alice\n", "\u3000alice", "alice\u2003"]
)
def test_whitespace_around_the_username_does_not_escape_the_throttle(hostile, user, web, variant):
    _fail_ten_times(hostile)
    response = post_login(hostile, login_body(username=variant))
    assert response.status_code == 429, response.status_code
    assert no_token_issued()


def test_a_numeric_username_sent_as_a_json_number_does_not_escape_the_throttle(
    hostile, make_user, web
):
    make_user("12345")
    _fail_ten_times(hostile, "12345")
    response = post_login(hostile, login_body(username=12345))
    assert response.status_code == 429, response.status_code
    assert no_token_issued()


def test_a_forged_forwarded_for_does_not_escape_the_throttle(hostile, user, web):
    for attempt in range(10):
        forged = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{attempt}"}
        assert post_login(hostile, login_body(password="guess"), **forged).status_code == 400
    response = post_login(hostile, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert response.status_code == 429
    assert no_token_issued()


def test_behind_a_trusted_proxy_only_the_hop_it_added_counts(hostile, user, web, settings):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": 1}
    for attempt in range(10):
        # The client writes whatever it likes on the left; the proxy appends what it saw.
        forged = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{attempt}, 203.0.113.7"}
        assert post_login(hostile, login_body(password="guess"), **forged).status_code == 400
    response = post_login(hostile, HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.7")
    assert response.status_code == 429
    other_client = post_login(hostile, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other_client.status_code == 200


# --- Methods ----------------------------------------------------------------------------

VIEW_METHODS = {
    LOGIN: {"post"},
    "durin_refresh": {"post"},
    "durin_logout": {"post"},
    "durin_logoutall": {"post"},
    "durin_tokensessions-list": {"get", "head"},
    "durin_tokensessions-detail": {"delete"},
    "durin_apiaccess": {"get", "head", "post", "delete"},
}


@pytest.mark.parametrize("name", list(VIEW_METHODS))
def test_methods_a_view_does_not_answer_are_405_and_change_nothing(
    hostile, token, user, mobile, api_access, name
):
    other = AuthToken.objects.create(user, mobile)
    before = set(AuthToken.objects.values_list("pk", "expiry"))
    args = [other.pk] if name == "durin_tokensessions-detail" else []
    url = reverse(name, args=args)
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND"):
        if method.lower() in VIEW_METHODS[name]:
            continue
        body = json.dumps(login_body()) if method in ("PUT", "PATCH") else ""
        response = hostile.generic(
            method, url, body, content_type="application/json", **auth_header(token)
        )
        assert response.status_code == 405, (method, response.status_code, response.content)
        if method != "HEAD":
            assert response.json() == {"detail": f'Method "{method}" not allowed.'}
        assert method not in response["Allow"].split(", ")
    assert set(AuthToken.objects.values_list("pk", "expiry")) == before


@pytest.mark.parametrize("name", list(VIEW_METHODS))
def test_options_describes_the_view_and_leaks_nothing(
    hostile, token, user, mobile, api_access, name
):
    other = AuthToken.objects.create(user, mobile)
    args = [other.pk] if name == "durin_tokensessions-detail" else []
    before = set(AuthToken.objects.values_list("pk", "expiry"))
    response = hostile.options(reverse(name, args=args), **auth_header(token))
    assert response.status_code == 200, response.content
    assert "name" in response.json()
    text = response.content.decode()
    assert token.token not in text and token.digest not in text
    assert set(AuthToken.objects.values_list("pk", "expiry")) == before


@pytest.mark.parametrize("name", [n for n in VIEW_METHODS if n != LOGIN])
@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH", "TRACE"])
def test_methods_without_a_token_are_401_on_token_views(hostile, token, name, method):
    args = [token.pk] if name == "durin_tokensessions-detail" else []
    response = hostile.generic(method, reverse(name, args=args))
    assert response.status_code == 401
    assert response.json() == {"detail": NOT_PROVIDED}
    assert still_works(hostile, token)


def test_head_answers_like_get_without_a_body(hostile, token, api_access):
    response = hostile.head(reverse("durin_tokensessions-list"), **auth_header(token))
    assert response.status_code == 200 and response.content == b""
    assert hostile.head(reverse("durin_apiaccess"), **auth_header(token)).status_code == 404
    assert hostile.head(reverse(LOGIN)).status_code == 405


# --- Token views ignore their bodies ----------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/json", "[" * 30_000 + "]" * 30_000),
        ("application/json", "{not json"),
        ("application/json; charset=rot13", "{}"),
        ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(5000))),
        ("multipart/form-data; boundary=", "--\r\n"),
        ("application/xml", "<x/>"),
    ],
    ids=lambda v: repr(v)[:30],
)
@pytest.mark.parametrize(("method", "name"), TOKEN_CALLS)
def test_token_views_never_trip_over_a_body(
    hostile, user, mobile, api_access, method, name, content_type, payload
):
    token = AuthToken.objects.create(user, Client.objects.create(name="web"))
    other = AuthToken.objects.create(user, mobile)
    args = [other.pk] if name == "durin_tokensessions-detail" else []
    response = hostile.generic(
        method.upper(),
        reverse(name, args=args),
        payload,
        content_type=content_type,
        **auth_header(token),
    )
    assert response.status_code in (200, 201, 204, 404), (
        response.status_code,
        response.content[:200],
    )


# --- Browsable API and content negotiation ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "durin_tokensessions-list"),
        ("get", "durin_apiaccess"),
        ("post", "durin_refresh"),
        ("delete", "durin_tokensessions-detail"),
        ("post", "durin_logout"),
    ],
)
def test_browsable_api_pages_render_and_leak_nothing(
    hostile, token, user, mobile, api_access, method, name
):
    other = AuthToken.objects.create(user, mobile)
    hostile.post(reverse("durin_apiaccess"), **auth_header(token))
    key = AuthToken.objects.get(client=api_access)
    args = [other.pk] if name == "durin_tokensessions-detail" else []
    response = getattr(hostile, method)(
        reverse(name, args=args) + "?format=api", HTTP_ACCEPT="text/html", **auth_header(token)
    )
    assert response.status_code in (200, 404), response.status_code
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    for secret in (token.token, token.digest, key.digest, other.digest):
        assert secret not in text


@pytest.mark.parametrize(
    ("accept", "query", "status"),
    [
        ("application/xml", "", 406),
        ("image/png", "", 406),
        ("application/json; indent=99999999", "", 200),
        ("application/json; indent=-3", "", 200),
        ("application/json; indent=abc", "", 200),
        ("*/*;q=abc", "", 200),
        ("*/*", "?format=yaml", 404),
        ("*/*", "?format=json&format=api", 200),
        ("\x00", "", 406),
        ("", "", 406),
    ],
)
def test_content_negotiation_garbage(hostile, token, accept, query, status):
    response = hostile.get(
        reverse("durin_tokensessions-list") + query, HTTP_ACCEPT=accept, **auth_header(token)
    )
    assert response.status_code == status, response.content[:200]
    assert token.token not in response.content.decode()


# --- Localised refusals keep a valid challenge ------------------------------------------


@pytest.mark.parametrize("language", ["ru", "de", "ja"])
def test_www_authenticate_stays_an_ascii_challenge_in_every_language(
    hostile, token, settings, language
):
    settings.MIDDLEWARE = ["django.middleware.locale.LocaleMiddleware", *settings.MIDDLEWARE]
    for header in ("Token nope", "Token a b", "Token \xff"):
        try:
            response = hostile.post(
                reverse("durin_logout"), HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE=language
            )
        finally:
            translation.deactivate()  # LocaleMiddleware leaves the language active
        assert response.status_code == 401
        www = response["WWW-Authenticate"]
        assert www.startswith('Token error="invalid_token", error_description="'), www
        # RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
        description = www.split('error_description="', 1)[1][:-1]
        assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description), www


# --- The admin, as a careless or curious member of staff ---------------------------------


@pytest.fixture
def staff_browser(db):
    from django.test import Client as Browser

    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    browser = Browser(raise_request_exception=False)
    browser.force_login(admin)
    return browser


@pytest.mark.parametrize(
    "data",
    [
        {"user": "abc", "client": ""},
        {"user": "9" * 25, "client": "\x00"},
        {"user": "-1", "client": "1 OR 1=1"},
        {"user": "", "client": "999999"},
    ],
)
def test_admin_token_add_with_garbage_issues_nothing(staff_browser, user, web, data):
    response = staff_browser.post(reverse("admin:durin_authtoken_add"), data)
    assert response.status_code == 200  # the form again, with its errors
    assert "errorlist" in response.content.decode()
    assert no_token_issued()


def test_admin_token_cannot_be_edited(staff_browser, token, user, other_user, mobile):
    url = reverse("admin:durin_authtoken_change", args=[token.pk])
    response = staff_browser.post(url, {"user": other_user.pk, "client": mobile.pk})
    assert response.status_code == 403
    stored = AuthToken.objects.get(pk=token.pk)
    assert (stored.user_id, stored.client_id) == (user.pk, token.client_id)
    page = staff_browser.get(url).content.decode()
    assert token.digest not in page and token.token not in page


@pytest.mark.parametrize(
    "query",
    ["client__name=%00", "client__name=we%00b", "client__id__exact=%00", "client__exact=1%00"],
)
def test_admin_token_list_filter_with_a_nul_byte(staff_browser, token, query):
    response = staff_browser.get(reverse("admin:durin_authtoken_changelist") + "?" + query)
    # The list, the admin's "?e=1" redirect for a bad filter, or a refused lookup: never a 500.
    assert response.status_code in (200, 302, 400), response.status_code
    assert token.digest not in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "client__name=web%ED%A0%80",
        "o=999",
        "client__name=" + "x" * 5000,
        "user__password__startswith=m",
    ],
)
def test_admin_token_list_with_hostile_query_strings(staff_browser, token, query):
    response = staff_browser.get(reverse("admin:durin_authtoken_changelist") + "?" + query)
    assert response.status_code in (200, 302, 400), response.status_code
    assert token.token not in response.content.decode()


# --- Nothing secret in any response, header or log line ---------------------------------


def test_no_token_or_digest_outside_the_response_that_issues_it(
    hostile, user, other_user, web, mobile, api_access, caplog
):
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "durin"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # SQL log lines too: a digest may be there, no plaintext
    seen = []  # (the plaintext this response may show, response)

    def record(response):
        seen.append((None, response))

    def issue(response):
        assert response.status_code in (200, 201), response.content
        plaintext = response.json()["token"]
        seen.append((plaintext, response))
        return plaintext

    try:
        main = issue(post_login(hostile, HTTP_USER_AGENT="ua-1"))
        phone = issue(post_login(hostile, login_body(client="mobile")))
        bobs = issue(post_login(hostile, login_body(username="bob")))
        key = issue(hostile.post(reverse("durin_apiaccess"), **auth_header(main)))
        phone_id = AuthToken.objects.get(client=mobile).pk

        calls = [c for c in TOKEN_CALLS if c[1] not in ("durin_logout", "durin_logoutall")]
        calls.remove(("delete", "durin_apiaccess"))
        calls += [("put", "durin_refresh"), ("options", "durin_apiaccess"), ("get", "durin_logout")]
        for method, name in calls:
            for presented in (main, "A" * 64, main[:-1], bobs[::-1], None):
                record(call(hostile, method, name, presented, session_id=phone_id))
        record(call(hostile, "delete", "durin_tokensessions-detail", main, session_id=phone_id))
        for name in ("durin_tokensessions-list", "durin_apiaccess"):
            record(hostile.get(reverse(name) + "?format=api", **auth_header(main)))
        record(post_login(hostile, login_body(password="guess")))
        record(post_login(hostile, login_body(client="nope")))
        record(whoami(hostile, key, "cached-whoami"))
        record(whoami(hostile, key, "cached-whoami"))
        record(whoami(hostile, phone))  # its session was deleted above
        with time_machine.travel(timezone.now() + timedelta(days=2)):
            record(whoami(hostile, bobs))
            record(whoami(hostile, main, "cached-whoami"))
        record(call(hostile, "delete", "durin_apiaccess", key))
        record(call(hostile, "post", "durin_logoutall", key))
    finally:
        connection.force_debug_cursor = False

    secrets = [(t, crypto.digest(t)) for t in (main, phone, bobs, key)]
    statuses = {response.status_code for _, response in seen}
    assert 500 not in statuses
    assert {200, 201, 204, 400, 401, 404, 405} <= statuses
    for issued, response in seen:
        text = response.content.decode("utf-8", "replace")
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        where = (response.request["REQUEST_METHOD"], response.request["PATH_INFO"])
        for plaintext, digest in secrets:
            if plaintext != issued:
                assert plaintext not in text and plaintext not in headers, where
            assert digest not in text and digest not in headers, where
    sql, other_logs = [], []
    for r in caplog.records:
        line = f"{r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r} {r.exc_text or ''}"
        (sql if r.name == "django.db.backends" else other_logs).append(line)
    assert sql and other_logs  # both were really captured
    for plaintext, digest in secrets:
        assert all(plaintext not in line for line in sql + other_logs)
        assert all(digest not in line for line in other_logs)


# --- Races (PostgreSQL) -----------------------------------------------------------------


def _together(*requests):
    """Send the requests at the same moment, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index, request):
        method, url, extra = request
        try:
            barrier.wait(timeout=10)
            api = APIClient(raise_request_exception=False)
            results[index] = getattr(api, method)(url, format="json", **extra)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(r is not None and not isinstance(r, Exception) for r in results), results
    return results


@server_db_only
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_api_key_posts_leave_exactly_one_key(user, web, api_access):
    token = AuthToken.objects.create(user, web).token
    post = ("post", reverse("durin_apiaccess"), auth_header(token))
    for _ in range(5):
        results = _together(post, post)
        assert sorted(r.status_code for r in results) == [201, 400], [r.content for r in results]
        issued = next(r for r in results if r.status_code == 201).json()["token"]
        refused = next(r for r in results if r.status_code == 400)
        assert refused.json() == {"detail": "An API token was already issued to you."}
        assert AuthToken.objects.live().filter(user=user, client=api_access).count() == 1
        assert whoami(APIClient(), issued).json() == {"username": "alice", "client": "api"}
        AuthToken.objects.filter(client=api_access).delete()


@server_db_only
@pytest.mark.django_db(transaction=True)
def test_logout_racing_refresh_of_the_same_token(user, web):
    for _ in range(8):
        token = AuthToken.objects.create(user, web).token
        logout = ("post", reverse("durin_logout"), auth_header(token))
        refresh = ("post", reverse("durin_refresh"), auth_header(token))
        out, renewed = _together(logout, refresh)
        assert out.status_code == 204, out.content  # nothing else can take the token away
        assert renewed.status_code in (200, 401), renewed.content
        if renewed.status_code == 401:
            assert renewed.json() == {"detail": INVALID}
        # Whatever the order, the refresh never undoes the logout.
        assert not AuthToken.objects.exists()
        assert whoami(APIClient(), token).status_code == 401


@server_db_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_logins_respect_the_session_limit(user, make_client):
    make_client("web")
    make_client("kiosk", session_limit_action=Client.REFUSE)
    login = ("post", reverse(LOGIN), {"data": login_body()})
    kiosk = ("post", reverse(LOGIN), {"data": login_body(client="kiosk")})
    for _ in range(4):
        results = _together(login, login, login)
        assert [r.status_code for r in results] == [200, 200, 200], [r.content for r in results]
        live = [r for r in results if still_works(APIClient(), r.json()["token"])]
        assert len(live) == 1
        assert AuthToken.objects.live().filter(client__name="web").count() == 1

        results = _together(kiosk, kiosk, kiosk)
        # At the limit, the refusal is the 400 of a wrong password (§12: no password oracle).
        assert sorted(r.status_code for r in results) == [200, 400, 400]
        assert AuthToken.objects.live().filter(client__name="kiosk").count() == 1
        AuthToken.objects.all().delete()


@server_db_only
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deletes_of_one_session(user, web, mobile):
    token = AuthToken.objects.create(user, web).token
    for _ in range(5):
        other = AuthToken.objects.create(user, mobile)
        url = reverse("durin_tokensessions-detail", args=[other.pk])
        results = _together(
            ("delete", url, auth_header(token)), ("delete", url, auth_header(token))
        )
        assert {r.status_code for r in results} <= {204, 404}
        assert 204 in [r.status_code for r in results]
        assert not AuthToken.objects.filter(pk=other.pk).exists()
    assert still_works(APIClient(), token)
