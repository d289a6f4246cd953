"""Scopes (CONTRACT §10, first bullet): the project declares them in ``SCOPES``, tokens carry
them (null: unrestricted), ``TokenHasScope`` refuses a token that lacks one with 403 and RFC
6750's ``insufficient_scope`` challenge, and no way of creating a token accepts a name the
project did not declare.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client as BrowserClient
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from durin import cache as token_cache
from durin import crypto
from durin.constants import INTROSPECT_SCOPE
from durin.models import AuthToken
from durin.permissions import TokenHasScope

from .conftest import PASSWORD, auth_header, no_queries
from .test_checks import check
from .test_recent_authentication import AUTH_PARAM, TCHAR

pytestmark = pytest.mark.django_db

SCOPES = {
    "orders:read": "Read your orders",
    "orders:write": "Change your orders",
    "refunds": "Refund a payment",
}
DENIED = {"detail": "This token's scopes do not allow this request."}


@pytest.fixture(autouse=True)
def declared(settings):
    settings.REST_DURIN = {"SCOPES": SCOPES}


@pytest.fixture
def web(make_client):
    """Keys with different scopes side by side: no session limit."""
    return make_client("web", session_limit=None)


def key(user, client, scopes):
    return AuthToken.objects.create(user, client, scopes=scopes)


def get(api, name, token, prefix="Token"):
    return api.get(reverse(name), **auth_header(token, prefix))


def challenge(response) -> tuple[str, dict[str, str]]:
    """The ``WWW-Authenticate`` scheme and auth-params; fails unless RFC 6750's syntax, with
    ``scope`` a quoted-string."""
    header = response["WWW-Authenticate"]
    assert header.isascii(), header
    scheme, _, params = header.partition(" ")
    assert re.fullmatch(TCHAR, scheme), header
    assert re.fullmatch(rf"{AUTH_PARAM}(?:, ?{AUTH_PARAM})*", params), header
    assert params.partition("scope=")[2][:1] == '"', header
    parsed = {name: token or quoted for name, token, quoted in re.findall(AUTH_PARAM, params)}
    return scheme, parsed


def assert_insufficient_scope(response, scopes, scheme="Token"):
    assert (response.status_code, response.json()) == (403, DENIED)
    found_scheme, params = challenge(response)
    assert found_scheme == scheme
    assert params == {"error": "insufficient_scope", "scope": " ".join(scopes)}


# --- TokenHasScope ------------------------------------------------------------------------


def test_a_token_with_the_scope_passes(api, user, web):
    assert get(api, "read-orders", key(user, web, ["orders:read"])).status_code == 200
    assert get(api, "read-orders", key(user, web, ["refunds", "orders:read"])).status_code == 200


def test_an_unrestricted_token_passes(api, user, web):
    assert get(api, "read-orders", key(user, web, None)).status_code == 200
    assert get(api, "edit-orders", key(user, web, None)).status_code == 200


def test_a_login_token_is_unrestricted(api, user, web):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    token = api.post(reverse("durin_login"), body, format="json").json()["token"]
    assert AuthToken.objects.get(digest=crypto.digest(token)).scopes is None
    assert get(api, "edit-orders", token).status_code == 200


def test_a_token_lacking_the_scope_gets_403_with_the_challenge(api, user, web):
    assert_insufficient_scope(get(api, "read-orders", key(user, web, ["refunds"])), ["orders:read"])


def test_a_token_with_no_scope_at_all_passes_no_check(api, user, web):
    assert_insufficient_scope(get(api, "read-orders", key(user, web, [])), ["orders:read"])


def test_all_required_scopes_are_needed_and_all_are_named(api, user, web):
    both = ["orders:read", "orders:write"]
    assert get(api, "edit-orders", key(user, web, both)).status_code == 200
    assert get(api, "edit-orders", key(user, web, [*both, "refunds"])).status_code == 200
    for one in (["orders:read"], ["orders:write"], ["refunds"]):
        assert_insufficient_scope(get(api, "edit-orders", key(user, web, one)), both)


def test_any_of_with_subclasses_joined_by_or(api, user, web):
    assert get(api, "read-or-refund", key(user, web, ["orders:read"])).status_code == 200
    assert get(api, "read-or-refund", key(user, web, ["refunds"])).status_code == 200
    # Neither: the first refusal's challenge.
    response = get(api, "read-or-refund", key(user, web, ["orders:write"]))
    assert_insufficient_scope(response, ["orders:read"])


@pytest.mark.parametrize("view", ["refund-or-staff", "staff-or-refund"])
def test_or_with_a_drf_permission_asks_both_sides(api, user, make_user, web, view):
    staff = make_user("root", is_staff=True)
    assert get(api, view, key(staff, web, ["orders:read"])).status_code == 200
    assert get(api, view, key(user, web, ["refunds"])).status_code == 200
    assert_insufficient_scope(get(api, view, key(user, web, ["orders:read"])), ["refunds"])


def test_or_with_recently_authenticated(api, user, web):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    login = api.post(reverse("durin_login"), body, format="json").json()["token"]
    assert get(api, "refund-or-sudo", login).status_code == 200  # a recent password proof
    assert get(api, "refund-or-sudo", key(user, web, ["refunds"])).status_code == 200
    response = get(api, "refund-or-sudo", key(user, web, ["orders:read"]))
    assert_insufficient_scope(response, ["refunds"])  # the first refusal


def test_the_challenge_uses_the_configured_prefix(api, user, web, settings):
    settings.REST_DURIN = {"SCOPES": SCOPES, "AUTH_HEADER_PREFIX": "Bearer"}
    token = key(user, web, ["refunds"])
    assert_insufficient_scope(
        get(api, "read-orders", token, prefix="Bearer"), ["orders:read"], scheme="Bearer"
    )


def test_a_refusal_carries_a_stable_code(user, web):
    from durin.permissions import InsufficientScope

    exc = InsufficientScope(["orders:read"])
    assert exc.get_codes() == "insufficient_scope"
    assert exc.status_code == 403


def test_negation_lets_a_token_without_the_scope_in():
    """``~CanRefund``: a refusal is a ``False`` there, never a 403 of its own."""
    from types import SimpleNamespace

    from .views import CanRefund

    token = AuthToken(scopes=["orders:read"])
    request = SimpleNamespace(auth=token)
    assert (~CanRefund)().has_permission(request, None) is True
    assert (~CanRefund)().has_permission(
        SimpleNamespace(auth=AuthToken(scopes=None)), None
    ) is False


def test_a_request_without_a_durin_token_is_refused(api, user):
    response = api.get(reverse("read-orders"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_session_login_is_refused_not_a_500(api, user):
    assert api.get(reverse("session-orders")).status_code == 403
    api.force_login(user)
    response = api.get(reverse("session-orders"))
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


def test_scopes_stored_as_anything_but_a_list_grant_nothing(api, user, web):
    """A row written around durin (``"orders:read:all"`` is no list): never a substring match."""
    token = key(user, web, ["refunds"])
    AuthToken.objects.filter(pk=token.pk).update(scopes="orders:read:all")
    assert_insufficient_scope(get(api, "read-orders", token), ["orders:read"])


@pytest.mark.parametrize(
    "required",
    [None, [], "orders:read", ["orders:delete"], ["orders:read", 7], [INTROSPECT_SCOPE + "x"]],
)
def test_a_view_with_wrong_required_scopes_is_improperly_configured(user, web, required):
    from .views import WhoAmIView

    class View(WhoAmIView):
        permission_classes = [TokenHasScope]
        required_scopes = required

    request = APIRequestFactory().get("/", **auth_header(key(user, web, None)))
    with pytest.raises(ImproperlyConfigured, match="required_scopes"):
        View.as_view()(request)


def test_a_view_without_required_scopes_is_improperly_configured_even_unauthenticated(api):
    with pytest.raises(ImproperlyConfigured, match="NoScopesNamedView"):
        api.get(reverse("no-scopes-named"))


def test_a_scope_removed_from_the_setting_is_a_configuration_error(user, web, settings):
    settings.REST_DURIN = {"SCOPES": {"refunds": ""}}
    from .views import ReadOrdersView

    request = APIRequestFactory().get("/", **auth_header(key(user, web, None)))
    with pytest.raises(ImproperlyConfigured, match="orders:read"):
        ReadOrdersView.as_view()(request)


def test_introspect_is_a_scope_a_view_may_require(user, web):
    from .views import WhoAmIView

    class View(WhoAmIView):
        permission_classes = [TokenHasScope]
        required_scopes = [INTROSPECT_SCOPE]

    def answer(token):
        return View.as_view()(APIRequestFactory().get("/", **auth_header(token))).status_code

    assert answer(key(user, web, [INTROSPECT_SCOPE])) == 200
    assert answer(key(user, web, ["refunds"])) == 403


# --- The cached class -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_scoped_token_served_from_the_cache_is_still_checked(api, user, web):
    allowed, refused = key(user, web, ["orders:read"]), key(user, web, ["refunds"])
    assert get(api, "cached-read-orders", allowed).status_code == 200
    assert get(api, "cached-read-orders", refused).status_code == 403
    with no_queries():
        assert get(api, "cached-read-orders", allowed).status_code == 200
        assert_insufficient_scope(get(api, "cached-read-orders", refused), ["orders:read"])
    cached, _ = token_cache.read(crypto.digest(refused.token))
    assert cached is not None and cached.scopes == ["refunds"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("before", "after"), [(["refunds"], ["orders:read"]), (None, ["refunds"])])
def test_scopes_changed_with_save_are_seen_at_once(api, user, web, before, after):
    """Narrowing a key's scopes (in a shell, or a project's own admin) holds on the next
    request, in every process: ``save()`` marks the cached entry stale once committed."""
    token = key(user, web, before)
    plaintext = token.token
    first = get(api, "cached-read-orders", plaintext).status_code
    assert token_cache.read(crypto.digest(plaintext))[0] is not None  # a warm entry
    row = AuthToken.objects.get(pk=token.pk)
    row.scopes = after
    row.save()
    assert get(api, "cached-read-orders", plaintext).status_code != first


# --- Unknown and malformed scopes are refused where tokens are created -----------------------

BAD_SCOPES = [
    pytest.param("orders:read", id="a string"),
    pytest.param({"orders:read": True}, id="a dict"),
    pytest.param([["orders:read"]], id="nested"),
    pytest.param(["orders:read", 1], id="a number"),
    pytest.param([None], id="None inside"),
    pytest.param(["orders:read", "orders:read"], id="duplicated"),
    pytest.param(["orders:delete"], id="unknown"),
    pytest.param(["ORDERS:READ"], id="another case"),
    pytest.param([" orders:read"], id="padded"),
    pytest.param(["orders:read\x00"], id="NUL"),
    pytest.param(["x" * 100_000], id="a very long name"),
    pytest.param([f"scope{i}" for i in range(5000)], id="thousands"),
    pytest.param(["orders:read"] * 5000, id="thousands duplicated"),
]


@pytest.mark.parametrize("scopes", BAD_SCOPES)
def test_objects_create_refuses_bad_scopes(user, web, scopes):
    with pytest.raises(ValueError, match=r"(?i)scope") as refused:
        AuthToken.objects.create(user, web, scopes=scopes)
    assert len(str(refused.value)) < 400  # a message, not the input echoed back
    assert not AuthToken.objects.exists()


def test_objects_create_keeps_the_scopes(user, web):
    token = AuthToken.objects.create(user, web, scopes=["refunds", "orders:read"])
    assert AuthToken.objects.get(pk=token.pk).scopes == ["refunds", "orders:read"]
    assert AuthToken.objects.create(user, web, scopes=()).scopes == []


def test_introspect_is_always_a_valid_scope(user, web, settings):
    settings.REST_DURIN = {}
    token = AuthToken.objects.create(user, web, scopes=[INTROSPECT_SCOPE])
    assert AuthToken.objects.get(pk=token.pk).scopes == [INTROSPECT_SCOPE]
    with pytest.raises(ValueError):
        AuthToken.objects.create(user, web, scopes=["orders:read"])


def test_a_name_the_setting_cannot_hold_is_never_a_known_scope(user, web, settings):
    settings.REST_DURIN = {"SCOPES": {"has space": "", 'quote"d': "", "ok": ""}}
    for name in ("has space", 'quote"d'):
        with pytest.raises(ValueError, match="Unknown"):
            AuthToken.objects.create(user, web, scopes=[name])
    assert AuthToken.objects.create(user, web, scopes=["ok"]).scopes == ["ok"]


# --- The admin ----------------------------------------------------------------------------


@pytest.fixture
def browser(db):
    admin_user = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    browser.force_login(admin_user)
    return browser


ADD = "admin:durin_authtoken_add"


def test_the_admin_offers_the_declared_scopes_and_introspect(browser):
    page = browser.get(reverse(ADD)).content.decode()
    offered = set(re.findall(r'name="scopes" value="([^"]+)"', page))
    assert offered == {*SCOPES, INTROSPECT_SCOPE}
    assert "Refund a payment" in page


def test_the_admin_issues_a_scoped_token_and_shows_its_scopes(browser, user, web):
    response = browser.post(
        reverse(ADD), {"user": user.pk, "client": web.pk, "scopes": ["refunds", "orders:read"]}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'id="durin-issued-scopes">orders:read, refunds<', page), page
    token = AuthToken.objects.get()
    assert token.scopes == ["orders:read", "refunds"]
    detail = browser.get(reverse("admin:durin_authtoken_change", args=[token.pk]))
    assert "orders:read, refunds" in detail.content.decode()
    listing = browser.get(reverse("admin:durin_authtoken_changelist"))
    assert "orders:read, refunds" in listing.content.decode()


def test_the_admin_issues_an_unrestricted_token_when_none_is_ticked(browser, user, web):
    response = browser.post(reverse(ADD), {"user": user.pk, "client": web.pk})
    assert 'id="durin-issued-scopes">unrestricted<' in response.content.decode()
    assert AuthToken.objects.get().scopes is None


def test_a_duplicated_scope_in_the_admin_counts_once(browser, user, web):
    body = {"user": user.pk, "client": web.pk, "scopes": ["refunds", "refunds"]}
    assert browser.post(reverse(ADD), body).status_code == 200
    assert AuthToken.objects.get().scopes == ["refunds"]


@pytest.mark.parametrize(
    "scopes",
    [["orders:delete"], ["refunds", "nope"], ["refunds\x00"], ["x" * 100_000], [""]],
)
def test_the_admin_refuses_a_scope_it_does_not_offer(browser, user, web, scopes):
    response = browser.post(reverse(ADD), {"user": user.pk, "client": web.pk, "scopes": scopes})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert "durin-issued-token" not in response.content.decode()
    assert not AuthToken.objects.exists()


def test_the_admin_still_cannot_edit_a_tokens_scopes(browser, user, web):
    token = key(user, web, ["refunds"])
    url = reverse("admin:durin_authtoken_change", args=[token.pk])
    response = browser.post(url, {"user": user.pk, "client": web.pk, "scopes": ["orders:read"]})
    assert response.status_code == 403
    assert AuthToken.objects.get(pk=token.pk).scopes == ["refunds"]


# --- System checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scopes",
    [["orders:read"], "orders:read", None, {"orders:read": None}, {7: "seven"}, {"a": 1}],
)
def test_e003_scopes_of_the_wrong_type(scopes):
    assert check(REST_DURIN={"SCOPES": scopes}) == ["durin.E003"]


@pytest.mark.parametrize("name", ["", "two words", 'quo"te', "back\\slash", "caf\u00e9", "a\x00"])
def test_e010_a_name_no_challenge_can_carry(name):
    assert check(REST_DURIN={"SCOPES": {name: "", "fine": ""}}) == ["durin.E010"]


@pytest.mark.parametrize("name", [INTROSPECT_SCOPE, "durin:admin"])
def test_w008_durins_own_scope_names(name):
    assert check(REST_DURIN={"SCOPES": {name: "mine"}}) == ["durin.W008"]


def test_declared_scopes_are_clean():
    assert check(REST_DURIN={"SCOPES": SCOPES}) == []
    assert check(REST_DURIN={"SCOPES": {}}) == []


# Sessions are managed by unrestricted tokens only (attack14) ----------------------------------


@pytest.mark.parametrize(
    "method, route",
    [
        ("get", "durin_tokensessions-list"),
        ("delete", "durin_tokensessions-detail"),
        ("post", "durin_logoutothers"),
        ("post", "durin_logoutall"),
    ],
)
def test_a_scoped_token_cannot_see_or_end_sessions(api, user, web, make_client, method, route):
    phone = AuthToken.objects.create(user, make_client("phone", session_limit=None))
    scoped = key(user, web, ["orders:read"])
    kwargs = {"pk": phone.pk} if route.endswith("detail") else {}
    response = getattr(api, method)(reverse(route, kwargs=kwargs), **auth_header(scoped))
    assert response.status_code == 403
    assert response.json() == {"detail": "A token limited to some scopes cannot manage sessions."}
    assert AuthToken.objects.filter(pk__in=[phone.pk, scoped.pk]).count() == 2


def test_an_unrestricted_token_still_manages_sessions(api, user, web, make_client):
    # As in 1.x: a token without scopes (a login's, or an unrestricted key) lists and ends them.
    phone = AuthToken.objects.create(user, make_client("phone", session_limit=None))
    unrestricted = key(user, web, None)
    listed = api.get(reverse("durin_tokensessions-list"), **auth_header(unrestricted))
    assert listed.status_code == 200 and phone.pk in {s["id"] for s in listed.json()}
    url = reverse("durin_tokensessions-detail", kwargs={"pk": phone.pk})
    assert api.delete(url, **auth_header(unrestricted)).status_code == 204
