"""Attack: two deployments that spell their database alike share one cache namespace.

§12: two deployments sharing one cache "whether or not their SECRET_KEYs differ,
never trust each other's entries". The namespace is an HMAC of SECRET_KEY over
ENGINE, NAME, HOST and PORT *as written in settings* (durin/cache.py,
``_database_identity``), not over anything the database itself holds. Staging and
production (or two tenants) deployed from one image/compose file, with the same
SECRET_KEY (a shared .env, a default left in settings), reach *different* servers
under the same spelling (HOST "db", NAME "app"): they get one namespace, so a token
of deployment A is accepted by deployment B from the shared cache, authenticating
as A's user snapshot, whoever has that primary key in B.

Both deployments are played by this one process: A authenticates (its entry goes to
the shared cache); B is the same settings against a database without that token, which
the test makes by deleting the row behind durin's back (B's database never had it).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from durin import cache as token_cache
from durin.models import AuthToken

from .conftest import auth_header

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_of_one_deployment_is_never_accepted_by_another(api, user, web, settings):
    settings.REST_DURIN = {"TOKEN_CACHE_ALIAS": "default"}
    token = AuthToken.objects.create(user, web)
    whoami = reverse("cached-whoami")
    # Deployment A: the token is good there, its entry goes into the shared cache.
    assert api.get(whoami, **auth_header(token)).status_code == 200
    assert api.get(whoami, **auth_header(token)).status_code == 200
    namespace_of_a = token_cache.namespaces()[0]

    # Deployment B: same SECRET_KEY, same DATABASES spelling, another server, no such token.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuthToken._meta.db_table} WHERE id = %s", [token.pk])
    token_cache.namespaces.cache_clear()  # B's own process derives its namespace afresh
    assert token_cache.namespaces()[0] == namespace_of_a  # nothing of B's database in it
    response = api.get(whoami, **auth_header(token))
    assert response.status_code == 401, (
        "deployment B accepted deployment A's token from the shared cache: " f"{response.content!r}"
    )
