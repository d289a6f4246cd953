"""The views of CONTRACT §4: status codes, bodies, signals and hostile input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from durin.models import AuthToken
from durin.signals import token_issued, token_renewed, token_revoked

from .conftest import PASSWORD, Received, auth_header

pytestmark = pytest.mark.django_db
LOGIN = "durin_login"
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}


def login(api, client="web", username="alice", password=PASSWORD, **extra):
    body = {"username": username, "password": password, "client": client}
    return api.post(reverse(LOGIN), body, format="json", **extra)


def whoami(api, token):
    return api.get(reverse("whoami"), **auth_header(token))


# --- LoginView --------------------------------------------------------------------------


def test_login_json_returns_a_working_token(api, user, web):
    with Received(user_logged_in) as logged_in, Received(token_issued) as issued:
        response = login(api, HTTP_USER_AGENT="pytest/1.0", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    assert whoami(api, body["token"]).json() == {"username": "alice", "client": "web"}
    expiry = parse_datetime(body["expiry"])
    assert abs(expiry - (timezone.now() + web.token_ttl)) < timedelta(seconds=5)
    assert [c["user"] for c in logged_in] == [user]
    stored = AuthToken.objects.get()
    assert (stored.ip_address, stored.user_agent) == ("10.1.2.3", "pytest/1.0")
    assert stored.last_used is not None
    assert issued[0]["token_id"] == stored.pk and issued[0]["client"] == web
    assert body["token"] not in repr(issued)


def test_login_form_data(api, user, web):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    response = api.post(reverse(LOGIN), body)  # multipart
    assert response.status_code == 200 and whoami(api, response.json()["token"]).status_code == 200


def test_login_with_user_serializer(api, user, web, settings):
    settings.REST_DURIN = {"USER_SERIALIZER": "durin.serializers.UserSerializer"}
    assert login(api).json()["user"] == {"username": "alice"}


def test_login_expiry_format(api, user, web, settings):
    settings.REST_DURIN = {"EXPIRY_DATETIME_FORMAT": "%Y"}
    assert login(api).json()["expiry"] == str(timezone.now().year)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"username": "alice", "password": PASSWORD}, "No client specified."),
        ({"username": "alice", "password": PASSWORD, "client": ""}, "No client specified."),
        (
            {"username": "alice", "password": PASSWORD, "client": "nope"},
            "No client with that name.",
        ),
        (
            {"username": "alice", "password": PASSWORD, "client": "web\x00"},
            "No client with that name.",
        ),
        (
            {"username": "alice", "password": PASSWORD, "client": "w" * 10000},
            "No client with that name.",
        ),
    ],
)
def test_login_client_errors(api, user, web, body, detail):
    response = api.post(reverse(LOGIN), body, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("client", [["web"], {"name": "web"}, 7, True])
def test_login_client_of_the_wrong_type(api, user, web, client):
    response = login(api, client=client)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not AuthToken.objects.exists()


def test_bad_credentials_look_the_same_whatever_the_reason(api, user, make_user, web):
    make_user("carol", is_active=False)
    answers = [
        login(api, password="wrong"),
        login(api, username="nobody"),
        login(api, username="carol"),
    ]
    assert {a.status_code for a in answers} == {400}
    assert all(a.json() == BAD_CREDENTIALS for a in answers)
    assert not AuthToken.objects.exists()


def test_inactive_user_is_refused_even_by_a_backend_that_allows_it(api, make_user, web, settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    make_user("carol", is_active=False)
    response = login(api, username="carol")
    assert (response.status_code, response.json()) == (400, BAD_CREDENTIALS)


@pytest.mark.parametrize(
    ("client", "detail"),
    [
        (None, "No client specified."),
        ("nope", "No client with that name."),
        ("api", "API keys are issued by the API access endpoint."),
    ],
)
def test_a_refused_client_answers_the_same_whatever_the_password(
    api, user, make_client, settings, client, detail
):
    """No password oracle (§12): a refused client is answered before the password counts."""
    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api", "LOGIN_THROTTLE_RATE": "2/m"}
    answers = []
    for password in [PASSWORD, "wrong"] * 3:  # past the throttle's limit: nothing was counted
        body = {"username": "alice", "password": password}
        if client:
            body["client"] = client
        response = api.post(reverse(LOGIN), body, format="json")
        answers.append((response.status_code, response.json()))
    assert answers == [(400, {"detail": detail})] * 6
    assert not AuthToken.objects.exists()


def test_second_login_logs_the_first_device_out(api, user, web):
    first = login(api).json()["token"]
    with Received(token_revoked) as revoked:
        second = login(api).json()["token"]
    assert first != second
    assert whoami(api, first).status_code == 401
    assert whoami(api, second).status_code == 200
    assert [r["reason"] for r in revoked] == ["session_limit"]


def test_refresh_token_on_login_still_issues_a_new_token(api, user, web, settings):
    settings.REST_DURIN = {"REFRESH_TOKEN_ON_LOGIN": True}
    first = login(api).json()["token"]
    assert login(api).json()["token"] != first


def test_logins_on_other_clients_are_separate(api, user, web, mobile):
    on_web = login(api).json()["token"]
    on_mobile = login(api, client="mobile").json()["token"]
    assert whoami(api, on_web).status_code == 200 and whoami(api, on_mobile).status_code == 200


def test_session_limit_above_one_revokes_the_oldest(api, user, make_client):
    make_client("tablet", session_limit=2)
    tokens = [login(api, client="tablet").json()["token"] for _ in range(3)]
    assert [whoami(api, t).status_code for t in tokens] == [401, 200, 200]


def test_unlimited_sessions(api, user, make_client):
    make_client("tablet", session_limit=None)
    tokens = [login(api, client="tablet").json()["token"] for _ in range(4)]
    assert [whoami(api, t).status_code for t in tokens] == [200] * 4


CREDENTIALS_OR_LIMIT = {
    "non_field_errors": [
        (
            "Unable to log in with provided credentials, or you are logged in on as many "
            "devices as this client allows: log out of one first."
        )
    ]
}


def test_session_limit_can_refuse_the_new_login(api, user, make_client):
    make_client("kiosk", session_limit=1, session_limit_action="refuse")
    first = login(api, client="kiosk").json()["token"]
    response = login(api, client="kiosk")
    assert (response.status_code, response.json()) == (400, CREDENTIALS_OR_LIMIT)
    assert whoami(api, first).status_code == 200
    assert AuthToken.objects.count() == 1


def test_a_refusing_client_at_its_limit_is_no_password_oracle(api, user, make_client, settings):
    """Right password at the limit, wrong password: one answer, and both are counted."""
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": "4/m"}
    make_client("kiosk", session_limit=1, session_limit_action="refuse")
    assert login(api, client="kiosk").status_code == 200
    answers = [login(api, client="kiosk", password=p) for p in [PASSWORD, "wrong"] * 2]
    assert {(a.status_code, json.dumps(a.json())) for a in answers} == {
        (400, json.dumps(CREDENTIALS_OR_LIMIT))
    }
    assert login(api, client="kiosk").status_code == 429  # all four were counted
    assert AuthToken.objects.count() == 1


def test_a_refusing_client_below_its_limit_answers_a_wrong_password_alike(api, user, make_client):
    make_client("kiosk", session_limit=2, session_limit_action="refuse")
    assert login(api, client="kiosk", password="wrong").json() == CREDENTIALS_OR_LIMIT


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/json", b"{not json"),
        ("application/json", b'["alice", "pw"]'),
        ("application/json", b"null"),
        ("application/json", b'"string"'),
        ("application/json", b'{"username": {"a": 1}, "password": [1], "client": "web"}'),
        ("application/json", b'{"username": "al\\u0000ice", "password": "x", "client": "web"}'),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/x-www-form-urlencoded", b"username=%ff%fe&password=%00&client=web"),
        ("text/plain", b"hello"),
        ("application/json", b""),
    ],
)
def test_login_garbage_is_a_4xx_never_a_500(api, user, web, content_type, payload):
    response = api.generic("POST", reverse(LOGIN), payload, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content
    assert not AuthToken.objects.exists()


def test_huge_login_body_is_refused_before_parsing(api, user, web):
    payload = json.dumps({"username": "alice", "password": "x" * 200_000, "client": "web"})
    response = api.generic("POST", reverse(LOGIN), payload, content_type="application/json")
    assert response.status_code == 413


def test_login_get_is_405(api):
    assert api.get(reverse(LOGIN)).status_code == 405


# --- Views that need a token ------------------------------------------------------------

TOKEN_VIEWS = [
    ("post", "durin_refresh"),
    ("post", "durin_logout"),
    ("post", "durin_logoutall"),
    ("get", "durin_tokensessions-list"),
    ("get", "durin_apiaccess"),
    ("post", "durin_apiaccess"),
    ("delete", "durin_apiaccess"),
]


@pytest.mark.parametrize(("method", "name"), TOKEN_VIEWS)
def test_token_views_answer_401_without_a_token(api, method, name, token):
    response = getattr(api, method)(reverse(name))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    response = getattr(api, method)(reverse(name), HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "name"), TOKEN_VIEWS)
def test_token_views_answer_401_to_a_session_login(api, method, name, user, settings):
    settings.REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    }
    api.force_login(user)
    response = getattr(api, method)(reverse(name))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_session_detail_needs_a_token(api, token):
    url = reverse("durin_tokensessions-detail", args=[token.pk])
    assert api.delete(url).status_code == 401
    assert AuthToken.objects.filter(pk=token.pk).exists()


# --- RefreshView ------------------------------------------------------------------------


def test_refresh_extends_expiry_by_the_client_ttl(api, token, web):
    later = timezone.now() + timedelta(hours=5)
    with time_machine.travel(later, tick=False), Received(token_renewed) as renewed:
        response = api.post(reverse("durin_refresh"), **auth_header(token))
    assert response.status_code == 200
    assert set(response.json()) == {"expiry"}
    new_expiry = parse_datetime(response.json()["expiry"])
    assert new_expiry == later + web.token_ttl
    assert AuthToken.objects.get(pk=token.pk).expiry == new_expiry
    assert renewed[0]["new_expiry"] == new_expiry and renewed[0]["request"] is not None


def test_refresh_is_capped_by_max_token_lifetime(api, user, make_client):
    client = make_client(
        "capped", token_ttl=timedelta(days=1), max_token_lifetime=timedelta(hours=30)
    )
    token = AuthToken.objects.create(user, client)
    assert token.expiry == token.created + timedelta(days=1)
    with time_machine.travel(token.created + timedelta(hours=20), tick=False):
        response = api.post(reverse("durin_refresh"), **auth_header(token))
    assert parse_datetime(response.json()["expiry"]) == token.created + timedelta(hours=30)


# --- LogoutView / LogoutAllView ---------------------------------------------------------


def test_logout(api, token, user):
    with Received(user_logged_out) as out, Received(token_revoked) as revoked:
        response = api.post(reverse("durin_logout"), **auth_header(token))
    assert response.status_code == 204
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    assert whoami(api, token).status_code == 401
    assert [c["user"] for c in out] == [user]
    assert [(r["token_id"], r["reason"]) for r in revoked] == [(token.pk, "logout")]


def test_logout_all_ends_only_the_callers_tokens(api, token, user, other_user, web, mobile):
    second = AuthToken.objects.create(user, mobile)
    bobs = AuthToken.objects.create(other_user, web)
    with Received(user_logged_out) as out:
        assert api.post(reverse("durin_logoutall"), **auth_header(second)).status_code == 204
    assert list(AuthToken.objects.all()) == [bobs]
    assert whoami(api, bobs).status_code == 200
    assert len(out) == 1


# --- TokenSessionsViewSet ---------------------------------------------------------------


def test_sessions_list(api, token, user, other_user, mobile, make_client):
    other = AuthToken.objects.create(user, mobile)
    AuthToken.objects.create(other_user, mobile)
    expired = AuthToken.objects.create(user, make_client("old"), delta_ttl=timedelta(seconds=-1))
    response = api.get(reverse("durin_tokensessions-list"), **auth_header(token))
    assert response.status_code == 200
    sessions = response.json()
    assert [s["id"] for s in sessions] == [other.pk, token.pk]
    assert expired.pk not in [s["id"] for s in sessions]
    current = sessions[1]
    assert set(current) == {
        "id",
        "client",
        "created",
        "expiry",
        "has_expired",
        "is_current",
        "expires_in_str",
        "last_used",
        "ip_address",
        "user_agent",
        "authenticated_at",
    }
    assert (current["client"], current["is_current"], current["has_expired"]) == (
        "web",
        True,
        False,
    )
    assert sessions[0]["is_current"] is False
    assert current["expires_in_str"] == "1 day"  # the web client's token_ttl, just issued
    text = response.content.decode()
    assert token.digest not in text and token.token not in text


def test_sessions_exclude_api_access_when_asked(api, token, user, make_client, settings):
    AuthToken.objects.create(user, make_client("api"))
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    url = reverse("durin_tokensessions-list")
    assert len(api.get(url, **auth_header(token)).json()) == 2
    settings.REST_DURIN = {
        "API_ACCESS_CLIENT_NAME": "api",
        "API_ACCESS_EXCLUDE_FROM_SESSIONS": True,
    }
    assert [s["client"] for s in api.get(url, **auth_header(token)).json()] == ["web"]


def test_session_delete(api, token, user, mobile):
    other = AuthToken.objects.create(user, mobile)
    with Received(token_revoked) as revoked:
        response = api.delete(
            reverse("durin_tokensessions-detail", args=[other.pk]), **auth_header(token)
        )
    assert response.status_code == 204
    assert whoami(api, other).status_code == 401
    assert [r["reason"] for r in revoked] == ["session_delete"]


def test_session_delete_of_the_current_token_is_400(api, token):
    response = api.delete(
        reverse("durin_tokensessions-detail", args=[token.pk]), **auth_header(token)
    )
    assert response.status_code == 400
    assert "logout" in response.json()["detail"]
    assert whoami(api, token).status_code == 200


def test_session_delete_of_someone_elses_token_is_404(api, token, other_user, web):
    bobs = AuthToken.objects.create(other_user, web)
    response = api.delete(
        reverse("durin_tokensessions-detail", args=[bobs.pk]), **auth_header(token)
    )
    assert response.status_code == 404
    assert whoami(api, bobs).status_code == 200


NOT_FOUND = {"detail": "Not found."}  # DRF's, as in 1.x; never a model name


@pytest.mark.parametrize("slash", ["", "/"])
def test_session_delete_with_or_without_the_trailing_slash(api, token, user, mobile, slash):
    other = AuthToken.objects.create(user, mobile)
    response = api.delete(f"/api/auth/sessions/{other.pk}{slash}", **auth_header(token))
    assert response.status_code == 204
    assert whoami(api, other).status_code == 401
    current = api.delete(f"/api/auth/sessions/{token.pk}{slash}", **auth_header(token))
    assert current.status_code == 400 and "logout" in current.json()["detail"]
    unauthenticated = api.delete(f"/api/auth/sessions/{other.pk}{slash}")
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize("slash", ["", "/"])
def test_someone_elses_session_answers_exactly_like_a_missing_one(
    api, token, user, other_user, web, mobile, slash, django_assert_num_queries
):
    """No existence oracle: the same status, body, headers and queries for either id."""
    bobs = AuthToken.objects.create(other_user, web)
    expired = AuthToken.objects.create(user, mobile)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    missing = AuthToken.objects.order_by("-pk").first().pk + 1
    whoami(api, token)  # the token's first use writes last_used; not part of what is compared
    answers = []
    for pk in (missing, bobs.pk, expired.pk):
        # The token, then the session (and the DRF's session-less request writes nothing).
        with django_assert_num_queries(2):
            response = api.delete(f"/api/auth/sessions/{pk}{slash}", **auth_header(token))
        answers.append((response.status_code, response.json(), sorted(response.items())))
    assert answers[0][:2] == (404, NOT_FOUND)
    assert answers[1] == answers[0] and answers[2] == answers[0]
    assert AuthToken.objects.filter(pk__in=[bobs.pk, expired.pk]).count() == 2


@pytest.mark.parametrize(
    "pk",
    [
        "999999",
        "9" * 18,
        str(2**63 - 1),
        str(2**63),  # one past a BigAutoField
        "9" * 19,
        "9" * 400,
        "abc",
        "-1",
        "+1",
        "1.5",
        "1e3",
        "1_0",
        "%20" + "1",  # " 1": int() would take it
        "%D9%A1",  # ARABIC-INDIC DIGIT ONE: int() would take it too
        "%C2%B9",  # SUPERSCRIPT ONE: isdigit() but not int()
        "%00",
        "0x1",
        "%E2%80%8B1",
    ],
)
@pytest.mark.parametrize("slash", ["", "/"])
def test_session_delete_of_odd_ids_is_a_json_404(api, token, pk, slash):
    response = api.delete(f"/api/auth/sessions/{pk}{slash}", **auth_header(token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert whoami(api, token).status_code == 200


def test_a_session_spelled_with_leading_zeros_is_that_session(api, token, user, mobile):
    other = AuthToken.objects.create(user, mobile)
    response = api.delete(f"/api/auth/sessions/{'0' * 30}{other.pk}/", **auth_header(token))
    assert response.status_code == 204
    assert whoami(api, other).status_code == 401


# --- APIAccessTokenView -----------------------------------------------------------------


@pytest.fixture
def api_access(make_client, settings):
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    return make_client("api", token_ttl=timedelta(days=365))


def test_api_access_lifecycle(api, token, api_access):
    url = reverse("durin_apiaccess")
    assert api.get(url, **auth_header(token)).status_code == 404
    created = api.post(url, **auth_header(token))
    assert created.status_code == 201
    key = created.json()["token"]
    assert created.json()["client"] == "api"
    assert whoami(api, key).json() == {"username": "alice", "client": "api"}
    shown = api.get(url, **auth_header(token))
    assert shown.status_code == 200
    assert set(shown.json()) == {"client", "created", "expiry", "has_expired", "expires_in_str"}
    assert shown.json()["expires_in_str"] == "1 year"  # a 365-day key, not "11 months, 4 weeks"
    again = api.post(url, **auth_header(token))
    assert again.status_code == 400
    assert again.json() == {"detail": "An API token was already issued to you."}
    assert api.delete(url, **auth_header(token)).status_code == 204
    assert whoami(api, key).status_code == 401
    assert api.delete(url, **auth_header(token)).status_code == 404


def test_api_access_include_token_setting_cannot_leak(api, token, api_access, settings):
    settings.REST_DURIN = {
        "API_ACCESS_CLIENT_NAME": "api",
        "API_ACCESS_RESPONSE_INCLUDE_TOKEN": True,
    }
    api.post(reverse("durin_apiaccess"), **auth_header(token))
    assert "token" not in api.get(reverse("durin_apiaccess"), **auth_header(token)).json()


def test_api_access_is_per_user(api, token, other_user, web, api_access):
    bobs = AuthToken.objects.create(other_user, web)
    assert api.post(reverse("durin_apiaccess"), **auth_header(bobs)).status_code == 201
    for method in (api.get, api.delete):
        response = method(reverse("durin_apiaccess"), **auth_header(token))
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_api_access_unset_or_missing_client_is_404_saying_so(api, token, settings, method):
    url = reverse("durin_apiaccess")
    response = getattr(api, method)(url, **auth_header(token))
    assert response.status_code == 404
    assert "API_ACCESS_CLIENT_NAME is not set" in response.json()["detail"]
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "missing"}
    response = getattr(api, method)(url, **auth_header(token))
    assert response.status_code == 404
    assert "does not exist" in response.json()["detail"]


def test_responses_carrying_a_token_are_not_stored(api, user, web, make_client, settings):
    assert login(api)["Cache-Control"] == "no-store"
    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    token = AuthToken.objects.create(user, make_client("cli"))
    assert api.post(reverse("durin_apiaccess"), **auth_header(token))["Cache-Control"] == "no-store"


def test_password_login_through_the_api_access_client_is_refused(api, user, make_client, settings):
    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    key = AuthToken.objects.create(user, make_client("api2"))  # any live token to call apiaccess
    issued = api.post(reverse("durin_apiaccess"), **auth_header(key)).json()["token"]
    response = login(api, client="api")
    assert response.status_code == 400
    assert response.json() == {"detail": "API keys are issued by the API access endpoint."}
    assert whoami(api, issued).status_code == 200
    # MariaDB's default collation would find "api" for these; they name no client.
    for variant in ("API", "Api", "api "):
        assert login(api, client=variant).json() == {"detail": "No client with that name."}
    assert whoami(api, issued).status_code == 200


@pytest.mark.parametrize("codec", ["bz2_codec", "zlib_codec", "rot13", "no-such-charset"])
def test_login_body_in_a_codec_that_is_not_text_is_415(api, user, web, codec):
    response = api.generic(
        "POST", reverse(LOGIN), b"{}", content_type=f"application/json; charset={codec}"
    )
    assert response.status_code == 415
