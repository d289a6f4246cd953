"""1.x tokens are looked up only where the upgrade found some (CONTRACT §7, §12).

A "1.x token" here is what migration 0005 leaves of one: a lowercase hex plaintext
stored as its digest, in a row created before 0005 was applied. The test database
was built by ``migrate``, like a fresh install, so it has none unless a test adds one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import time_machine
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone
from rest_framework import exceptions

from durin import crypto, legacy
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.models import AuthToken

from .conftest import no_queries

pytestmark = pytest.mark.django_db

AUTH_CLASSES = [TokenAuthentication, CachedTokenAuthentication]


@pytest.fixture(autouse=True)
def _process_starts_afresh():
    legacy.forget()
    yield
    legacy.forget()


def upgrade_time():
    """When this database recorded 0005, the migration that hashed the 1.x plaintexts."""
    app, name = legacy.HASHING_MIGRATION
    return MigrationRecorder.Migration.objects.get(app=app, name=name).applied


@pytest.fixture
def make_legacy_token(user, web):
    def make(expires_in: timedelta = timedelta(days=7)) -> tuple[str, AuthToken]:
        plaintext = secrets.token_hex(32)  # 1.x's default: TOKEN_CHARACTER_LENGTH = 64
        row = AuthToken(
            digest=crypto.digest(plaintext),
            user=user,
            client=web,
            created=upgrade_time() - timedelta(days=1),
            expiry=timezone.now() + expires_in,
            last_used=timezone.now(),  # so that no last_used write is due in these tests
        )
        row.save(force_insert=True)
        return plaintext, row

    return make


def refused(auth_class, token: str) -> str:
    with pytest.raises(exceptions.AuthenticationFailed) as excinfo:
        auth_class.authenticate_credentials(token)
    return excinfo.value.get_codes()


@pytest.mark.parametrize("auth_class", AUTH_CLASSES)
def test_a_fresh_install_refuses_1x_shaped_tokens_with_zero_queries(
    auth_class, token, django_assert_num_queries, monkeypatch
):
    from durin import cache as token_cache

    monkeypatch.setattr(token_cache, "read", lambda digest: pytest.fail("cache was consulted"))
    with django_assert_num_queries(1):  # the process learns there are no 1.x tokens, once
        assert refused(auth_class, "ab" * 4) == "token_invalid"
    for shaped in ["ab" * 4, "0123456789abcdef" * 4, secrets.token_hex(20)]:
        with no_queries():
            assert refused(auth_class, shaped) == "token_invalid"


def test_a_fresh_install_never_asks_again(token):
    refused(TokenAuthentication, "ab" * 32)
    with time_machine.travel(timezone.now() + timedelta(days=3650)), no_queries():
        assert refused(TokenAuthentication, "ab" * 32) == "token_invalid"


@pytest.mark.parametrize("auth_class", AUTH_CLASSES)
def test_upgraded_1x_tokens_authenticate_with_one_query(
    auth_class, make_legacy_token, django_assert_num_queries
):
    plaintext, row = make_legacy_token()
    with django_assert_num_queries(2):  # once per process: the 1.x tokens' latest expiry
        user, auth = auth_class.authenticate_credentials(plaintext)
    assert (user.username, auth.pk) == ("alice", row.pk)
    other_plaintext, _ = make_legacy_token()
    with django_assert_num_queries(1):
        auth_class.authenticate_credentials(other_plaintext)


def test_where_1x_tokens_live_made_up_ones_cost_one_lookup(
    make_legacy_token, django_assert_num_queries
):
    make_legacy_token()
    legacy.accepts_legacy_tokens(timezone.now())
    with django_assert_num_queries(2):  # the tokens, then the rotation history
        assert refused(TokenAuthentication, "ab" * 32) == "token_invalid"
    # Shapes 1.x never stored (odd length, upper case, longer than its column): no lookup.
    for shaped in ["abc" * 3, "AB" * 32, "ab" * 33]:
        with no_queries():
            assert refused(TokenAuthentication, shaped) == "token_invalid"


def test_accept_legacy_tokens_false_refuses_them_without_asking(make_legacy_token, settings):
    plaintext, _ = make_legacy_token()
    settings.REST_DURIN = {"ACCEPT_LEGACY_TOKENS": False}
    with no_queries():
        assert refused(TokenAuthentication, plaintext) == "token_invalid"


def test_acceptance_stops_once_every_1x_token_has_expired(
    make_legacy_token, django_assert_num_queries
):
    plaintext, row = make_legacy_token(expires_in=timedelta(hours=1))
    TokenAuthentication.authenticate_credentials(plaintext)
    with time_machine.travel(row.expiry + timedelta(seconds=1)):
        with django_assert_num_queries(1):  # asks once more, finds none
            assert refused(TokenAuthentication, plaintext) == "token_invalid"
        with no_queries():
            assert refused(TokenAuthentication, plaintext) == "token_invalid"


def test_a_renewed_1x_token_keeps_working_past_the_expiry_first_seen(
    make_legacy_token, api, settings, django_assert_num_queries
):
    settings.REST_DURIN = {"MIN_REFRESH_INTERVAL": None}  # count lookups, not last_used writes
    plaintext, row = make_legacy_token(expires_in=timedelta(hours=1))
    TokenAuthentication.authenticate_credentials(plaintext)  # the process learns: 1 hour
    response = api.post(reverse("durin_refresh"), HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert response.status_code == 200
    # It asks again, sees the renewed expiry, and looks the token up.
    with time_machine.travel(row.expiry + timedelta(minutes=5)), django_assert_num_queries(2):
        user, _ = TokenAuthentication.authenticate_credentials(plaintext)
    assert user.username == "alice"


def test_tokens_issued_after_the_upgrade_are_not_1x_tokens(user, web):
    """A token durin issued (created after 0005) never turns 1.x acceptance on."""
    AuthToken.objects.create(user, web)
    assert legacy.ask_database(timezone.now()) == legacy.Answer(accept=False, until=None)


def test_before_0005_is_recorded_refuses_and_asks_again_later(token, django_assert_num_queries):
    app, name = legacy.HASHING_MIGRATION
    applied = upgrade_time()
    MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()
    try:
        with django_assert_num_queries(1):
            assert refused(TokenAuthentication, "ab" * 32) == "token_invalid"
        with no_queries():
            assert refused(TokenAuthentication, "ab" * 32) == "token_invalid"
        later = timezone.now() + legacy.UNMIGRATED_RECHECK + timedelta(seconds=1)
        with time_machine.travel(later), django_assert_num_queries(1):
            refused(TokenAuthentication, "ab" * 32)
    finally:
        MigrationRecorder.Migration.objects.create(app=app, name=name, applied=applied)
