"""``POST revoke/`` (RFC 7009, by possession) and ``POST introspect/`` (RFC 7662), CONTRACT §10.

These tests commit for real (``transaction=True``): cached entries are invalidated on commit,
and the point is that a revoked token is refused at once by the cached class too.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from durin import cache as token_cache
from durin import crypto, legacy, services
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.constants import INTROSPECT_SCOPE, MAX_REQUEST_BODY, MAX_REVOKE_TOKENS
from durin.models import AuthToken, Client
from durin.possession import IntrospectView
from durin.signals import token_revoked

from .conftest import Received, auth_header

pytestmark = pytest.mark.django_db(transaction=True)
INVALID = {"detail": "Invalid token."}
SCOPES = {"read": "Read your things.", "write": "Change your things."}
POSSESSION_PAGE = Path(__file__).resolve().parent.parent / "docs" / "possession.md"


def works(api: APIClient, token: AuthToken | str) -> bool:
    """Whether ``token`` authenticates with both classes, which must agree."""
    answers = [api.get(reverse(view), **auth_header(token)) for view in ("whoami", "cached-whoami")]
    statuses = {answer.status_code for answer in answers}
    assert len(statuses) == 1, f"the two classes disagree: {statuses}"
    assert statuses <= {200, 401}, [answer.content for answer in answers]
    return statuses == {200}


def warm(api: APIClient, *tokens: AuthToken | str) -> None:
    """Each token served once by the cached class, so that its entry is in the cache."""
    for token in tokens:
        assert works(api, token)
        digest = token.digest if isinstance(token, AuthToken) else crypto.digest(token)
        cached, _ = token_cache.read(digest)
        assert cached is not None


def revoke(api: APIClient, body: Any, fmt: str = "json", **extra: Any) -> Any:
    return api.post(reverse("durin_revoke"), body, format=fmt, **extra)


def unknown_token() -> str:
    """A well-formed token this deployment never issued (another deployment's, say)."""
    return crypto.generate_token(64, "other_")


@pytest.fixture
def clients(make_client) -> dict[str, Client]:
    return {
        "web": make_client("web", session_limit=None),
        "app": make_client("app", session_limit=None, rotate_on_refresh=True),
        "service": make_client("service", session_limit=None),
    }


@pytest.fixture
def scopes(settings) -> None:
    settings.REST_DURIN = {"SCOPES": SCOPES}


# revoke/ -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_anyone_holding_a_token_revokes_it_at_once_everywhere(api, user, clients, fmt):
    token, other = (AuthToken.objects.create(user, clients["web"]) for _ in range(2))
    warm(api, token, other)

    with Received(token_revoked) as revoked:
        response = revoke(api, {"token": str(token)}, fmt=fmt)

    assert response.status_code == 200 and response.json() == {}
    assert not works(api, token)
    assert works(api, other)  # the user's other sessions go on
    assert [(call["token_id"], call["reason"]) for call in revoked] == [
        (token.pk, "revoked_by_possession")
    ]
    assert revoked[0]["client"] == clients["web"] and revoked[0]["user_id"] == user.pk


def test_a_form_body_works_too(api, user, clients):
    token = AuthToken.objects.create(user, clients["web"])
    response = api.post(
        reverse("durin_revoke"),
        f"token={token}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response.json() == {}
    assert not AuthToken.objects.filter(pk=token.pk).exists()


def test_no_credentials_are_needed_and_a_header_is_ignored(api, user, other_user, clients):
    """Someone else's token, revoked by a caller with no session (or a broken header)."""
    victim = AuthToken.objects.create(other_user, clients["web"])
    caller = AuthToken.objects.create(user, clients["web"])
    for header in ({}, auth_header(caller), auth_header("garbage"), auth_header("")):
        assert revoke(api, {"token": unknown_token()}, **header).status_code == 200
    assert revoke(api, {"token": str(victim)}, **auth_header("garbage")).status_code == 200
    assert not works(api, victim)
    assert works(api, caller)  # the header named a token; it was not revoked


def answer(response: Any) -> tuple[int, bytes, tuple]:
    return response.status_code, response.content, tuple(sorted(response.headers.items()))


def test_the_answer_says_nothing_about_the_token(api, user, clients, make_user):
    """One and the same status, body and headers for every kind of token (response time is
    not part of the promise: a valid token costs a deletion)."""
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        expired = AuthToken.objects.create(user, clients["web"])
    inactive = AuthToken.objects.create(make_user("carol", is_active=False), clients["web"])
    valid = AuthToken.objects.create(user, clients["web"])
    presented = {
        "valid": str(valid),
        "valid again": str(valid),
        "unknown": unknown_token(),
        "expired": str(expired),
        "inactive user": str(inactive),
        "malformed": str(valid)[:-1] + ("A" if str(valid)[-1] != "A" else "B"),
        "empty": "",
        "spaces": "  ",
        "NUL": "\x00" + str(valid),
        "1.x shape": secrets.token_hex(32),
        "non-ASCII": "tökén" * 5,
        "long": "a" * 10_000,
    }
    answers = {name: answer(revoke(api, {"token": token})) for name, token in presented.items()}
    assert set(answers.values()) == {answer(revoke(api, {"token": "x"}))}, answers
    assert answers["valid"][:2] == (200, b"{}")


def test_an_expired_token_is_ignored_not_revoked(api, user, clients):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        expired = AuthToken.objects.create(user, clients["web"])
    with Received(token_revoked) as revoked:
        assert revoke(api, {"token": str(expired)}).status_code == 200
    assert revoked == []
    assert api.get(reverse("whoami"), **auth_header(expired)).json() == {
        "detail": "The given token has expired."
    }


def test_a_mix_of_valid_invalid_and_duplicated_tokens(api, user, other_user, clients):
    mine = [AuthToken.objects.create(user, clients["web"]) for _ in range(3)]
    theirs = AuthToken.objects.create(other_user, clients["service"])
    kept = AuthToken.objects.create(user, clients["web"])
    warm(api, *mine, theirs, kept)
    tokens = [str(mine[0]), unknown_token(), str(mine[1]), "", str(mine[0]), str(theirs)]

    with Received(token_revoked) as revoked:
        response = revoke(api, {"token": str(mine[2]), "tokens": tokens})

    assert response.status_code == 200 and response.json() == {}
    assert sorted(call["token_id"] for call in revoked) == sorted(
        t.pk for t in (*mine, theirs)
    )  # each once, duplicates included
    assert not any(works(api, token) for token in (*mine, theirs))
    assert works(api, kept)


def test_tokens_as_a_repeated_form_field(api, user, clients):
    tokens = [AuthToken.objects.create(user, clients["web"]) for _ in range(2)]
    body = "&".join(f"tokens={token}" for token in tokens)
    response = api.post(
        reverse("durin_revoke"), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not AuthToken.objects.exists()


def test_at_most_100_tokens_and_nothing_is_revoked_beyond(api, user, clients):
    token = AuthToken.objects.create(user, clients["web"])
    many = [unknown_token() for _ in range(MAX_REVOKE_TOKENS)]
    assert revoke(api, {"tokens": [*many[:-1], str(token)]}).status_code == 200
    assert not works(api, token)

    token = AuthToken.objects.create(user, clients["web"])
    for body in (
        {"tokens": [*many, str(token)]},
        {"token": str(token), "tokens": many},  # counted together
        {"tokens": [str(token)] * (MAX_REVOKE_TOKENS + 1)},  # duplicates count
    ):
        response = revoke(api, body)
        assert response.status_code == 400, body
        assert response.json() == {"tokens": ["At most 100 tokens per request."]}
    form = "&".join(f"tokens={token}" for _ in range(MAX_REVOKE_TOKENS + 1))
    response = api.post(
        reverse("durin_revoke"), form, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert works(api, token)


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "token"),
        ({"tokens": []}, "token"),
        ({"token": 5}, "token"),
        ({"token": None}, "token"),
        ({"token": ["a", "b"]}, "token"),
        ({"token": {"a": 1}}, "token"),
        ({"tokens": "abc"}, "tokens"),
        ({"tokens": [1, 2]}, "tokens"),
        ({"tokens": [["nested"]]}, "tokens"),
        ({"tokens": None}, "tokens"),
        ([], "detail"),
        (["token"], "detail"),
        ("token", "detail"),
        (7, "detail"),
    ],
)
def test_a_body_of_another_shape_is_a_clear_400_and_revokes_nothing(api, token, body, field):
    response = revoke(api, body)
    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert works(api, token)


def test_a_valid_token_in_a_bad_body_is_not_revoked(api, token):
    assert revoke(api, {"tokens": [str(token), 5]}).status_code == 400
    assert works(api, token)


def test_a_body_over_64_kib_is_413(api, token):
    body = {"token": str(token), "padding": "x" * MAX_REQUEST_BODY}
    response = revoke(api, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large."}
    assert works(api, token)


@pytest.mark.parametrize(
    "raw, content_type, status",
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 413),
        (b"[" * 30_000 + b"]" * 30_000, "application/json", 400),
        (b'{"token": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "application/json", 400),
        (b'{"token": "\xff\xfe"}', "application/json", 400),
        (b'{"token": "a\\u0000b"}', "application/json", 200),
        (b'{"token": "\\ud800"}', "application/json", 200),
        (b'{"token": 1' + b"0" * 5000 + b"}", "application/json", 400),
        (b'{"token": NaN}', "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"token=%00%ff%fe", "application/x-www-form-urlencoded", 200),
        (b"token=\xff\xfe", "application/x-www-form-urlencoded", 200),
        (b"token=abc", "application/x-www-form-urlencoded; charset=bz2_codec", 415),
        (b"token=abc", "application/x-www-form-urlencoded; charset=no-such", 415),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400),
        (b"token: abc", "text/plain", 415),
    ],
)
def test_hostile_bodies_never_500(api, token, raw, content_type, status):
    response = api.post(reverse("durin_revoke"), raw, content_type=content_type)
    assert response.status_code == status, response.content
    assert works(api, token)


def test_possession_of_any_token_of_a_rotated_session_revokes_the_session(api, user, clients):
    session = AuthToken.objects.create(user, clients["app"])
    first = str(session)
    second = api.post(reverse("durin_refresh"), **auth_header(first)).json()["token"]
    third = api.post(reverse("durin_refresh"), **auth_header(second)).json()["token"]
    warm(api, third)
    assert works(api, second)  # in its grace

    with Received(token_revoked) as revoked:
        assert revoke(api, {"token": first}).status_code == 200  # long replaced

    assert [call["token_id"] for call in revoked] == [session.pk]
    assert not works(api, third) and not works(api, second)
    assert not AuthToken.objects.exists()


def test_a_rotation_racing_the_revocation_does_not_save_the_session(
    api, user, clients, monkeypatch
):
    """The presented token is replaced after revoke/ looked at the rotation history and
    before it deletes: the session goes all the same."""
    session = AuthToken.objects.create(user, clients["app"])
    presented = str(session)
    rotated: list[str] = []
    real = services.revoke_tokens

    def rotate_first(tokens, reason, request=None):
        if not rotated:
            rotated.append(str(services.rotate_token(AuthToken.objects.get(pk=session.pk))))
        return real(tokens, reason, request=request)

    monkeypatch.setattr(services, "revoke_tokens", rotate_first)
    with Received(token_revoked) as revoked:
        assert revoke(api, {"token": presented}).status_code == 200
    assert [call["token_id"] for call in revoked] == [session.pk]
    assert not works(api, rotated[0])


def test_a_1x_token_is_revoked_where_1x_tokens_live(api, user, clients):
    legacy.forget()
    app, name = legacy.HASHING_MIGRATION
    upgraded = MigrationRecorder.Migration.objects.get(app=app, name=name).applied
    plaintext = secrets.token_hex(32)
    AuthToken(
        digest=crypto.digest(plaintext),
        user=user,
        client=clients["web"],
        created=upgraded - timedelta(days=1),
        expiry=timezone.now() + timedelta(days=7),
        last_used=timezone.now(),
    ).save(force_insert=True)
    try:
        warm(api, plaintext)
        assert revoke(api, {"token": plaintext}).status_code == 200
        assert not works(api, plaintext)
    finally:
        legacy.forget()


class TestThrottle:
    @pytest.fixture(autouse=True)
    def rate(self, settings) -> None:
        settings.REST_DURIN = {"REVOKE_THROTTLE_RATE": "3/m"}

    def test_429_with_retry_after_per_client_address(self, api, token):
        for _ in range(3):
            assert revoke(api, {"token": unknown_token()}).status_code == 200
        throttled = revoke(api, {"token": str(token)})
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["Retry-After"]) <= 60
        assert works(api, token)  # a throttled request revokes nothing
        # Bad bodies count too; another address has a count of its own.
        assert revoke(api, {}).status_code == 429
        assert revoke(api, {"token": str(token)}, REMOTE_ADDR="192.0.2.7").status_code == 200
        assert not works(api, token)

    def test_the_window_passes(self, api):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            for _ in range(3):
                revoke(api, {"token": "x"})
            assert revoke(api, {"token": "x"}).status_code == 429
        with time_machine.travel(start + timedelta(seconds=61), tick=False):
            assert revoke(api, {"token": "x"}).status_code == 200

    def test_the_address_behind_trusted_proxies(self, api, settings):
        settings.REST_DURIN = {"REVOKE_THROTTLE_RATE": "1/m", "NUM_TRUSTED_PROXIES": 1}
        header = {"HTTP_X_FORWARDED_FOR": "203.0.113.1"}
        assert revoke(api, {"token": "x"}, **header).status_code == 200
        assert revoke(api, {"token": "x"}, **header).status_code == 429
        other = {"HTTP_X_FORWARDED_FOR": "203.0.113.2"}
        assert revoke(api, {"token": "x"}, **other).status_code == 200

    def test_an_ipv6_client_counts_per_64(self, api, settings):
        settings.REST_DURIN = {"REVOKE_THROTTLE_RATE": "1/m"}
        assert revoke(api, {"token": "x"}, REMOTE_ADDR="2001:db8::1").status_code == 200
        assert revoke(api, {"token": "x"}, REMOTE_ADDR="2001:db8::2").status_code == 429

    def test_none_turns_it_off(self, api, settings):
        settings.REST_DURIN = {"REVOKE_THROTTLE_RATE": None}
        for _ in range(10):
            assert revoke(api, {"token": "x"}).status_code == 200

    def test_a_bad_rate_is_a_system_check_error(self, settings):
        from durin.checks import check_settings

        settings.REST_DURIN = {"REVOKE_THROTTLE_RATE": "often"}
        assert [m.id for m in check_settings()] == ["durin.E004"]
        settings.REST_DURIN = {"REVOKE_THROTTLE_RATE": 60}
        assert [m.id for m in check_settings()] == ["durin.E003"]


