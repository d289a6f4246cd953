"""Every row of CONTRACT §3, through the full DRF stack, for both authentication classes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from durin import crypto, legacy
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.models import AuthToken
from durin.signals import token_expired

from .conftest import auth_header, no_queries

pytestmark = pytest.mark.django_db
URLS = ["whoami", "cached-whoami"]


def refusal(response) -> str:
    assert response.status_code == 401, response.content
    return response.json()["detail"]


@pytest.mark.parametrize("url", URLS)
def test_valid_token_authenticates_user_and_client(api, token, url):
    response = api.get(reverse(url), **auth_header(token))
    assert response.status_code == 200
    assert response.json() == {"username": "alice", "client": "web"}


@pytest.mark.parametrize("url", URLS)
def test_no_header_or_other_scheme_is_not_ours(api, token, url):
    # IsAuthenticated then refuses; the challenge still names durin's scheme.
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {token}"}, {"HTTP_AUTHORIZATION": ""}):
        response = api.get(reverse(url), **headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication credentials were not provided."}
        assert response["WWW-Authenticate"] == "Token"


def test_no_header_returns_none_so_the_next_class_may_try():
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION="Basic abc"))
    assert TokenAuthentication().authenticate(request) is None
    assert CachedTokenAuthentication().authenticate(Request(APIRequestFactory().get("/"))) is None


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    ("header", "message", "code"),
    [
        ("Token", "Invalid token header. No credentials provided.", "token_header_empty"),
        ("Token   ", "Invalid token header. No credentials provided.", "token_header_empty"),
        (
            "Token a b",
            "Invalid token header. Token string should not contain spaces.",
            "token_header_spaces",
        ),
        ("Token not-a-token", "Invalid token.", "token_invalid"),
        ("Token " + "A" * 64, "Invalid token.", "token_invalid"),
        ("Token " + "a" * 100000, "Invalid token.", "token_invalid"),
    ],
)
def test_refused_headers(api, token, url, header, message, code):
    response = api.get(reverse(url), HTTP_AUTHORIZATION=header)
    assert refusal(response) == message
    www = response["WWW-Authenticate"]
    if code == "token_header_empty":
        assert www == "Token"
    else:
        assert www == f'Token error="invalid_token", error_description="{message}"'


def test_error_codes_are_stable(token):
    factory = APIRequestFactory()
    cases = {
        "Token": "token_header_empty",
        "Token a b": "token_header_spaces",
        "Token nope": "token_invalid",
        b"Token \xff\xfe": "token_header_characters",
    }
    for header, code in cases.items():
        request = Request(factory.get("/", HTTP_AUTHORIZATION=header))
        with pytest.raises(Exception) as raised:
            TokenAuthentication().authenticate(request)
        assert raised.value.detail.code == code, header


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("raw", [b"Token \xff\xfe\xfd", b"Token \xc3\x28abc"])
def test_bytes_that_are_not_utf8_are_refused(api, url, raw, token):
    # WSGI hands headers over as Latin-1 text; these are invalid UTF-8 underneath.
    response = api.get(reverse(url), HTTP_AUTHORIZATION=raw.decode("latin-1"))
    assert refusal(response) == (
        "Invalid token header. Token string should not contain invalid characters."
    )


@pytest.mark.parametrize("url", URLS)
def test_text_beyond_latin1_is_refused_not_a_500(api, url, token):
    response = api.get(reverse(url), HTTP_AUTHORIZATION="Token \u2603snowman")
    assert refusal(response) == (
        "Invalid token header. Token string should not contain invalid characters."
    )


@pytest.mark.parametrize("url", URLS)
def test_valid_utf8_but_not_a_token_is_invalid(api, url, token):
    response = api.get(
        reverse(url), HTTP_AUTHORIZATION="Token caf\u00e9".encode().decode("latin-1")
    )
    assert refusal(response) == "Invalid token."


@pytest.mark.parametrize("url", URLS)
def test_prefix_is_case_insensitive(api, token, url):
    assert api.get(reverse(url), HTTP_AUTHORIZATION=f"tOkEn {token}").status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_custom_prefix(api, token, url, settings):
    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": "Bearer"}
    assert api.get(reverse(url), **auth_header(token, "Bearer")).status_code == 200
    response = api.get(reverse(url), **auth_header(token))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db(transaction=True)  # the deletion must commit to reach the cache
@pytest.mark.parametrize("url", URLS)
def test_expired_token_is_refused_deleted_and_signalled(api, token, url):
    received = []
    token_expired.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-exp")
    try:
        if url == "cached-whoami":  # cache it while valid: expiry is still enforced on a hit
            assert api.get(reverse(url), **auth_header(token)).status_code == 200
        with time_machine.travel(token.expiry + timedelta(seconds=1)):
            response = api.get(reverse(url), **auth_header(token))
    finally:
        token_expired.disconnect(dispatch_uid="t-exp")
    assert refusal(response) == "The given token has expired."
    assert response.json() == {"detail": "The given token has expired."}
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    assert [(kw["username"], kw["source"]) for kw in received] == [("alice", "auth_token")]
    assert refusal(api.get(reverse(url), **auth_header(token))) == "Invalid token."


@pytest.mark.parametrize("url", URLS)
def test_inactive_user_is_refused(api, token, user, url, settings):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_DEACTIVATION": False}  # else the token is gone
    user.is_active = False
    user.save()
    assert refusal(api.get(reverse(url), **auth_header(token))) == "User inactive or deleted."


@pytest.mark.parametrize("url", URLS)
def test_token_of_deleted_client_is_refused(api, token, web, url):
    web.delete()
    assert refusal(api.get(reverse(url), **auth_header(token))) == "Invalid token."


def _authenticate(auth_class, token):
    request = Request(APIRequestFactory().get("/", **auth_header(token)))
    return auth_class().authenticate(request)


def test_one_query_for_a_valid_token_with_client_loaded(token, django_assert_num_queries):
    with django_assert_num_queries(1):
        user, auth = _authenticate(TokenAuthentication, token)
        assert auth.client.name == "web"
        assert user.username == "alice"


def test_extra_select_related_stays_one_query(token, django_assert_num_queries, settings):
    settings.REST_DURIN = {"AUTHTOKEN_SELECT_RELATED_LIST": ["user", "client"]}
    with django_assert_num_queries(1):
        _, auth = _authenticate(TokenAuthentication, token)
        assert auth.client.name == "web"


@pytest.mark.parametrize("auth_class", [TokenAuthentication, CachedTokenAuthentication])
def test_zero_queries_and_no_cache_lookup_for_malformed_tokens(token, auth_class, monkeypatch):
    from durin import cache as token_cache

    monkeypatch.setattr(token_cache, "read", lambda digest: pytest.fail("cache was consulted"))
    body = token.token[:-1] + ("x" if token.token[-1] != "x" else "y")
    for bad in [body, token.token[:-3], token.token + "0", "0" * 63 + "g", "x", "Z" * 70]:
        with no_queries(), pytest.raises(Exception, match="Invalid token."):
            _authenticate(auth_class, bad)


def test_legacy_hex_tokens_cost_no_lookup_where_no_1x_token_exists(
    token, django_assert_num_queries, settings
):
    """This database never held a 1.x token; tests/test_legacy_tokens.py has one that did."""
    legacy.forget()
    legacy_shaped = "ab" * 32
    with django_assert_num_queries(1), pytest.raises(Exception, match="Invalid token."):
        _authenticate(TokenAuthentication, legacy_shaped)  # the process asks, once
    with no_queries(), pytest.raises(Exception, match="Invalid token."):
        _authenticate(TokenAuthentication, legacy_shaped)
    settings.REST_DURIN = {"ACCEPT_LEGACY_TOKENS": False}
    legacy.forget()
    with no_queries(), pytest.raises(Exception, match="Invalid token."):
        _authenticate(TokenAuthentication, legacy_shaped)


def test_cached_class_makes_zero_queries_on_a_hit(token, django_assert_num_queries):
    with django_assert_num_queries(1):
        _authenticate(CachedTokenAuthentication, token)
    for _ in range(3):
        with no_queries():
            user, auth = _authenticate(CachedTokenAuthentication, token)
            assert (user.username, auth.client.name, auth.pk) == ("alice", "web", token.pk)
            assert auth.token is None


def test_cache_timeout_is_the_setting_or_the_time_left(user, make_client, settings, monkeypatch):
    from durin import cache as token_cache

    timeouts = []
    real_cache = token_cache.backend

    class Spy:
        def __getattr__(self, name):
            return getattr(real_cache(), name)

        def add(self, key, value, timeout):
            if key != token_cache.generation_key():
                timeouts.append(timeout)
            return real_cache().add(key, value, timeout)

    monkeypatch.setattr(token_cache, "backend", Spy)
    settings.REST_DURIN = {"TOKEN_CACHE_TIMEOUT": 30}
    long_lived = AuthToken.objects.create(user, make_client("long"))
    short_lived = AuthToken.objects.create(
        user, make_client("short", token_ttl=timedelta(seconds=10))
    )
    _authenticate(CachedTokenAuthentication, long_lived)
    _authenticate(CachedTokenAuthentication, short_lived)
    assert timeouts[0] == 30 and 0 < timeouts[1] <= 10


def test_cached_user_has_no_password_hash(token, user):
    _authenticate(CachedTokenAuthentication, token)
    from durin import cache as token_cache

    cached, _ = token_cache.read(token.digest)
    assert "password" in cached.user.get_deferred_fields()


def test_generated_tokens_pass_the_checksum_and_are_unique(user, web):
    tokens = {AuthToken.objects.create(user, web).token for _ in range(5)}
    assert len(tokens) == 5
    assert all(crypto.has_valid_checksum(t) for t in tokens)


@pytest.mark.parametrize("language", ["ru", "zh-hans", "de"])
def test_translated_messages_keep_an_ascii_challenge(api, token, settings, language):
    settings.MIDDLEWARE = ["django.middleware.locale.LocaleMiddleware", *settings.MIDDLEWARE]
    from django.utils import translation

    try:
        response = api.get(
            reverse("whoami"), HTTP_AUTHORIZATION="Token nope", HTTP_ACCEPT_LANGUAGE=language
        )
    finally:
        translation.activate(settings.LANGUAGE_CODE)
    assert response.status_code == 401
    assert response.json()["detail"] != "Invalid token."  # translated body...
    assert response["WWW-Authenticate"] == (  # ...ASCII challenge
        'Token error="invalid_token", error_description="Invalid token."'
    )


def test_durin_views_challenge_with_durin_even_after_basic(api, token, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.BasicAuthentication",
            "durin.auth.TokenAuthentication",
        ],
    }
    response = api.post(reverse("durin_logout"), HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Token error="invalid_token"')


@pytest.mark.parametrize("auth_class", [TokenAuthentication, CachedTokenAuthentication])
def test_str_of_request_auth_is_not_the_token(token, auth_class):
    """1.x code that read the token back with ``str(request.auth)`` (README, upgrade notes)."""
    for _ in range(2):  # the cached class: a miss, then a hit
        request = Request(APIRequestFactory().get("/", **auth_header(token)))
        _, auth = auth_class().authenticate(request)
        assert str(auth) == f"AuthToken #{token.pk}" != token.token
