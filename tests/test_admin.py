"""Admin: tokens are issued through the service, shown once, never editable, never logged."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client as BrowserClient
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from durin import crypto
from durin.models import AuthToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(db):
    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    browser.force_login(admin)
    return browser


def test_adding_a_token_shows_the_plaintext_once(browser, user, web):
    response = browser.post(
        reverse("admin:durin_authtoken_add"), {"user": user.pk, "client": web.pk}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = re.search(r'id="durin-issued-token">([A-Za-z0-9_]+)<', response.content.decode())[1]
    token = AuthToken.objects.get()
    assert token.digest == crypto.digest(plaintext)
    entry = LogEntry.objects.get()
    assert plaintext not in entry.object_repr and plaintext not in entry.change_message
    detail = browser.get(reverse("admin:durin_authtoken_change", args=[token.pk]))
    assert detail.status_code == 200 and plaintext not in detail.content.decode()
    listing = browser.get(reverse("admin:durin_authtoken_changelist"))
    assert plaintext not in listing.content.decode()


def test_admin_issues_through_the_session_limit(browser, user, web):
    first = AuthToken.objects.create(user, web)
    browser.post(reverse("admin:durin_authtoken_add"), {"user": user.pk, "client": web.pk})
    assert not AuthToken.objects.filter(pk=first.pk).exists()
    assert AuthToken.objects.count() == 1


def test_tokens_cannot_be_edited(browser, token, other_user):
    url = reverse("admin:durin_authtoken_change", args=[token.pk])
    response = browser.post(url, {"user": other_user.pk, "client": token.client_id})
    assert response.status_code == 403
    assert AuthToken.objects.get(pk=token.pk).user_id == token.user_id


def test_admin_delete_revokes(browser, token):
    url = reverse("admin:durin_authtoken_delete", args=[token.pk])
    assert browser.post(url, {"post": "yes"}).status_code == 302
    assert not AuthToken.objects.exists()


def test_admin_bulk_delete_revokes(browser, user, web, mobile):
    tokens = [AuthToken.objects.create(user, web), AuthToken.objects.create(user, mobile)]
    response = browser.post(
        reverse("admin:durin_authtoken_changelist"),
        {"action": "delete_selected", "_selected_action": [t.pk for t in tokens], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AuthToken.objects.exists()


def test_client_admin_pages(browser, web):
    assert browser.get(reverse("admin:durin_client_changelist")).status_code == 200
    assert browser.get(reverse("admin:durin_client_change", args=[web.pk])).status_code == 200


def test_tokens_issued_in_the_admin_carry_no_admin_metadata(browser, user, web):
    browser.post(
        reverse("admin:durin_authtoken_add"),
        {"user": user.pk, "client": web.pk},
        REMOTE_ADDR="192.0.2.77",
        HTTP_USER_AGENT="AdminBrowser",
    )
    token = AuthToken.objects.get()
    assert (token.ip_address, token.user_agent) == (None, "")


@pytest.mark.parametrize("user_id", ["9" * 25, "-1", "abc"])
def test_admin_add_with_an_impossible_user_id_is_a_form_error(browser, web, user_id):
    response = browser.post(
        reverse("admin:durin_authtoken_add"), {"user": user_id, "client": web.pk}
    )
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert not AuthToken.objects.exists()


# --- §12: the admin cannot be used to impersonate -------------------------------------------

ADD_URL = "admin:durin_authtoken_add"


def issued_plaintext(response) -> str | None:
    match = re.search(r'id="durin-issued-token">([A-Za-z0-9_]+)<', response.content.decode())
    return match[1] if match else None


def user_field(response) -> str:
    """The HTML of the add form's ``user`` field."""
    html = response.content.decode()
    match = re.search(
        r'<select name="user".*?</select>|<input[^>]*name="user"[^>]*>', html, re.DOTALL
    )
    assert match, html
    return match[0]


@pytest.fixture
def staff(db):
    """Staff with the add and view permissions on tokens, and nothing else."""
    eve = get_user_model().objects.create_user("eve", "e@example.com", "pw", is_staff=True)
    eve.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="durin", codename__in=["add_authtoken", "view_authtoken"]
        )
    )
    return eve


@pytest.fixture
def staff_browser(staff):
    browser = BrowserClient()
    browser.force_login(staff)
    return browser


@pytest.mark.parametrize("may_view_users", [False, True])
def test_staff_cannot_issue_a_token_for_a_superuser(staff, staff_browser, web, may_view_users):
    if may_view_users:
        staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    root = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    response = staff_browser.post(reverse(ADD_URL), {"user": root.pk, "client": web.pk})
    assert response.status_code == 200
    assert issued_plaintext(response) is None
    assert not AuthToken.objects.exists()
    assert "Only a superuser can issue a token for another user." in response.content.decode()
    # The form offers the staff user nobody else to pick.
    field = user_field(staff_browser.get(reverse(ADD_URL)))
    assert ">eve<" in field and "root" not in field