# introspect/ ---------------------------------------------------------------------------------


def introspect(api: APIClient, caller: AuthToken | str | None, body: Any, fmt="json") -> Any:
    headers = auth_header(caller) if caller is not None else {}
    return api.post(reverse("durin_introspect"), body, format=fmt, **headers)


@pytest.fixture
def service(scopes, other_user, clients) -> AuthToken:
    """The key of a service allowed to introspect."""
    return AuthToken.objects.create(other_user, clients["service"], scopes=[INTROSPECT_SCOPE])


@pytest.fixture(params=[TokenAuthentication, CachedTokenAuthentication], ids=["db", "cached"])
def auth_class(request, monkeypatch) -> type[TokenAuthentication]:
    """The project's class, as durin's views take it (at import time)."""
    monkeypatch.setattr(IntrospectView, "authentication_classes", [request.param])
    return request.param


def claims(token: AuthToken, user: Any, client: str, **extra: Any) -> dict[str, Any]:
    token.refresh_from_db()
    return {
        "active": True,
        **extra,
        "client_id": client,
        "username": user.get_username(),
        "sub": str(user.pk),
        "token_type": "Token",
        "exp": int(token.expiry.timestamp()),
        "iat": int(token.created.timestamp()),
    }


def test_an_active_login_token(api, user, clients, service, auth_class):
    token = AuthToken.objects.create(user, clients["web"])
    response = introspect(api, service, {"token": str(token)})
    assert response.status_code == 200
    assert response.json() == claims(token, user, "web")  # unrestricted: no scope
    assert response.headers["Cache-Control"] == "no-store"


