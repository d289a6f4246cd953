"""Admin: tokens are issued through the service, shown once, never editable, never logged."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client as BrowserClient
from django.urls import reverse

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
