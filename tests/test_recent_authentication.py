"""Recent authentication, "sudo mode" (CONTRACT §9, third bullet; §12's shared throttle).

Everything goes through the HTTP API: a login records when the password was proved,
``reauthenticate/`` proves it again, and ``RecentlyAuthenticated`` refuses an old proof
with a 401 challenge that tells the client what to do.
"""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from durin import cache as token_cache
from durin import crypto, services
from durin.auth import CachedTokenAuthentication
from durin.constants import MAX_PASSWORD_LENGTH
from durin.models import AuthToken, LoginFailureCount
from durin.views import ReauthenticateView

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db

LOGIN, REAUTH = "durin_login", "durin_reauthenticate"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}
REQUIRED = {"detail": "Recent authentication required."}
HOME = "192.0.2.1"


def login(api, username="alice", password=PASSWORD, client="web", ip=HOME):
    body = {"username": username, "password": password, "client": client}
    return api.post(reverse(LOGIN), body, format="json", REMOTE_ADDR=ip)


def logged_in(api, username="alice", client="web", ip=HOME) -> str:
    """A session token from a real login: its ``authenticated_at`` is the login's time."""
    response = login(api, username=username, client=client, ip=ip)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def row(token: str) -> AuthToken:
    return AuthToken.objects.get(digest=crypto.digest(token))


def reauthenticate(api, token, password=PASSWORD, ip=HOME, prefix="Token"):
    return api.post(
        reverse(REAUTH),
        {"password": password},
        format="json",
        REMOTE_ADDR=ip,
        **auth_header(token, prefix),
    )


def sudo(api, token, name="sudo", prefix="Token"):
    return api.get(reverse(name), **auth_header(token, prefix))


