"""Attack (§12 "Every real password change revokes"): ``_is_rehash`` trusts the re-hash
``setter`` on the stack without checking that the password it writes is the one the
database held. The setter re-hashes whatever ``self.password`` the instance had in
memory, so a stale instance (loaded by a login before a password change committed)
writes the OLD password back over the new one, and durin exempts that as a re-hash."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from rest_framework.test import APIClient

from durin.models import AuthToken
from durin.signals import token_revoked

from .conftest import PASSWORD, Received

pytestmark = pytest.mark.django_db


@pytest.fixture
def outdated_hash(settings):
    """MD5 hashes are outdated (as every hash is after Django raises PBKDF2's iterations)."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]


def test_attack2_stale_login_rehash_reverts_a_password_change_without_revoking(
    user, web, outdated_hash
):
    User = get_user_model()
    # 1. The attacker's login (old password) loads the user: ModelBackend's get_by_natural_key.
    stale = User.objects.get(pk=user.pk)
    # 2. The owner changes the password meanwhile (tokens revoked), and logs in again.
    owner = User.objects.get(pk=user.pk)
    owner.set_password("the owner's new password")
    owner.save()
    owners_new_session = AuthToken.objects.create(owner, web)
    # 3. The attacker's check_password, against the stale hash, matches and re-hashes it:
    #    the old password is written back over the new one.
    with Received(token_revoked) as revoked:
        assert stale.check_password(PASSWORD)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)  # the change was undone
    # A real password change (new -> old) happened in the database: it must revoke.
    assert [r["reason"] for r in revoked] == ["password_change"]
    assert not AuthToken.objects.filter(pk=owners_new_session.pk).exists()


def test_attack2_in_memory_hash_then_check_password_is_a_change(user, web, outdated_hash):
    token = AuthToken.objects.create(user, web)
    user.password = make_password("synced from LDAP", hasher="md5")  # not saved
    with Received(token_revoked) as revoked:
        assert user.check_password("synced from LDAP")  # Django saves the re-hash
    assert get_user_model().objects.get(pk=user.pk).check_password("synced from LDAP")
    assert [r["reason"] for r in revoked] == ["password_change"]
    assert not AuthToken.objects.filter(pk=token.pk).exists()


def test_attack2_stale_login_through_the_view_gets_a_token_after_the_change(
    user, web, outdated_hash, monkeypatch
):
    """The same race through LoginView: the password change lands while the attacker's
    password is being hashed; the attacker gets a token with the old password."""
    from django.contrib.auth import hashers

    real_verify = hashers.MD5PasswordHasher.verify
    raced = []

    def verify_then_owner_changes(self, password, encoded):
        ok = real_verify(self, password, encoded)
        if not raced:
            raced.append(True)
            owner = get_user_model().objects.get(pk=user.pk)
            owner.set_password("the owner's new password")
            owner.save()
        return ok

    monkeypatch.setattr(hashers.MD5PasswordHasher, "verify", verify_then_owner_changes)
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    response = APIClient().post(reverse("durin_login"), body, format="json")
    assert raced
    # The owner changed the password before the attacker's login finished: refuse it.
    assert response.status_code == 400, response.data