def test_a_scoped_key_in_a_form(api, user, clients, service, auth_class):
    token = AuthToken.objects.create(user, clients["service"], scopes=["write", "read"])
    response = introspect(api, service, {"token": str(token)}, fmt="multipart")
    assert response.json() == claims(token, user, "service", scope="write read")
    assert introspect(api, service, {"token": str(service)}).json() == claims(
        service, service.user, "service", scope=INTROSPECT_SCOPE
    )


def test_the_token_type_is_the_header_prefix(api, user, clients, service, settings):
    settings.REST_DURIN = {"SCOPES": SCOPES, "AUTH_HEADER_PREFIX": "Bearer"}
    token = AuthToken.objects.create(user, clients["web"])
    assert introspect(api, service, {"token": str(token)}).status_code == 401  # "Token ..."
    response = api.post(
        reverse("durin_introspect"),
        {"token": str(token)},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {service}",
    )
    assert response.json()["token_type"] == "Bearer"


def test_inactive_for_anything_else(api, user, make_user, clients, service, auth_class):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        expired = AuthToken.objects.create(user, clients["web"])
    revoked = AuthToken.objects.create(user, clients["web"])
    warm(api, revoked)
    api.post(reverse("durin_logout"), **auth_header(revoked))
    inactive_user = make_user("carol")
    deactivated = AuthToken.objects.create(inactive_user, clients["web"])
    type(inactive_user).objects.filter(pk=inactive_user.pk).update(is_active=False)
    valid = str(AuthToken.objects.create(user, clients["web"]))
    for name, token in {
        "unknown": unknown_token(),
        "expired": str(expired),
        "revoked": str(revoked),
        "inactive user": str(deactivated),
        "malformed": valid[:-1] + ("A" if valid[-1] != "A" else "B"),
        "empty": "",
        "NUL": valid + "\x00",
        "too long": "a" * 5000,
        "1.x shape": secrets.token_hex(32),
    }.items():
        response = introspect(api, service, {"token": token})
        assert (response.status_code, response.json()) == (200, {"active": False}), name
        assert response.headers["Cache-Control"] == "no-store"
    surrogate = b'{"token": "\\ud800"}'  # a lone surrogate, which no client library encodes
    response = api.post(
        reverse("durin_introspect"),
        surrogate,
        content_type="application/json",
        **auth_header(service),
    )
    assert (response.status_code, response.json()) == (200, {"active": False})