@pytest.fixture
def hashed(monkeypatch):
    """How many passwords were hashed to be checked."""
    calls = []
    verify = MD5PasswordHasher.verify

    def counting(self, password, encoded):
        calls.append(password)
        return verify(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", counting)
    return calls


@pytest.fixture
def frozen():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        yield clock


# --- What sets authenticated_at ---------------------------------------------------------


def test_login_sets_authenticated_at_and_sessions_show_it(api, user, web, frozen):
    now = timezone.now()
    token = logged_in(api)
    assert row(token).authenticated_at == now
    [session] = api.get(reverse("durin_tokensessions-list"), **auth_header(token)).json()
    assert parse_datetime(session["authenticated_at"]) == now


def test_objects_create_issues_a_token_with_none(api, token):
    assert AuthToken.objects.get(pk=token.pk).authenticated_at is None
    [session] = api.get(reverse("durin_tokensessions-list"), **auth_header(token)).json()
    assert session["authenticated_at"] is None


@pytest.fixture
def api_key(api, user, web, make_client, settings) -> str:
    """An API key issued by ``apiaccess/`` to a user logged in on ``web``."""
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    make_client("api")
    response = api.post(reverse("durin_apiaccess"), **auth_header(logged_in(api)))
    assert response.status_code == 201, response.content
    return response.json()["token"]


def test_the_api_key_view_issues_a_key_with_none(api_key):
    assert row(api_key).authenticated_at is None


def test_the_admin_issues_a_token_with_none(user, web):
    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    browser.force_login(admin)
    response = browser.post(
        reverse("admin:durin_authtoken_add"), {"user": user.pk, "client": web.pk}
    )
    assert response.status_code == 200
    assert AuthToken.objects.get(user=user).authenticated_at is None


# --- POST reauthenticate/ ----------------------------------------------------------------


def test_reauthenticate_records_the_new_proof(api, user, web, frozen):
    token = logged_in(api)
    frozen.shift(200)
    response = reauthenticate(api, token)
    assert response.status_code == 200
    assert set(response.json()) == {"authenticated_at"}
    assert parse_datetime(response.json()["authenticated_at"]) == timezone.now()
    assert row(token).authenticated_at == timezone.now()


def test_authenticated_at_is_formatted_like_expiry(api, user, web, settings):
    settings.REST_DURIN = {"EXPIRY_DATETIME_FORMAT": "%Y-%m-%d %H:%M:%S %z"}
    login_response = login(api)
    token = login_response.json()["token"]
    response = reauthenticate(api, token)
    shape = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000"
    assert re.fullmatch(shape, login_response.json()["expiry"])
    assert re.fullmatch(shape, response.json()["authenticated_at"])


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_reauthenticate_takes_json_and_form_bodies(api, user, web, fmt):
    token = logged_in(api)
    response = api.post(reverse(REAUTH), {"password": PASSWORD}, format=fmt, **auth_header(token))
    assert response.status_code == 200, response.content


def test_reauthenticate_takes_an_urlencoded_body(api, user, web):
    token = logged_in(api)
    body = "password=" + PASSWORD.replace(" ", "+")
    response = api.generic(
        "POST",
        reverse(REAUTH),
        body,
        content_type="application/x-www-form-urlencoded",
        **auth_header(token),
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "password",
    ["wrong", PASSWORD.upper(), f" {PASSWORD}", f"{PASSWORD}\n", "\u00e9" * 20],
)
def test_a_wrong_password_is_drf_bad_credentials(api, user, web, frozen, password):
    token = logged_in(api)
    login_time = row(token).authenticated_at
    frozen.shift(10)
    response = reauthenticate(api, token, password=password)
    assert (response.status_code, response.json()) == (400, BAD_CREDENTIALS)
    assert row(token).authenticated_at == login_time


def test_a_nul_byte_in_a_form_password_is_a_field_error(api, user, web, hashed):
    """As at login (DRF's ``CharField``): no password holds one, none is hashed."""
    token = logged_in(api)
    hashed.clear()
    response = api.generic(
        "POST",
        reverse(REAUTH),
        "password=correct%00horse",
        content_type="application/x-www-form-urlencoded",
        **auth_header(token),
    )
    assert response.status_code == 400
    assert set(response.json()) == {"password"}
    assert hashed == []


def test_an_inactive_account_cannot_reach_reauthenticate(api, user, web):
    token = logged_in(api)
    user.is_active = False
    user.save()
    assert reauthenticate(api, token).status_code == 401


# --- The login throttle counts reauthenticate/ (§12) --------------------------------------


def fail_login(api, times, username="alice", ip=HOME):
    assert [login(api, username, "wrong", ip=ip).status_code for _ in range(times)] == [400] * times


def fail_reauth(api, token, times, ip=HOME):
    codes = [reauthenticate(api, token, "wrong", ip=ip).status_code for _ in range(times)]
    assert codes == [400] * times


@pytest.mark.parametrize("at_login", [0, 4, 10])
def test_failures_at_login_and_reauthenticate_share_one_count(api, user, web, at_login):
    token = logged_in(api)
    fail_login(api, at_login)
    fail_reauth(api, token, 10 - at_login)
    throttled = reauthenticate(api, token)
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert login(api).status_code == 429


def test_throttled_reauthenticate_checks_no_password(api, user, web, frozen, hashed):
    token = logged_in(api)
    login_time = row(token).authenticated_at
    fail_reauth(api, token, 10)
    hashed.clear()
    assert reauthenticate(api, token).status_code == 429
    assert hashed == []
    assert row(token).authenticated_at == login_time
    frozen.shift(61)  # the window is over
    assert reauthenticate(api, token).status_code == 200


def test_the_count_is_per_address_and_account(api, user, make_user, web):
    make_user("bob")
    alices, bobs = logged_in(api), logged_in(api, username="bob")
    fail_reauth(api, alices, 10)
    assert reauthenticate(api, alices).status_code == 429
    assert reauthenticate(api, alices, ip="198.51.100.7").status_code == 200
    # Bob shares Alice's address (an office, a carrier's NAT): her failures are not his.
    assert reauthenticate(api, bobs).status_code == 200
    assert login(api, username="bob").status_code == 200


def test_a_success_gives_its_reservation_back(api, user, web):
    token = logged_in(api)
    fail_reauth(api, token, 9)
    assert reauthenticate(api, token).status_code == 200
    fail_reauth(api, token, 1)  # the tenth failure, not an eleventh attempt
    assert reauthenticate(api, token).status_code == 429


def test_no_throttle_when_it_is_off(api, user, web, settings):
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": None}
    token = logged_in(api)
    fail_reauth(api, token, 15)
    assert reauthenticate(api, token).status_code == 200


@pytest.mark.skipif(
    "redis" not in django_settings.CACHES["default"]["BACKEND"].lower(),
    reason="a shared cache; runs in the Redis pass",
)
def test_counted_in_the_throttle_cache_too(api, user, web, settings):
    settings.CACHES = {**settings.CACHES, "throttle": settings.CACHES["default"]}
    settings.REST_DURIN = {"LOGIN_THROTTLE_CACHE": "throttle"}
    token = logged_in(api)
    fail_login(api, 4)
    fail_reauth(api, token, 5)
    assert reauthenticate(api, token).status_code == 200  # gives its reservation back
    fail_reauth(api, token, 1)
    assert reauthenticate(api, token).status_code == 429
    assert login(api).status_code == 429
    assert not LoginFailureCount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_do_not_roll_the_count_back(api, user, web, settings):
    settings.DATABASES["default"]["ATOMIC_REQUESTS"] = True
    try:
        token = logged_in(api)
        fail_reauth(api, token, 10)
        assert reauthenticate(api, token).status_code == 429
    finally:
        settings.DATABASES["default"]["ATOMIC_REQUESTS"] = False


# --- Input it refuses, and never with a 500 ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": 1234},
        {"password": 12.5},
        {"password": True},
        {"password": [PASSWORD]},
        {"password": None},
        {"password": {"value": PASSWORD}},
        {"password": ""},
        {"password": "x" * (MAX_PASSWORD_LENGTH + 1)},
        {"passwd": PASSWORD},
        {"password": f"{PASSWORD}\x00"},
        {"password": "\x00"},
    ],
    ids=[
        "missing",
        "int",
        "float",
        "bool",
        "list",
        "null",
        "object",
        "empty",
        "too-long",
        "misnamed",
        "nul-after",
        "nul",
    ],
)
def test_bad_input_is_a_field_error_never_hashed_nor_counted(api, user, web, hashed, body):
    token = logged_in(api)
    hashed.clear()
    for _ in range(12):  # more than the throttle allows
        response = api.post(reverse(REAUTH), body, format="json", **auth_header(token))
        assert response.status_code == 400
        assert set(response.json()) == {"password"}
    assert hashed == []
    assert reauthenticate(api, token).status_code == 200


