"""Admin: tokens are issued through the service, shown once, never editable, never logged."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
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