def test_a_replaced_token_is_active_in_its_grace_then_reuse(api, user, clients, service):
    session = AuthToken.objects.create(user, clients["app"])
    replaced = str(session)
    current = api.post(reverse("durin_refresh"), **auth_header(replaced)).json()["token"]
    assert introspect(api, service, {"token": replaced}).json()["active"] is True

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        with Received(token_revoked) as revoked:
            assert introspect(api, service, {"token": replaced}).json() == {"active": False}
    # Presented after its grace, as anywhere else: reuse, the session is revoked.
    assert [call["reason"] for call in revoked] == ["reuse_detected"]
    assert introspect(api, service, {"token": current}).json() == {"active": False}


def test_the_caller_needs_the_introspection_scope_by_name(api, user, clients, scopes):
    token = str(AuthToken.objects.create(user, clients["web"]))
    login = AuthToken.objects.create(user, clients["web"])  # unrestricted
    reader = AuthToken.objects.create(user, clients["service"], scopes=["read"])
    nothing = AuthToken.objects.create(user, clients["service"], scopes=[])
    for caller in (login, reader, nothing):
        response = introspect(api, caller, {"token": token})
        assert response.status_code == 403, caller.scopes
        assert set(response.json()) == {"detail"}
        assert response.headers["WWW-Authenticate"] == (
            f'Token error="insufficient_scope", scope="{INTROSPECT_SCOPE}"'
        )

    response = introspect(api, None, {"token": token})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    response = introspect(api, "nonsense", {"token": token})
    assert response.status_code == 401 and response.json() == INVALID
    assert response.headers["WWW-Authenticate"].startswith('Token error="invalid_token"')