def test_the_longest_password_allowed_is_checked(api, user, web, hashed):
    token = logged_in(api)
    hashed.clear()
    response = reauthenticate(api, token, password="x" * MAX_PASSWORD_LENGTH)
    assert (response.status_code, response.json()) == (400, BAD_CREDENTIALS)
    assert len(hashed) == 1


def test_a_body_over_64_kib_is_413_before_anything_is_read(api, user, web, hashed):
    token = logged_in(api)
    hashed.clear()
    body = json.dumps({"password": "x" * (64 * 1024)})
    response = api.generic(
        "POST", reverse(REAUTH), body, content_type="application/json", **auth_header(token)
    )
    assert response.status_code == 413
    assert hashed == []


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/json", b"{not json"),
        ("application/json", b'["correct horse"]'),
        ("application/json", b"null"),
        ("application/json", b'"correct horse battery staple"'),
        ("application/json", b"[" * 5000 + b"]" * 5000),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b""),
        ("application/json; charset=bz2_codec", b'{"password": "x"}'),
        ("application/x-www-form-urlencoded", b"password=%ff%fe"),
        ("application/x-www-form-urlencoded", b"password=a&password=b"),
        ("text/plain", b"correct horse battery staple"),
    ],
)
def test_garbage_is_a_4xx_never_a_500(api, user, web, content_type, payload):
    token = logged_in(api)
    login_time = row(token).authenticated_at
    response = api.generic(
        "POST", reverse(REAUTH), payload, content_type=content_type, **auth_header(token)
    )
    assert 400 <= response.status_code < 500, response.content
    assert row(token).authenticated_at == login_time


# --- Who may reauthenticate ---------------------------------------------------------------


def test_an_api_key_is_refused_with_a_clear_403(api, api_key, hashed):
    hashed.clear()
    response = reauthenticate(api, api_key)
    assert response.status_code == 403
    assert "API key" in response.json()["detail"]
    assert hashed == []
    assert row(api_key).authenticated_at is None
    assert sudo(api, api_key).status_code == 401


