"""Revocations reach CachedTokenAuthentication on the very next request (CONTRACT §3).

These tests commit for real (``transaction=True``): invalidation happens on commit,
so that a rolled-back revocation does not log anybody out.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from durin import cache as token_cache
from durin.auth import TokenAuthentication
from durin.models import AuthToken, Client
from durin.signals import token_revoked

from .conftest import PASSWORD, Received, auth_header

pytestmark = pytest.mark.django_db(transaction=True)
CACHED = "cached-whoami"


def cached_ok(api, token) -> bool:
    response = api.get(reverse(CACHED), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


@pytest.fixture
def warm(api, token):
    """The token, already served from the cache once."""
    assert cached_ok(api, token)
    cached, _ = token_cache.read(token.digest)
    assert cached is not None and cached.pk == token.pk
    return token


def test_logout(api, warm):
    assert api.post(reverse("durin_logout"), **auth_header(warm)).status_code == 204
    assert not cached_ok(api, warm)


def test_logout_all(api, warm, user, mobile, other_user, web):
    second = AuthToken.objects.create(user, mobile)
    others = AuthToken.objects.create(other_user, web)
    assert cached_ok(api, second) and cached_ok(api, others)
    assert api.post(reverse("durin_logoutall"), **auth_header(warm)).status_code == 204
    assert not cached_ok(api, warm)
    assert not cached_ok(api, second)
    assert cached_ok(api, others)


def test_session_delete(api, warm, user, mobile):
    other = AuthToken.objects.create(user, mobile)
    assert cached_ok(api, other)
    url = reverse("durin_tokensessions-detail", args=[other.pk])
    assert api.delete(url, **auth_header(warm)).status_code == 204
    assert not cached_ok(api, other)
    assert cached_ok(api, warm)


def test_api_key_delete(api, user, make_client, settings, token):
    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    key = api.post(reverse("durin_apiaccess"), **auth_header(token)).json()["token"]
    assert cached_ok(api, key)
    assert api.delete(reverse("durin_apiaccess"), **auth_header(token)).status_code == 204
    assert not cached_ok(api, key)


def test_second_login_revokes_the_first_everywhere(api, warm):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    assert api.post(reverse("durin_login"), body, format="json").status_code == 200
    assert not cached_ok(api, warm)


def test_deactivation_revokes_every_token(api, warm, user, mobile, other_user, web):
    second, bobs = AuthToken.objects.create(user, mobile), AuthToken.objects.create(other_user, web)
    assert cached_ok(api, second)
    with Received(token_revoked) as revoked:
        user.is_active = False
        user.save()
    assert {r["reason"] for r in revoked} == {"deactivation"}
    assert not cached_ok(api, warm) and not cached_ok(api, second)
    assert cached_ok(api, bobs)


def test_deactivation_without_revocation_still_reaches_the_cache(api, warm, user, settings):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_DEACTIVATION": False}
    user.is_active = False
    user.save()
    response = api.get(reverse(CACHED), **auth_header(warm))
    assert response.json() == {"detail": "User inactive or deleted."}
    user.is_active = True
    user.save()
    assert cached_ok(api, warm)


def test_password_change_revokes_every_token(api, warm, user):
    with Received(token_revoked) as revoked:
        user.set_password("another one")
        user.save()
    assert [r["reason"] for r in revoked] == ["password_change"]
    assert not cached_ok(api, warm)


def test_password_change_without_revocation_refreshes_the_cache(api, warm, user, settings):
    settings.REST_DURIN = {"REVOKE_TOKENS_ON_PASSWORD_CHANGE": False}
    user.set_password("another one")
    user.save()
    cached, may_store = token_cache.read(warm.digest)
    assert cached is None and not may_store  # stale: the next request reads the database
    assert cached_ok(api, warm)


def test_password_rehash_on_login_is_not_a_password_change(api, warm, user, settings):
    # A stronger hasher setting makes Django re-hash the same password at login.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    body = {"username": "alice", "password": PASSWORD, "client": "mobile"}
    Client.objects.create(name="mobile")
    assert api.post(reverse("durin_login"), body, format="json").status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_")
    assert cached_ok(api, warm)


def test_saves_that_change_nothing_sensitive_keep_tokens(api, warm, user):
    user.first_name = "Alice"
    user.save()
    assert cached_ok(api, warm)


def test_user_deletion(api, warm, user):
    get_user_model().objects.filter(pk=user.pk).delete()
    assert not cached_ok(api, warm)


def test_queryset_delete_and_shell_delete(api, warm, user, mobile):
    other = AuthToken.objects.create(user, mobile)
    assert cached_ok(api, other)
    AuthToken.objects.filter(pk=warm.pk).delete()
    AuthToken.objects.get(pk=other.pk).delete()
    assert not cached_ok(api, warm)
    assert not cached_ok(api, other)


def test_client_deletion(api, warm, web):
    web.delete()
    assert not cached_ok(api, warm)


def test_a_reader_that_saw_the_row_before_revocation_cannot_put_it_back(api, warm):
    # A concurrent request missed the cache and read the row just before logout committed...
    token_cache.backend().delete(token_cache.cache_key(warm.digest))
    _, generation = token_cache.read(warm.digest)
    stale_read = TokenAuthentication.get_token(warm.digest)
    assert api.post(reverse("durin_logout"), **auth_header(warm)).status_code == 204
    # ...and now tries to cache what it read: the stale marker wins.
    token_cache.store(stale_read, generation)
    assert not cached_ok(api, warm)


def test_refresh_is_seen_by_the_cache(api, warm, web):
    old_expiry = warm.expiry
    assert api.post(reverse("durin_refresh"), **auth_header(warm)).status_code == 200
    assert cached_ok(api, warm)
    assert AuthToken.objects.get(pk=warm.pk).expiry >= old_expiry


def test_rolled_back_revocation_logs_nobody_out(api, warm):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        AuthToken.objects.filter(pk=warm.pk).delete()
        raise RuntimeError
    assert cached_ok(api, warm)
    cached, _ = token_cache.read(warm.digest)
    assert cached is not None  # still served from the cache, not marked stale


def test_unusable_password_saved_alone_revokes(api, warm, user):
    user.set_unusable_password()
    user._password = None  # as code that assigns hashes directly leaves it
    user.save(update_fields=["password"])
    assert not cached_ok(api, warm)


def test_a_new_hash_assigned_directly_revokes(api, warm, user):
    from django.contrib.auth.hashers import make_password

    user.password = make_password("synced from LDAP")
    user.save(update_fields=["password"])
    assert not cached_ok(api, warm)


# --- Only Django's own re-hash of the same password is exempt (§12) -----------------------


@pytest.fixture
def outdated_hash(settings):
    """Hashes made so far (MD5) are outdated: as every PBKDF2 hash after a Django upgrade."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]


def test_a_new_hash_over_an_outdated_one_revokes(api, warm, user, outdated_hash):
    from django.contrib.auth.hashers import make_password

    with Received(token_revoked) as revoked:
        user.password = make_password("synced from LDAP")
        user.save(update_fields=["password"])
    assert [r["reason"] for r in revoked] == ["password_change"]
    assert not cached_ok(api, warm)


def test_set_password_saved_alone_over_an_outdated_hash_revokes(api, warm, user, outdated_hash):
    user.set_password("another one")
    user.save(update_fields=["password"])
    assert not cached_ok(api, warm)


def test_a_new_hash_with_the_setters_own_steps_revokes(api, warm, user, outdated_hash):
    """What the re-hash does, done by other code for another password: a change."""
    user.set_password("another one")
    user._password = None
    user.save(update_fields=["password"])
    assert not cached_ok(api, warm)


def test_check_password_rehash_outside_a_login_keeps_tokens(api, warm, user, outdated_hash):
    fresh = get_user_model().objects.get(pk=user.pk)
    assert fresh.check_password(PASSWORD)
    fresh.refresh_from_db()
    assert fresh.password.startswith("pbkdf2_")
    assert cached_ok(api, warm)
