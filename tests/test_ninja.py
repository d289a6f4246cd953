"""durin's django-ninja auth, ``durin.contrib.ninja.TokenAuth`` (CONTRACT §11, §3).

Sync and async operations, under both authentication classes, with ``handle_refusals`` (the
challenge) and without it (ninja's body alone). Django's test client runs an async operation
through ``async_to_sync`` and sends its database work back to the test's thread, so the test
database and its query counts are those of the test. The APIs are in tests/ninja_api.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache.backends.redis import RedisCache
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from durin import async_redis, crypto
from durin import cache as token_cache
from durin.models import AuthToken
from durin.signals import token_expired, token_revoked

from .conftest import PASSWORD, Received, auth_header, no_queries
from .thread_hops import counted_hops  # noqa: F401 (the fixture `hops`)

pytest.importorskip("ninja", reason="django-ninja (the ninja extra) is not installed")

from ninja.security.base import AuthBase  # noqa: E402

from durin.auth import CachedTokenAuthentication, TokenAuthentication  # noqa: E402
from durin.contrib.ninja import TokenAuth, TokenRefused  # noqa: E402

from . import ninja_api  # noqa: E402

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.async_urls")]

CLASSES = ["plain", "cached"]
OPS = ["sync", "async"]
MODES = ["challenge", "body-only"]
INVALID = "Invalid token."
CHARACTERS = "Invalid token header. Token string should not contain invalid characters."


def url(cls: str, op: str, mode: str = "challenge") -> str:
    return f"/ninja/{cls}/{mode}/{op}"


def ok(response: Any, op: str, token: AuthToken) -> None:
    """A 200 with what the operation was handed: the token's user, the token, its client."""
    assert response.status_code == 200, response.content
    assert response.json() == {
        "username": "alice",
        "auser": "alice" if op == "async" else None,
        "auth_is_token": True,
        "token_id": token.pk,
        "client": token.client.name,
        "same_user": True,
    }


def refused(response: Any, message: str, mode: str, challenge: str | None = None) -> None:
    """A 401 with durin's body; its challenge with ``handle_refusals``, none without."""
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": message}
    if mode == "body-only":
        assert not response.has_header("WWW-Authenticate")
    elif challenge is None:
        assert response["WWW-Authenticate"] == (
            f'Token error="invalid_token", error_description="{message}"'
        )
    else:
        assert response["WWW-Authenticate"] == challenge


# --- A valid token ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
def test_a_valid_token_costs_one_query_with_the_plain_class(
    api, token, op, mode, django_assert_num_queries
):
    for _ in range(2):
        with django_assert_num_queries(1):  # the token, its user and client joined
            ok(api.get(url("plain", op, mode), **auth_header(token)), op, token)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
def test_a_valid_token_costs_one_query_then_none_with_the_cached_class(
    api, token, op, mode, django_assert_num_queries
):
    with django_assert_num_queries(1):
        ok(api.get(url("cached", op, mode), **auth_header(token)), op, token)
    for _ in range(2):
        with django_assert_num_queries(0):
            ok(api.get(url("cached", op, mode), **auth_header(token)), op, token)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
def test_request_auth_is_the_token_with_its_user_and_client(cls, op, token, user, rf):
    """What ``TokenAuth`` itself answers ninja, and what it leaves on the request."""
    from asgiref.sync import async_to_sync

    auth = TokenAuth(ninja_api.CLASSES[cls])
    request = rf.get("/", **auth_header(token))
    found = async_to_sync(auth.aauthenticate)(request) if op == "async" else auth(request)
    assert isinstance(found, AuthToken) and found.pk == token.pk
    assert request.auth is found and request.user == user and found.user is request.user
    with no_queries():
        assert found.client.name == "web"
        assert async_to_sync(request.auser)() is request.user


def test_a_sync_call_answers_at_once_and_an_async_one_with_a_coroutine(token, rf):
    """ninja awaits what an async-marked auth returns on an async operation, and uses a sync
    operation's answer as it is: ``TokenAuth`` answers each in its own way."""
    import asyncio

    auth = TokenAuth(CachedTokenAuthentication)
    assert auth.is_async and isinstance(auth, AuthBase)
    request = rf.get("/", **auth_header(token))
    assert isinstance(auth(request), AuthToken)

    async def from_a_loop() -> Any:
        pending = auth(request)
        assert asyncio.iscoroutine(pending)
        return await pending

    assert asyncio.run(from_a_loop()).pk == token.pk


