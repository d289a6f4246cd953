"""Attack (§12 "The failed-login throttle counts per account as the database resolves it"):
with a backend that logs in by e-mail (``email__iexact``, matched by the database's
collation), MariaDB's default ``utf8mb4_general_ci`` reads ``ß`` as ``s`` while ``fold``
reads it as ``ss``: each spelling logs into the same account yet gets a fresh count.
``resolve_account`` asks only ``get_by_natural_key``, so no account key is shared."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


class EmailBackend(ModelBackend):
    """The common "log in with your e-mail" backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        try:
            user = User.objects.get(email__iexact=username)
        except User.DoesNotExist:
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


@pytest.mark.skipif(connection.vendor != "mysql", reason="MariaDB collations")
@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs): spellings are resolved to an account the way ModelBackend "
    "resolves them (get_by_natural_key); a backend that matches another field more loosely "
    "gets only the folded-name count for its own spellings",
)
def test_attack2_eszett_spelling_of_an_email_gets_a_count_of_its_own(settings, web):
    settings.AUTHENTICATION_BACKENDS = ["tests.test_attack2_collation.EmailBackend"]
    get_user_model().objects.create_user("alice", email="sasha@example.com", password=PASSWORD)
    api = APIClient()
    url = reverse("durin_login")
    # The spelling logs in, the database says so:
    ok = api.post(url, {"username": "saßha@example.com", "password": PASSWORD, "client": "web"})
    assert ok.status_code == 200, ok.data
    for _ in range(10):
        r = api.post(url, {"username": "sasha@example.com", "password": "wrong", "client": "web"})
        assert r.status_code == 400
    again = api.post(url, {"username": "sasha@example.com", "password": "wrong", "client": "web"})
    assert again.status_code == 429
    # Same account, another spelling: still throttled.
    other = api.post(url, {"username": "saßha@example.com", "password": "wrong", "client": "web"})
    assert other.status_code == 429, "saßha@ logs into sasha@'s account with a fresh count"