def test_staff_can_issue_a_token_for_themselves(staff_browser, web, api):
    response = staff_browser.post(reverse(ADD_URL), {"user": "", "client": web.pk})
    assert issued_plaintext(response) is None  # no user chosen: refused
    form = staff_browser.get(reverse(ADD_URL))
    own_id = re.search(r'<option value="(\d+)"', user_field(form))[1]
    response = staff_browser.post(reverse(ADD_URL), {"user": own_id, "client": web.pk})
    plaintext = issued_plaintext(response)
    assert plaintext
    whoami = api.get(reverse("whoami"), HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert whoami.json() == {"username": "eve", "client": "web"}


def test_a_superuser_picks_the_user_by_username(browser, user, web):
    form = browser.get(reverse(ADD_URL))
    field = user_field(form)
    assert "admin-autocomplete" in field and "vForeignKeyRawIdAdminField" not in field
    found = browser.get(
        reverse("admin:autocomplete"),
        {"app_label": "durin", "model_name": "authtoken", "field_name": "user", "term": "ali"},
    )
    assert found.json()["results"] == [{"id": str(user.pk), "text": "alice"}]
    response = browser.post(reverse(ADD_URL), {"user": user.pk, "client": web.pk})
    assert issued_plaintext(response)
    assert AuthToken.objects.get().user == user


@pytest.mark.parametrize("user_admin", ["not registered", "without search_fields"])
def test_without_a_searchable_user_admin_the_username_is_typed(
    browser, user, web, monkeypatch, user_admin
):
    model = get_user_model()
    if user_admin == "not registered":
        monkeypatch.delitem(admin.site._registry, model)
    else:
        monkeypatch.setattr(admin.site._registry[model], "search_fields", ())
    field = user_field(browser.get(reverse(ADD_URL)))
    assert field.startswith("<input") and 'type="text"' in field

    for wrong in ["nobody", str(user.pk), "ali\x00ce", "x" * 10_000]:
        response = browser.post(reverse(ADD_URL), {"user": wrong, "client": web.pk})
        assert response.status_code == 200
        assert "No user with that username." in response.content.decode()
    response = browser.post(reverse(ADD_URL), {"user": "alice", "client": web.pk})
    assert issued_plaintext(response)
    assert AuthToken.objects.get().user == user


def test_the_page_after_issuing_names_the_sessions_the_limit_ended(browser, user, web):
    earlier = AuthToken.objects.create(user, web)
    AuthToken.objects.filter(pk=earlier.pk).update(
        ip_address="192.0.2.5", user_agent="OldPhone/1.0"
    )
    response = browser.post(reverse(ADD_URL), {"user": user.pk, "client": web.pk})
    html = response.content.decode()
    listing = re.search(r'<ul id="durin-revoked-sessions">(.*?)</ul>', html, re.DOTALL)
    assert listing, html
    assert f"Session #{earlier.pk}" in listing[1]
    assert "192.0.2.5" in listing[1] and "OldPhone/1.0" in listing[1]
    assert not AuthToken.objects.filter(pk=earlier.pk).exists()


def test_the_page_after_issuing_says_when_no_session_ended(browser, user, make_client):
    roomy = make_client("roomy", session_limit=3)
    AuthToken.objects.create(user, roomy)
    response = browser.post(reverse(ADD_URL), {"user": user.pk, "client": roomy.pk})
    assert "No other session of alice was ended." in response.content.decode()
    assert AuthToken.objects.count() == 2


# --- §13 item 12: finding tokens, and what follows issuing ----------------------------------

LIST_URL = "admin:durin_authtoken_changelist"


def listed_ids(response) -> list[int]:
    """The token ids in a changelist page."""
    html = response.content.decode()
    return sorted(int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', html))


@pytest.fixture
def tokens(user, other_user, make_client):
    """alice's live token, bob's live token and bob's expired one (each on its own client)."""
    from datetime import timedelta

    from django.utils import timezone

    alices = AuthToken.objects.create(user, make_client("web"))
    bobs = AuthToken.objects.create(other_user, make_client("mobile"))
    stale = AuthToken.objects.create(other_user, make_client("cli"))
    AuthToken.objects.filter(pk=stale.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    return alices, bobs, stale


def test_tokens_are_searched_by_username_and_email(browser, tokens, user, other_user):
    alices, bobs, stale = tokens
    get_user_model().objects.filter(pk=other_user.pk).update(email="bob@corp.example")
    url = reverse(LIST_URL)
    assert listed_ids(browser.get(url, {"q": "alic"})) == [alices.pk]
    assert listed_ids(browser.get(url, {"q": "corp.example"})) == sorted([bobs.pk, stale.pk])
    assert listed_ids(browser.get(url, {"q": "nobody"})) == []
    assert listed_ids(browser.get(url, {"q": ""})) == sorted(t.pk for t in tokens)
    # Odd terms are no 500 and no wildcard. (Django's search form drops a term with a NUL,
    # which PostgreSQL cannot compare, and lists everything as for no term.)
    assert browser.get(url, {"q": "ali\x00ce"}).status_code == 200
    for odd in ["x" * 5000, "%", "_", "\\", "\ufffd"]:
        response = browser.get(url, {"q": odd})
        assert response.status_code == 200
        assert listed_ids(response) == []


def test_search_follows_the_user_models_username_field(browser, tokens, monkeypatch):
    """A user model whose USERNAME_FIELD is its email, and one without an email field."""
    admin_class = admin.site._registry[AuthToken]
    model = get_user_model()
    monkeypatch.setattr(model, "USERNAME_FIELD", "email")
    superuser = RequestFactory().get("/")
    superuser.user = model.objects.get(username="admin")
    assert admin_class.get_search_fields(superuser) == ["user__email"]
    monkeypatch.setattr(model, "USERNAME_FIELD", "username")
    monkeypatch.setattr(model, "EMAIL_FIELD", "no_such_field", raising=False)
    assert admin_class.get_search_fields(superuser) == ["user__username"]


def test_the_expired_column_and_filter(browser, tokens):
    alices, bobs, stale = tokens
    url = reverse(LIST_URL)
    page = browser.get(url)
    html = page.content.decode()
    assert "column-expired" in html
    # One "yes" icon (bob's stale token) and two "no" icons.
    assert html.count('icon-yes.svg" alt="True"') == 1
    assert html.count('icon-no.svg" alt="False"') == 2
    assert listed_ids(browser.get(url, {"expired": "yes"})) == [stale.pk]
    assert listed_ids(browser.get(url, {"expired": "no"})) == sorted([alices.pk, bobs.pk])
    assert listed_ids(browser.get(url, {"expired": "yes", "q": "alice"})) == []
    assert ">Live<" in html and ">Expired<" in html  # the filter's choices


def test_the_token_list_costs_the_same_queries_for_more_tokens(browser, tokens, user, make_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse(LIST_URL)
    browser.get(url)  # warm: content types, sessions
    with CaptureQueriesContext(connection) as three:
        browser.get(url)
    for n in range(5):
        AuthToken.objects.create(user, make_client(f"extra{n}"))
    with CaptureQueriesContext(connection) as eight:
        browser.get(url)
    assert len(eight.captured_queries) == len(three.captured_queries)


@pytest.mark.parametrize(
    ("button", "primary", "target"),
    [
        ("_save", "durin-back", LIST_URL),
        ("_addanother", "durin-issue-another", ADD_URL),
        ("_continue", "durin-view-token", "admin:durin_authtoken_change"),
    ],
)
def test_the_issued_page_offers_what_the_button_pressed_asked_for(
    browser, user, web, button, primary, target
):
    response = browser.post(reverse(ADD_URL), {"user": user.pk, "client": web.pk, button: "1"})
    html = response.content.decode()
    assert issued_plaintext(response)
    token = AuthToken.objects.get()
    args = [token.pk] if target.endswith("_change") else []
    link = re.search(rf'<a href="([^"]*)" class="button default" id="{primary}"', html)
    assert link, html
    assert link[1] == reverse(target, args=args)
    assert ('id="durin-issue-another"' in html) is (button == "_addanother")
    assert 'id="durin-back"' in html
    if button == "_addanother":  # and the link leads to a form that issues another
        assert browser.get(link[1]).status_code == 200
        browser.post(link[1], {"user": user.pk, "client": web.pk, "_addanother": "1"})
        assert AuthToken.objects.exclude(pk=token.pk).count() == 1


def test_the_issued_page_keeps_the_lists_filters(browser, user, web):
    filters = "_changelist_filters=expired%3Dno"
    response = browser.post(
        f"{reverse(ADD_URL)}?{filters}", {"user": user.pk, "client": web.pk, "_addanother": "1"}
    )
    html = response.content.decode()
    assert f'href="{reverse(ADD_URL)}?{filters}"' in html
    assert f'href="{reverse(LIST_URL)}?expired=no"' in html


def test_the_issued_page_has_no_double_period(browser, user, web):
    """Not "expires on Nov. 29, 2026, 8:20 p.m.." (the date's own period, then a full stop)."""
    # English dates, by the language rather than USE_I18N = False: Django serves the
    # translation functions it first looked up under that setting for the rest of the run.
    with translation.override("en"):
        html = browser.post(reverse(ADD_URL), {"user": user.pk, "client": web.pk}).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert ".." not in text.replace("...", "")
    assert re.search(r"It expires on .+ \(in 1 day\)\.", text)


def test_a_client_changed_in_the_admin_is_seen_at_once_by_cached_authentication(
    browser, user, web, django_capture_on_commit_callbacks
):
    """Cached entries carry the client's fields: a rename must not leave a permission on the
    old name passing for the cache's timeout."""
    from django.forms.models import model_to_dict
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from durin.auth import CachedTokenAuthentication
    from durin.permissions import AllowSpecificClients

    token = AuthToken.objects.create(user, web)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.token}")
    allowed = type("WebOnly", (AllowSpecificClients,), {"allowed_clients_name": ("web",)})()

    def allowed_now() -> bool:
        drf_request = Request(request)
        drf_request._authenticator = None
        drf_request.user, drf_request.auth = CachedTokenAuthentication().authenticate(drf_request)
        return allowed.has_permission(drf_request, None)

    assert allowed_now()  # and now cached
    form = {k: "" if v is None else v for k, v in model_to_dict(web).items() if k != "id"}
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            reverse("admin:durin_client_change", args=[web.pk]), {**form, "name": "kiosk"}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not allowed_now()


# --- §9: rotation and recent authentication -------------------------------------------------


def test_rotate_on_refresh_is_listed_and_edited_on_the_client_admin(browser, web):
    from django.forms.models import model_to_dict

    html = browser.get(reverse("admin:durin_client_changelist")).content.decode()
    assert "column-rotate_on_refresh" in html
    form = {k: "" if v is None else v for k, v in model_to_dict(web).items() if k != "id"}
    form.pop("rotate_on_refresh")  # an unticked box is not sent
    url = reverse("admin:durin_client_change", args=[web.pk])
    assert 'name="rotate_on_refresh"' in browser.get(url).content.decode()
    assert browser.post(url, {**form, "rotate_on_refresh": "on"}).status_code == 302
    web.refresh_from_db()
    assert web.rotate_on_refresh is True
    assert browser.post(url, form).status_code == 302
    web.refresh_from_db()
    assert web.rotate_on_refresh is False


def test_authenticated_at_is_shown_read_only(browser, user, web):
    from django.utils import timezone
    from django.utils.formats import localize

    from durin import services

    logged_in = services.issue_token(user, web, verify_user=True)
    shown = localize(timezone.localtime(logged_in.authenticated_at))
    listing = browser.get(reverse(LIST_URL)).content.decode()
    assert "column-authenticated_at" in listing and shown in listing
    url = reverse("admin:durin_authtoken_change", args=[logged_in.pk])
    detail = browser.get(url).content.decode()
    assert "field-authenticated_at" in detail and shown in detail
    assert 'name="authenticated_at"' not in detail
    # Tokens are never edited (403), authenticated_at no more than the rest.
    browser.post(url, {"authenticated_at_0": "2000-01-01", "authenticated_at_1": "00:00:00"})
    logged_in_at = logged_in.authenticated_at
    logged_in.refresh_from_db()
    assert logged_in.authenticated_at == logged_in_at


def test_the_admin_shows_no_digest_and_no_rotation_history(browser, token):
    from durin import services
    from durin.models import SupersededToken

    first_digest = token.digest
    services.rotate_token(token)
    assert SupersededToken not in admin.site._registry
    pages = [
        reverse(LIST_URL),
        reverse("admin:durin_authtoken_change", args=[token.pk]),
        reverse("admin:durin_authtoken_delete", args=[token.pk]),
    ]
    for url in pages:
        html = browser.get(url).content.decode()
        assert first_digest not in html and token.digest not in html and token.token not in html
    assert browser.get("/admin/durin/supersededtoken/").status_code == 404


@pytest.mark.parametrize("how", ["one", "bulk"])
def test_deleting_a_rotated_token_takes_its_history_and_says_admin(browser, user, web, mobile, how):
    from durin import services
    from durin.models import SupersededToken
    from durin.signals import token_revoked

    from .conftest import Received

    token = AuthToken.objects.create(user, web)
    services.rotate_token(token)
    services.rotate_token(token)
    other = AuthToken.objects.create(user, mobile)
    services.rotate_token(other)
    assert SupersededToken.objects.count() == 3
    with Received(token_revoked) as revoked:
        if how == "one":
            url = reverse("admin:durin_authtoken_delete", args=[token.pk])
            response = browser.post(url, {"post": "yes"})
        else:
            response = browser.post(
                reverse(LIST_URL),
                {"action": "delete_selected", "_selected_action": [token.pk], "post": "yes"},
            )
    assert response.status_code == 302
    assert [(r["reason"], r["token_id"]) for r in revoked] == [("admin", token.pk)]
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [other.pk]
    # The other session's history stays.
    assert list(SupersededToken.objects.values_list("session_id", flat=True)) == [other.pk]