# --- Every row of §3 -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("header", [None, "", "Bearer abc", "Basic cm9ib3Q6YmVlcA=="])
def test_no_header_or_another_scheme_is_not_durins(api, token, cls, op, mode, header):
    """``TokenAuth`` answers ``None``; with no other auth, ninja refuses with its own 401."""
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    with no_queries():
        response = api.get(url(cls, op, mode), **headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize("op", OPS)
def test_a_request_without_credentials_is_challenged_with_handle_refusals(api, op):
    """ninja's own 401 (no auth class took the request) gets durin's scheme (RFC 7235 §3.1)."""
    response = api.get(url("cached", op))
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("header", "message", "challenge"),
    [
        ("Token", "Invalid token header. No credentials provided.", "Token"),
        ("Token   ", "Invalid token header. No credentials provided.", "Token"),
        ("tOkEn", "Invalid token header. No credentials provided.", "Token"),
        ("Token a b", "Invalid token header. Token string should not contain spaces.", None),
        ("Token not-a-token", INVALID, None),
        ("Token " + "A" * 64, INVALID, None),
        ("Token abc\x00def", INVALID, None),
        ("Token " + "a" * 100_000, INVALID, None),  # a huge header
        (
            "Token " + "a " * 50_000,
            "Invalid token header. Token string should not contain spaces.",
            None,
        ),
        ("Token \u2603snowman", CHARACTERS, None),  # beyond Latin-1
        ("Token \xff\xfe\xfd", CHARACTERS, None),  # Latin-1 text, not UTF-8 underneath
        ("Token \xc3\x28abc", CHARACTERS, None),
        ("Token caf\xc3\xa9", INVALID, None),  # UTF-8 ("café"), but no token
    ],
    ids=[
        "prefix-alone",
        "prefix-and-spaces",
        "prefix-alone-any-case",
        "two-words",
        "malformed",
        "bad-checksum",
        "nul-byte",
        "huge",
        "huge-many-words",
        "beyond-latin-1",
        "not-utf-8",
        "broken-utf-8",
        "utf-8-not-a-token",
    ],
)
def test_refused_headers_cost_no_query(api, token, cls, op, mode, header, message, challenge):
    with no_queries():
        response = api.get(url(cls, op, mode), HTTP_AUTHORIZATION=header)
    refused(response, message, mode, challenge)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
def test_the_prefix_is_case_insensitive(api, token, cls, op):
    ok(api.get(url(cls, op), HTTP_AUTHORIZATION=f"tOkEn {token}"), op, token)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
def test_a_custom_prefix_is_read_on_each_request(api, token, cls, op, settings):
    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": "Bearer"}
    ok(api.get(url(cls, op), **auth_header(token, "Bearer")), op, token)
    assert api.get(url(cls, op), **auth_header(token)).json() == {"detail": "Unauthorized"}
    response = api.get(url(cls, op), **auth_header("nope", "Bearer"))
    refused(
        response,
        INVALID,
        "challenge",
        f'Bearer error="invalid_token", error_description="{INVALID}"',
    )


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
def test_a_token_that_is_gone_costs_two_queries(api, cls, op, django_assert_num_queries):
    """A well-formed token no row has: the lookup, then the rotation history."""
    unknown = crypto.generate_token(64)
    with django_assert_num_queries(2):
        refused(api.get(url(cls, op), **auth_header(unknown)), INVALID, "challenge")


@pytest.mark.django_db(transaction=True)  # the deletion must commit to reach the cache
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
def test_an_expired_token_is_refused_deleted_and_signalled(api, token, cls, op, mode):
    ok(api.get(url(cls, op), **auth_header(token)), op, token)  # cached while valid
    with Received(token_expired) as expired:
        with time_machine.travel(token.expiry + timedelta(seconds=1)):
            response = api.get(url(cls, op, mode), **auth_header(token))
    refused(response, "The given token has expired.", mode)
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    assert [(call["username"], call["source"]) for call in expired] == [("alice", "auth_token")]
    refused(api.get(url(cls, op, mode), **auth_header(token)), INVALID, mode)


@pytest.mark.django_db(transaction=True)  # the user's change reaches the cache on commit
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
def test_an_inactive_user_is_refused(api, token, user, cls, op, mode, settings):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_DEACTIVATION": False}  # else the token is gone
    ok(api.get(url(cls, op), **auth_header(token)), op, token)
    user.is_active = False
    user.save()
    refused(api.get(url(cls, op, mode), **auth_header(token)), "User inactive or deleted.", mode)


def test_the_refusal_carries_durins_stable_code(token, rf):
    auth = TokenAuth()
    for header, code in [("Token", "token_header_empty"), ("Token nope", "token_invalid")]:
        with pytest.raises(TokenRefused) as raised:
            auth(rf.get("/", HTTP_AUTHORIZATION=header))
        assert raised.value.code == code and raised.value.status_code == 401


# --- Revocations, on the very next request ---------------------------------------------------


def _logout(api, user, token, mobile) -> AuthToken:
    assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    return token