def test_a_revoked_caller_is_refused_at_once(api, user, clients, service, auth_class):
    token = str(AuthToken.objects.create(user, clients["web"]))
    assert introspect(api, service, {"token": token}).status_code == 200
    assert revoke(api, {"token": str(service)}).status_code == 200
    assert introspect(api, service, {"token": token}).status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "token"),
        ({"token": None}, "token"),
        ({"token": 5}, "token"),
        ({"token": ["a"]}, "token"),
        ({"tokens": ["a"]}, "token"),
        ([], "detail"),
        ("token", "detail"),
    ],
)
def test_a_missing_or_odd_token_is_400(api, service, body, field):
    response = introspect(api, service, body)
    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_hostile_introspection_bodies(api, user, clients, service):
    token = AuthToken.objects.create(user, clients["web"])
    post = api.post
    url = reverse("durin_introspect")
    header = auth_header(service)
    big = json.dumps({"token": str(token), "x": "y" * MAX_REQUEST_BODY})
    assert post(url, big, content_type="application/json", **header).status_code == 413
    deep = b"[" * 30_000 + b"]" * 30_000
    assert post(url, deep, content_type="application/json", **header).status_code == 400
    bad = b'{"token": "\xff"}'
    assert post(url, bad, content_type="application/json", **header).status_code == 400
    codec = "application/x-www-form-urlencoded; charset=rot13"
    assert post(url, b"token=abc", content_type=codec, **header).status_code == 415


