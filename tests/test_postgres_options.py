"""PostgreSQL's optional connection settings (README, "PostgreSQL options"): psycopg 3's
server-side binding, whose prepared statements the compiled lookup reuses, and Django's
connection pool. Each runs real requests on a connection reopened with the option."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.db import connections
from django.urls import reverse
from rest_framework.test import APIClient

from durin.models import AuthToken

from .conftest import auth_header

pytestmark = [
    pytest.mark.skipif(
        connections["default"].vendor != "postgresql",
        reason="needs PostgreSQL: runs in bin/test's PostgreSQL + Redis pass",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def reopened_with(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The default connection, closed and reopened with ``request.param``'s OPTIONS and
    CONN_MAX_AGE."""
    connection = connections["default"]
    options, max_age = request.param
    saved = (
        dict(connection.settings_dict.get("OPTIONS", {})),
        connection.settings_dict["CONN_MAX_AGE"],
    )
    connection.close()
    connection.settings_dict["OPTIONS"] = {**saved[0], **options}
    connection.settings_dict["CONN_MAX_AGE"] = max_age
    try:
        yield connection
    finally:
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
        connection.settings_dict["OPTIONS"], connection.settings_dict["CONN_MAX_AGE"] = saved


# Django turns psycopg's prepared statements off unless OPTIONS sets prepare_threshold; they
# live on the connection that ran them, so it persists here (CONN_MAX_AGE None).
PREPARED = {"server_side_binding": True, "prepare_threshold": 5}


@pytest.mark.parametrize("reopened_with", [(PREPARED, None)], indirect=True)
def test_server_side_binding_prepares_the_token_lookup(reopened_with, user, web):
    """psycopg prepares a statement once it has run ``prepare_threshold`` times; the lookup
    is one SQL text per connection, so after a few requests it runs prepared."""
    token = AuthToken.objects.create(user, web)
    api = APIClient()
    for _ in range(7):
        assert api.get(reverse("whoami"), **auth_header(token)).status_code == 200
    with reopened_with.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"durin_authtoken"."digest" =' in statement for statement in prepared), prepared
    AuthToken.objects.filter(pk=token.pk).delete()
    assert api.get(reverse("whoami"), **auth_header(token)).status_code == 401


@pytest.mark.skipif(django.VERSION < (5, 1), reason="Django's connection pool is new in 5.1")
@pytest.mark.parametrize(
    "reopened_with", [({"pool": {"min_size": 1, "max_size": 2}}, 0)], indirect=True
)
def test_the_connection_pool_serves_the_lookup(reopened_with, user, web):
    token = AuthToken.objects.create(user, web)
    api = APIClient()
    for _ in range(3):  # each request returns the connection to the pool and takes one again
        assert api.get(reverse("whoami"), **auth_header(token)).status_code == 200
    assert reopened_with.pool is not None
    AuthToken.objects.filter(pk=token.pk).delete()
    assert api.get(reverse("whoami"), **auth_header(token)).status_code == 401
