"""Fixtures of the custom-user run: a member of an organisation, a client, logging in, and
query counts per database alias."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from rest_framework.test import APIClient

from durin import cache as token_cache
from durin.models import Client

from .models import Organisation, User

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cache_keeps_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token cache taken to keep its keys (``durin.cache.Eviction``), as a Redis without
    ``maxmemory`` does: a cache that may evict sends every miss to the primary, and these
    tests are about what the replica answers."""
    monkeypatch.setattr(token_cache.Eviction, "may_evict", classmethod(lambda cls: False))


@pytest.fixture(autouse=True)
def settled_generation(db: None) -> None:
    """A token cache whose generation began long ago, as in a deployment that has run for a
    while: a new one sends every miss to the primary, not the replica, until the markers it
    may have lost have expired (``durin.cache.settled``)."""
    token_cache.backend().set(token_cache.generation_key(), "0-settled", None)


@pytest.fixture
def member() -> User:
    organisation = Organisation.objects.create(name="Analytical Engines")
    return User.objects.create_user(EMAIL, PASSWORD, organisation=organisation)


@pytest.fixture
def web() -> Client:
    return Client.objects.create(name="web", token_ttl=timedelta(hours=1))


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def log_in(api: APIClient) -> str:
    """Log in through ``durin_login`` with the e-mail as the username; the token."""
    body = {"username": EMAIL, "password": PASSWORD, "client": "web"}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.fixture
def queries(django_assert_num_queries: Any) -> Callable[..., Any]:
    """``with queries(replica=n, default=m):`` exactly n queries on the alias the router
    reads durin's models from, and m on the default alias (unchecked when left out)."""

    @contextmanager
    def exactly(**expected: int) -> Iterator[None]:
        with ExitStack() as stack:
            for alias, count in expected.items():
                stack.enter_context(django_assert_num_queries(count, connection=connections[alias]))
            yield

    return exactly
