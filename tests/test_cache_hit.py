"""What a cache hit of ``CachedTokenAuthentication`` hands to the view: the same instances
the database path builds, signals included whenever someone listens."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models.signals import post_init, pre_init
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.models import AuthToken, Client

from .conftest import no_queries


def authenticate(auth_class: type, token: AuthToken) -> tuple[Any, AuthToken]:
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.token}")
    return auth_class().authenticate(Request(request))


def fields(instance: Any) -> dict[str, Any]:
    return {k: v for k, v in instance.__dict__.items() if not k.startswith("_")}


def test_a_hit_builds_what_the_database_path_builds(token):
    from_database = authenticate(TokenAuthentication, token)[1]
    authenticate(CachedTokenAuthentication, token)  # stores the entry
    with no_queries():
        user, hit = authenticate(CachedTokenAuthentication, token)
        assert hit.user is user
        for mine, theirs in [(hit, from_database), (hit.client, from_database.client)]:
            assert type(mine) is type(theirs) and fields(mine) == fields(theirs)
            assert (mine._state.db, mine._state.adding) == ("default", False)
        expected_user = fields(from_database.user)
        del expected_user["password"]  # never cached; read on demand, as a deferred field
        assert fields(user) == expected_user and user._state.db == "default"
    assert user.password == from_database.user.password


@pytest.mark.parametrize("signal", [pre_init, post_init])
@pytest.mark.parametrize("model", [AuthToken, Client, "user"])
def test_init_signals_reach_whoever_listens(token, signal, model):
    model = get_user_model() if model == "user" else model
    authenticate(CachedTokenAuthentication, token)
    seen: list[Any] = []

    def record(sender: Any, **kwargs: Any) -> None:
        seen.append(sender)

    signal.connect(record, sender=model)
    try:
        with no_queries():
            authenticate(CachedTokenAuthentication, token)
    finally:
        signal.disconnect(record, sender=model)
    assert seen == [model]


def test_a_model_that_customises_from_db_gets_it_called(token, monkeypatch):
    authenticate(CachedTokenAuthentication, token)
    original = Client.from_db.__func__
    calls: list[tuple] = []

    def from_db(cls: type, db: str, names: Any, values: Any) -> Any:
        calls.append(tuple(names))
        return original(cls, db, names, values)

    monkeypatch.setattr(Client, "from_db", classmethod(from_db))
    with no_queries():
        _, hit = authenticate(CachedTokenAuthentication, token)
    assert calls and hit.client.name == "web"


def test_a_field_descriptor_that_acts_on_assignment_gets_it_on_a_hit(token, monkeypatch):
    """A field's ``descriptor_class`` may do something on assignment; ``Model.__init__``
    assigns through it, so a hit must too."""
    from django.db.models.query_utils import DeferredAttribute

    from durin import cache as token_cache

    assigned: list[Any] = []

    class Recording(DeferredAttribute):
        def __set__(self, instance: Any, value: Any) -> None:
            assigned.append(value)
            instance.__dict__[self.field.attname] = value

    authenticate(CachedTokenAuthentication, token)
    monkeypatch.setattr(Client, "name", Recording(Client._meta.get_field("name")))
    token_cache._plain_init.cache_clear()
    try:
        with no_queries():
            _, hit = authenticate(CachedTokenAuthentication, token)
    finally:
        monkeypatch.undo()
        token_cache._plain_init.cache_clear()
    assert assigned == ["web"] and hit.client.name == "web"