def _logout_all(api, user, token, mobile) -> AuthToken:
    assert api.post(reverse("durin_logoutall"), **auth_header(token)).status_code == 204
    return token


def _session_delete(api, user, token, mobile) -> AuthToken:
    other = AuthToken.objects.create(user, mobile)
    warm(api, other)
    url_ = reverse("durin_tokensessions-detail", args=[other.pk])
    assert api.delete(url_, **auth_header(token)).status_code == 204
    return other


def _password_change(api, user, token, mobile) -> AuthToken:
    user.set_password("another one")
    user.save()
    return token


def _deactivation(api, user, token, mobile) -> AuthToken:
    user.is_active = False
    user.save()
    return token


def _admin_delete(api, user, token, mobile) -> AuthToken:
    browser = BrowserClient()
    browser.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw"))
    url_ = reverse("admin:durin_authtoken_delete", args=[token.pk])
    assert browser.post(url_, {"post": "yes"}).status_code == 302
    return token


def _second_login(api, user, token, mobile) -> AuthToken:
    body = {"username": "alice", "password": PASSWORD, "client": "web"}  # session_limit 1
    assert api.post(reverse("durin_login"), body, format="json").status_code == 200
    return token


REVOCATIONS: dict[str, Callable[..., AuthToken]] = {
    "logout": _logout,
    "logoutall": _logout_all,
    "session-delete": _session_delete,
    "password-change": _password_change,
    "deactivation": _deactivation,
    "admin-delete": _admin_delete,
    "second-login": _second_login,
}

#: The operations a revoked token is tried on: each class, each kind of operation.
ALL_OPERATIONS = [url(cls, op) for cls in CLASSES for op in OPS]


def warm(api, token: AuthToken) -> None:
    """The token, served by every operation, so that it is in the cache."""
    for path in ALL_OPERATIONS:
        assert api.get(path, **auth_header(token)).status_code == 200
    assert token_cache.read(token.digest)[0] is not None


@pytest.mark.django_db(transaction=True)  # revocations reach the cache on commit
@pytest.mark.parametrize("revocation", REVOCATIONS)
def test_a_revocation_holds_on_the_very_next_request(api, user, token, mobile, revocation):
    warm(api, token)
    victim = REVOCATIONS[revocation](api, user, token, mobile)
    for path in ALL_OPERATIONS:
        refused(api.get(path, **auth_header(victim)), INVALID, "challenge")


@pytest.mark.django_db(transaction=True)
def test_a_revocation_spares_other_users(api, user, token, other_user, web):
    bobs = AuthToken.objects.create(other_user, web)
    warm(api, token)
    warm(api, bobs)
    _logout_all(api, user, token, None)
    for path in ALL_OPERATIONS:
        assert api.get(path, **auth_header(bobs)).status_code == 200


# --- Rotation --------------------------------------------------------------------------------

GRACE = timedelta(seconds=30)  # ROTATION_GRACE_PERIOD's default


def _log_in(api) -> str:
    body = {"username": "alice", "password": PASSWORD, "client": "app"}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _rotated(api, token: str) -> str:
    response = api.post(reverse("durin_refresh"), **auth_header(token))
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", OPS)
def test_a_replaced_token_works_in_its_grace_and_its_reuse_ends_the_session(
    api, user, make_client, cls, op
):
    make_client("app", rotate_on_refresh=True, session_limit=None)
    path = url(cls, op)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = _log_in(api)
        assert api.get(path, **auth_header(first)).status_code == 200  # cached
        second = _rotated(api, first)
        assert api.get(path, **auth_header(second)).status_code == 200
        clock.shift(GRACE - timedelta(milliseconds=1))
        assert api.get(path, **auth_header(first)).json()["username"] == "alice"  # in flight
        clock.shift(timedelta(milliseconds=1))
        with Received(token_revoked) as revoked:
            refused(api.get(path, **auth_header(first)), INVALID, "challenge")
        assert [call["reason"] for call in revoked] == ["reuse_detected"]
        refused(api.get(path, **auth_header(second)), INVALID, "challenge")  # the whole session
    assert not AuthToken.objects.exists()


# --- Another scheme; auth on a router or an operation ----------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_another_scheme_is_left_to_the_next_auth(api, token, op):
    path = f"/ninja/either/{op}"
    robot = {"HTTP_AUTHORIZATION": "Basic cm9ib3Q6YmVlcA=="}  # robot:beep
    assert api.get(path, **robot).json() == {"auth": "robot"}
    assert api.get(path, **auth_header(token)).json() == {"auth": "token"}
    wrong = {"HTTP_AUTHORIZATION": "Basic cm9ib3Q6Ym9vcA=="}  # robot:boop
    assert api.get(path, **wrong).json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize("op", OPS)
