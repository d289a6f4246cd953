"""Regressions from the attacker's pass over the adoption work (CONTRACT §13, §12, §4): each
test states a promise that pass found broken."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client as BrowserClient
from django.urls import reverse

from durin.models import AuthToken, Client

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db


def login(api, client_name):
    body = {"username": "alice", "password": PASSWORD, "client": client_name}
    return api.post(reverse("durin_login"), body, format="json")


def assert_no_token_born_expired(api, response):
    """§13: "a login through it gets a clear 400, never an expired token"."""
    if response.status_code != 200:
        assert response.status_code == 400, response.content
        assert not AuthToken.objects.exists()
        return
    used = api.get(reverse("durin_tokensessions-list"), **auth_header(response.json()["token"]))
    assert used.status_code == 200, (
        f"the login answered 200 with a token that is already dead: {used.json()}"
    )


# --- 1. The zero-lifetime refusal looks at token_ttl only ------------------------------------


@pytest.mark.parametrize("cap", [timedelta(0), -timedelta(days=1)])
def test_a_client_whose_max_token_lifetime_is_not_positive_is_refused_like_a_zero_ttl(
    api, user, make_client, cap
):
    """A row written without validation (as 1.1.0's zero token_ttl was): ``token_lifetime``
    checks only ``token_ttl``, ``expiry_for`` then caps the expiry at ``created + cap``, and
    the login answers 200 with a token that is expired when issued. W006 said nothing."""
    from durin.checks import check_token_lifetimes

    make_client("capped", max_token_lifetime=cap)
    response = login(api, "capped")
    flagged = [m.id for m in check_token_lifetimes(databases=["default"])]
    assert_no_token_born_expired(api, response)
    assert flagged == ["durin.W006"]


@pytest.mark.parametrize("option", ["--token-ttl", "--max-token-lifetime"])
def test_create_client_does_not_make_a_client_whose_every_token_is_born_expired(api, user, option):
    """Validation accepts any positive duration, so ``create_client x --token-ttl
    00:00:00.000001`` (or the same cap) succeeds and every login through it answers 200 with a
    token the next request calls expired: the zero-lifetime refusal is bypassed by 1 µs."""
    try:
        call_command("create_client", "tiny", option, "00:00:00.000001", stdout=StringIO())
    except CommandError:
        return  # refused: fine
    assert_no_token_born_expired(api, login(api, "tiny"))


# --- 2. Admin search by e-mail is an oracle for staff who may not view users ----------------


@pytest.fixture
def staff_browser(db):
    """Staff with the add and view permissions on tokens only (not ``auth.view_user``)."""
    eve = get_user_model().objects.create_user("eve", "e@example.com", "pw", is_staff=True)
    eve.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="durin", codename__in=["add_authtoken", "view_authtoken"]
        )
    )
    browser = BrowserClient()
    browser.force_login(eve)
    return browser


def test_staff_who_may_not_view_users_cannot_read_their_email_through_the_token_search(
    staff_browser, other_user, web
):
    """The new ``user__email`` search field answers "does bob's address start with ...?" one
    character at a time, to staff who have no permission on users at all."""
    get_user_model().objects.filter(pk=other_user.pk).update(email="bob.secret@corp.example")
    bobs = AuthToken.objects.create(other_user, web)
    page = staff_browser.get(reverse("admin:durin_authtoken_changelist"), {"q": "bob.secret@"})
    assert page.status_code == 200
    # Staff without the delete permission get no checkboxes: rows are links to the token.
    assert f"/admin/durin/authtoken/{bobs.pk}/change/" not in page.content.decode()


# --- 3. create_client's "--update" hint must name the client that took the name -----------


@pytest.mark.parametrize("near", ["web ", "WEB"])
def test_the_update_hint_of_create_client_works_when_followed(near):
    """DRF trims ``"web "`` to ``web`` (every database), and MariaDB's collation finds ``web``
    for ``WEB``: the refusal must name the client that took the name, and the --update it
    recommends must change that client. §13: ``create_client NAME --update``."""
    call_command("create_client", "web", stdout=StringIO())
    try:
        call_command("create_client", near, stdout=StringIO())
    except CommandError as refused:
        hint = re.search(r"run: create_client (\S+) --update", str(refused))
        assert hint, str(refused)
        call_command(
            "create_client", hint[1], "--update", "--token-ttl", "2 00:00:00", stdout=StringIO()
        )
        assert Client.objects.get(name="web").token_ttl == timedelta(days=2)
    else:  # SQLite and PostgreSQL tell WEB from web: a second client
        assert near == "WEB" and Client.objects.count() == 2


# --- 4. The schema does not document the new 400s --------------------------------------------


def test_the_schema_documents_the_400_a_refresh_now_answers(schema, api, user, make_client):
    """``refresh/`` now answers 400 for a client with a zero lifetime; its schema lists 200
    and 401 only (login's and apiaccess's 400 descriptions do not mention it either)."""
    legacy = make_client("legacy", token_ttl=timedelta(0))
    token = AuthToken.objects.create(user, legacy, delta_ttl=timedelta(hours=1))
    assert api.post(reverse("durin_refresh"), **auth_header(token)).status_code == 400
    assert "400" in schema()["paths"]["/api/auth/refresh/"]["post"]["responses"]


@pytest.fixture
def schema(settings):
    from django.urls import include, path

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }

    def generate() -> dict:
        from drf_spectacular.generators import SchemaGenerator

        patterns = [path("api/auth/", include("durin.urls"))]
        return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)

    return generate
