"""Every durin key in the token cache is in a namespace of the deployment.

The namespace is derived from SECRET_KEY and the database tokens are written to (its
settings, and when durin was first migrated into it), once per process: two deployments sharing one cache (no KEY_PREFIX, even one SECRET_KEY)
read none of each other's entries, markers or generation. The real thing, two
deployments of servers on one Redis, is in test_cross_process.py.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import F
from django.test import override_settings
from django.urls import reverse

from durin import cache as token_cache
from durin.models import AuthToken

from .conftest import auth_header, no_queries

pytestmark = pytest.mark.django_db


def namespace(**overrides) -> str:
    with override_settings(**overrides):
        return token_cache.namespaces()[0]


def database(**changes) -> dict:
    databases = copy.deepcopy(settings.DATABASES)
    databases["default"].update(changes)
    return databases


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_namespace_depends_on_the_secret_key_and_the_database():
    here = token_cache.namespaces()[0]
    assert namespace() == here
    assert namespace(SECRET_KEY="another deployment's key") != here
    for field, value in [
        ("NAME", "another_database"),
        ("HOST", "db.elsewhere.example"),
        ("PORT", "6543"),
        ("ENGINE", "django.db.backends.oracle"),
    ]:
        assert namespace(DATABASES=database(**{field: value})) != here, field
    # Back to this deployment's after the overrides (read again now, so that no later test
    # pays the query in a block that counts them).
    assert token_cache.namespaces()[0] == here


def test_every_key_is_in_the_namespace(token):
    ns = token_cache.namespaces()[0]
    assert token.digest in token_cache.cache_key(token.digest)
    for key in (
        token_cache.cache_key(token.digest),
        token_cache.generation_key(),
        token_cache.probe_key(),
    ):
        assert key.startswith(f"durin:token:{ns}:"), key


def test_a_deployment_with_another_secret_key_trusts_none_of_the_entries(
    api, token, django_assert_num_queries
):
    assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
    with no_queries():
        assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
    generation_key = token_cache.generation_key()
    generation = token_cache.backend().get(generation_key)
    assert generation is not None
    with override_settings(SECRET_KEY="another deployment's key"):
        assert token_cache.generation_key() != generation_key
        cached, its_generation = token_cache.read(token.digest)
        assert cached is None  # not this deployment's entry
        assert its_generation not in (None, generation)  # a generation of its own
        with django_assert_num_queries(1):  # its own database answers
            assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200


def test_the_namespace_is_not_derived_per_request(api, token, monkeypatch):
    assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
    monkeypatch.setattr(
        token_cache, "_namespace_for", lambda *args: pytest.fail("derived on a request")
    )
    for _ in range(3):
        assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
    assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204


def test_a_revocation_marks_the_token_under_the_rotated_out_keys_too(
    api, token, django_capture_on_commit_callbacks
):
    """A process still running with the old SECRET_KEY (a rolling key rotation) sees it."""
    old, new = "the key before rotation", "the key after rotation"
    with override_settings(SECRET_KEY=old):
        assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
        old_key = token_cache.cache_key(token.digest)
        assert isinstance(token_cache.backend().get(old_key), tuple)
    with (
        override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    with override_settings(SECRET_KEY=new):
        assert token_cache.backend().get(token_cache.cache_key(token.digest)) == token_cache.STALE
    assert token_cache.backend().get(old_key) == token_cache.STALE


def test_deployments_that_spell_their_databases_alike_share_nothing(api, user, web):
    """Same SECRET_KEY, same DATABASES settings, two servers (one image deployed twice)."""
    token = AuthToken.objects.create(user, web)
    whoami = reverse("cached-whoami")
    # Deployment A: the token is good there; its entry goes into the shared cache.
    for _ in range(2):
        assert api.get(whoami, **auth_header(token)).status_code == 200
    namespace_of_a = token_cache.namespaces()[0]

    # Deployment B: its database was migrated at another moment and never had this token.
    b_database = transaction.savepoint()
    try:
        MigrationRecorder.Migration.objects.filter(app="durin").update(
            applied=F("applied") - timedelta(days=1)
        )
        AuthToken.objects.filter(pk=token.pk).delete()  # no on_commit: nothing invalidated
        token_cache.namespaces.cache_clear()  # B's process derives its own namespace
        token_cache._database_identity.cache_clear()
        assert token_cache.namespaces()[0] != namespace_of_a
        assert api.get(whoami, **auth_header(token)).status_code == 401
    finally:  # back to deployment A's database and namespace, read now (not in a later test)
        transaction.savepoint_rollback(b_database)
        token_cache.namespaces.cache_clear()
        token_cache._database_identity.cache_clear()
        assert token_cache.namespaces()[0] == namespace_of_a


def test_the_database_part_is_read_once_per_process(api, token, django_assert_num_queries):
    token_cache._database_identity.cache_clear()
    token_cache.namespaces.cache_clear()
    with django_assert_num_queries(1):
        token_cache.namespaces()
    with django_assert_num_queries(0):
        token_cache.namespaces()
        with override_settings(SECRET_KEY="rotated"):  # only the HMAC is derived again
            token_cache.namespaces()