def test_a_cache_hit_costs_no_query_and_a_revocation_shows_at_once(
    api, user, clients, service, monkeypatch
):
    monkeypatch.setattr(IntrospectView, "authentication_classes", [CachedTokenAuthentication])
    token = AuthToken.objects.create(user, clients["web"])
    warm(api, token, service)
    with CaptureQueriesContext(connection) as queries:
        response = introspect(api, service, {"token": str(token)})
    assert response.json()["active"] is True
    assert [q["sql"] for q in queries.captured_queries] == []

    api.post(reverse("durin_logout"), **auth_header(token))  # through another view
    assert introspect(api, service, {"token": str(token)}).json() == {"active": False}


def test_without_the_cached_class_one_query_per_token(api, user, clients, service):
    token = AuthToken.objects.create(user, clients["web"])
    with CaptureQueriesContext(connection) as queries:
        assert introspect(api, service, {"token": str(token)}).json()["active"] is True
    assert len(queries.captured_queries) == 2  # the caller's token, then the one asked about


def row(token: AuthToken) -> dict[str, Any]:
    return AuthToken.objects.filter(pk=token.pk).values().get()


def test_introspection_is_a_use_it_changes_last_used_only(api, user, clients, service):
    token = AuthToken.objects.create(user, clients["web"])
    before = row(token)
    assert introspect(api, service, {"token": str(token)}).json()["active"] is True
    assert row(token) == before  # last_used was written at issue: no write is due yet

    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        assert introspect(api, service, {"token": str(token)}).json()["active"] is True
    after = row(token)
    assert after.pop("last_used") == later
    before.pop("last_used")
    assert after == before


def test_a_sliding_token_slides_as_on_any_use(api, user, make_client, service):
    sliding = make_client("sliding", auto_refresh=True, token_ttl=timedelta(hours=1))
    token = AuthToken.objects.create(user, sliding)
    later = timezone.now() + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        body = introspect(api, service, {"token": str(token)}).json()
    assert body["exp"] == int((later + timedelta(hours=1)).timestamp())
    assert row(token)["expiry"] == later + timedelta(hours=1)


# The example of docs/possession.md, run as the other service would run it ---------------------


def readme_example() -> str:
    """The Python block after docs/possession.md's ``introspection-example`` marker."""
    text = POSSESSION_PAGE.read_text(encoding="utf-8")
    found = re.search(r"<!-- introspection-example -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "docs/possession.md lost its introspection example"
    return found.group(1)


def test_the_readme_example_introspects_through_a_live_server(live_server, user, clients, service):
    token = AuthToken.objects.create(user, clients["service"], scopes=["read"])
    program = readme_example() + "\nimport sys\nprint(json.dumps(introspect(sys.argv[1])))\n"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AUTH_URL": f"{live_server.url}/api/auth/",
        "INTROSPECTION_KEY": str(service),
    }

    def run(presented: str) -> dict[str, Any]:
        # A plain Python process: no Django, no durin, nothing from this suite.
        result = subprocess.run(
            [sys.executable, "-I", "-c", program, presented],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert run(str(token)) == claims(token, user, "service", scope="read")
    assert run(unknown_token()) == {"active": False}
    assert revoke(APIClient(), {"token": str(token)}).status_code == 200
    assert run(str(token)) == {"active": False}