def test_no_token_is_401(api, user, web):
    response = api.post(reverse(REAUTH), {"password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert reauthenticate(api, "nope").status_code == 401


def test_a_revoked_token_is_401(api, user, web):
    token = logged_in(api)
    assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    response = reauthenticate(api, token)
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


def test_a_token_revoked_while_its_password_is_checked_is_401(api, user, web, monkeypatch):
    token = logged_in(api)
    check = ModelBackend.authenticate

    def logged_out_meanwhile(self, request, **credentials):
        services.revoke_token(row(token), "logout")
        return check(self, request, **credentials)

    monkeypatch.setattr(ModelBackend, "authenticate", logged_out_meanwhile)
    response = reauthenticate(api, token)
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})
    assert response["WWW-Authenticate"].startswith('Token error="invalid_token"')
    assert not AuthToken.objects.exists()


PASSPHRASE = "a long passphrase with spaces, which pprint would wrap over several lines " * 2


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_the_password_is_never_in_an_error_report(
    settings, reports, monkeypatch, user, web, debug, fmt
):
    user.set_password(PASSPHRASE)
    user.save()
    token = AuthToken.objects.create(user, web).token
    settings.DEBUG = debug

    def broken(self, user):
        raise RuntimeError("the account lookup broke")

    monkeypatch.setattr(ModelBackend, "user_can_authenticate", broken)
    response = APIClient(raise_request_exception=False).post(
        reverse(REAUTH), {"password": PASSPHRASE}, format=fmt, **auth_header(token)
    )
    assert response.status_code == 500
    [report] = reports
    for words in ("a long passphrase", "which pprint would wrap", PASSPHRASE.strip()):
        assert words not in report
    assert token not in report


# --- RecentlyAuthenticated --------------------------------------------------------------

TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
AUTH_PARAM = rf'({TCHAR})=(?:({TCHAR})|"([\x20\x21\x23-\x5b\x5d-\x7e]*)")'


def challenge(response) -> tuple[str, dict[str, str]]:
    """The ``WWW-Authenticate`` scheme and auth-params; fails unless RFC 6750's syntax."""
    header = response["WWW-Authenticate"]
    assert header.isascii(), header
    scheme, _, params = header.partition(" ")
    assert re.fullmatch(TCHAR, scheme), header
    assert re.fullmatch(rf"{AUTH_PARAM}(?:, ?{AUTH_PARAM})*", params), header
    parsed = {name: token or quoted for name, token, quoted in re.findall(AUTH_PARAM, params)}
    assert '"' in header.partition("error_description=")[2][:1]  # a quoted-string, always
    return scheme, parsed


def assert_reauthentication_required(response, max_age=300, scheme="Token"):
    assert (response.status_code, response.json()) == (401, REQUIRED)
    found_scheme, params = challenge(response)
    assert found_scheme == scheme
    assert set(params) == {"error", "error_description", "max_age"}
    assert params["error"] == "insufficient_user_authentication"
    assert params["error_description"]
    assert params["max_age"] == str(max_age)


def test_passes_right_after_login_then_asks_again(api, user, web, frozen):
    token = logged_in(api)
    assert sudo(api, token).status_code == 200
    frozen.shift(299)
    assert sudo(api, token).status_code == 200
    frozen.shift(2)
    assert_reauthentication_required(sudo(api, token))
    assert reauthenticate(api, token).status_code == 200
    assert sudo(api, token).status_code == 200


def test_the_setting_sets_the_max_age(api, user, web, frozen, settings):
    settings.REST_DURIN = {"REAUTHENTICATION_MAX_AGE": 30}
    token = logged_in(api)
    frozen.shift(29)
    assert sudo(api, token).status_code == 200
    frozen.shift(2)
    assert_reauthentication_required(sudo(api, token), max_age=30)


def test_a_view_attribute_overrides_the_setting(api, user, web, frozen):
    token = logged_in(api)
    frozen.shift(61)
    assert sudo(api, token).status_code == 200
    assert_reauthentication_required(sudo(api, token, name="short-sudo"), max_age=60)


def test_a_token_issued_without_a_password_never_passes_until_reauthenticated(api, token):
    assert_reauthentication_required(sudo(api, token))
    assert reauthenticate(api, token).status_code == 200
    assert sudo(api, token).status_code == 200