def test_a_refused_durin_token_is_not_handed_to_the_next_auth(api, op):
    """A durin header that authenticates no one is a refusal, as with DRF: the next auth is
    not asked (it could not make sense of it anyway)."""
    refused(api.get(f"/ninja/either/{op}", **auth_header("nope")), INVALID, "challenge")


@pytest.mark.parametrize("op", OPS)
def test_auth_on_a_router(api, token, op, django_assert_num_queries):
    path = f"/ninja/scoped/router/{op}"
    assert api.get(path).status_code == 401
    refused(api.get(path, **auth_header("nope")), INVALID, "challenge")
    with django_assert_num_queries(1):
        ok(api.get(path, **auth_header(token)), op, token)
    with django_assert_num_queries(0):  # the router's class is the cached one
        ok(api.get(path, **auth_header(token)), op, token)


@pytest.mark.parametrize("op", OPS)
def test_auth_on_one_operation(api, token, op, django_assert_num_queries):
    path = f"/ninja/scoped/operation/{op}"
    assert api.get(path).status_code == 401
    refused(api.get(path, **auth_header("nope")), INVALID, "challenge")
    for _ in range(2):
        with django_assert_num_queries(1):  # the plain class
            ok(api.get(path, **auth_header(token)), op, token)
    assert api.get("/ninja/scoped/open").json() == {"open": True}


def test_the_openapi_schema_names_the_security_scheme():
    scheme = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A token from durin's login endpoint: `Authorization: Token <token>`.",
    }
    for api in ninja_api.APIS.values():
        schema = api.get_openapi_schema(path_prefix="")
        assert schema["components"]["securitySchemes"] == {"TokenAuth": scheme}
        for operations in schema["paths"].values():
            assert operations["get"]["security"] == [{"TokenAuth": []}]
    schema = ninja_api.scoped.get_openapi_schema(path_prefix="")
    security = {path: ops["get"].get("security") for path, ops in schema["paths"].items()}
    assert security == {
        "/router/sync": [{"TokenAuth": []}],
        "/router/async": [{"TokenAuth": []}],
        "/operation/sync": [{"TokenAuth": []}],
        "/operation/async": [{"TokenAuth": []}],
        "/open": None,
    }
    either = ninja_api.either.get_openapi_schema(path_prefix="")
    assert set(either["components"]["securitySchemes"]) == {"TokenAuth", "RobotBasicAuth"}
    assert either["paths"]["/sync"]["get"]["security"] == [
        {"TokenAuth": []},
        {"RobotBasicAuth": []},
    ]


# --- What runs where -------------------------------------------------------------------------


def test_an_async_cached_hit_makes_no_thread_hop(api, token, hops, monkeypatch):
    readers: list[Any] = []
    original_reader = async_redis.reader

    def recorded(cache: Any) -> Any:
        readers.append(original_reader(cache))
        return readers[-1]

    monkeypatch.setattr(async_redis, "reader", recorded)
    path = url("cached", "async")
    ok(api.get(path, **auth_header(token)), "async", token)
    assert hops, "a miss goes to the database in a hop"
    assert hops[-1] == CachedTokenAuthentication._accept_after_miss
    for _ in range(3):
        hops.clear()
        with no_queries():
            ok(api.get(path, **auth_header(token)), "async", token)
        assert hops == []
    if type(token_cache.backend()) is RedisCache:
        import redis.asyncio

        assert readers and all(isinstance(reader, redis.asyncio.Redis) for reader in readers)
    else:  # an in-process cache is asked directly, with no client at all
        assert readers == []


def test_an_async_plain_class_makes_one_hop(api, token, hops):
    for _ in range(2):
        hops.clear()
        ok(api.get(url("plain", "async"), **auth_header(token)), "async", token)
        assert hops == [TokenAuthentication.authenticate_credentials]


def test_a_sync_operation_makes_no_hop(api, token, hops):
    for cls in CLASSES:
        ok(api.get(url(cls, "sync"), **auth_header(token)), "sync", token)
        assert hops == []


@pytest.mark.parametrize("op", OPS)
def test_a_subclass_whose_hook_queries_runs_it_in_a_hop(
    api, token, user, op, hops, django_assert_num_queries
):
    """``NoBannedUsers.validate_user`` queries: on the event loop it would fail (Django
    refuses queries there), so an async operation runs the whole lookup in one hop."""
    path = f"/ninja/project/{op}"
    with django_assert_num_queries(2):  # the token, then the ban
        ok(api.get(path, **auth_header(token)), op, token)
    hops.clear()
    with django_assert_num_queries(1):  # a hit: the ban alone
        ok(api.get(path, **auth_header(token)), op, token)
    assert len(hops) == (1 if op == "async" else 0)
    get_user_model().objects.filter(pk=user.pk).update(last_name="banned")
    refused(api.get(path, **auth_header(token)), "Banned.", "challenge")