def test_the_challenge_uses_the_configured_prefix(api, user, web, frozen, settings):
    settings.REST_DURIN = {"AUTH_HEADER_PREFIX": "Bearer"}
    token = logged_in(api)
    frozen.shift(301)
    assert_reauthentication_required(sudo(api, token, prefix="Bearer"), scheme="Bearer")
    assert reauthenticate(api, token, prefix="Bearer").status_code == 200
    assert sudo(api, token, prefix="Bearer").status_code == 200


def test_a_request_without_a_durin_token_is_refused(api, user):
    response = api.get(reverse("sudo"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_session_login_is_refused_not_a_500(api, user):
    assert api.get(reverse("session-sudo")).status_code == 403
    api.force_login(user)
    response = api.get(reverse("session-sudo"))
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


# --- The cached class: the next request sees the new proof ------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reauth_class", ["database", "cached"])
def test_the_cached_class_sees_reauthentication_at_once(
    api, user, web, frozen, monkeypatch, reauth_class
):
    if reauth_class == "cached":
        monkeypatch.setattr(
            ReauthenticateView, "authentication_classes", [CachedTokenAuthentication]
        )
    token = logged_in(api)
    assert sudo(api, token, name="cached-sudo").status_code == 200
    frozen.shift(301)
    assert_reauthentication_required(sudo(api, token, name="cached-sudo"))
    cached, _ = token_cache.read(crypto.digest(token))
    assert cached is not None  # an entry holding the old authenticated_at
    assert reauthenticate(api, token).status_code == 200
    assert sudo(api, token, name="cached-sudo").status_code == 200


# --- Refresh and rotation keep the proof ---------------------------------------------------


def test_refresh_keeps_authenticated_at_and_is_no_proof(api, user, web, frozen):
    token = logged_in(api)
    login_time = row(token).authenticated_at
    frozen.shift(200)
    assert api.post(reverse("durin_refresh"), **auth_header(token)).status_code == 200
    assert row(token).authenticated_at == login_time
    frozen.shift(101)
    assert_reauthentication_required(sudo(api, token))


def test_rotation_keeps_authenticated_at_for_the_session(api, user, make_client, frozen):
    make_client("app", rotate_on_refresh=True)
    first = logged_in(api, client="app")
    session = row(first)
    frozen.shift(200)
    response = api.post(reverse("durin_refresh"), **auth_header(first))
    assert response.status_code == 200
    second = response.json()["token"]
    assert second != first
    assert (row(second).pk, row(second).authenticated_at) == (session.pk, session.authenticated_at)
    [listed] = api.get(reverse("durin_tokensessions-list"), **auth_header(second)).json()
    assert listed["id"] == session.pk
    assert parse_datetime(listed["authenticated_at"]) == session.authenticated_at
    assert sudo(api, second).status_code == 200
    frozen.shift(101)
    assert_reauthentication_required(sudo(api, second))
    assert reauthenticate(api, second).status_code == 200
    assert sudo(api, second).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_reauthenticating_with_the_replaced_token_in_its_grace_serves_the_session(
    api, user, make_client, frozen
):
    make_client("app", rotate_on_refresh=True)
    first = logged_in(api, client="app")
    frozen.shift(301)
    second = api.post(reverse("durin_refresh"), **auth_header(first)).json()["token"]
    assert_reauthentication_required(sudo(api, second, name="cached-sudo"))
    frozen.shift(5)  # a request already in flight, sent with the replaced token
    assert reauthenticate(api, first).status_code == 200
    assert sudo(api, second, name="cached-sudo").status_code == 200
    assert row(second).authenticated_at == timezone.now()


def test_a_views_max_age_beyond_any_date_passes_without_overflow(user, web):
    """A view may ask for a max age no timedelta holds: compared in seconds, never a 500."""
    from types import SimpleNamespace

    from durin.permissions import RecentlyAuthenticated
    from durin.services import issue_token

    token = issue_token(user, web, verify_user=True)
    huge = SimpleNamespace(reauthentication_max_age=10**15)
    assert RecentlyAuthenticated().has_permission(SimpleNamespace(auth=token), huge)
