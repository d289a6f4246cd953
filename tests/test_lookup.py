"""The compiled token lookup (``durin.lookup``) gives what the ORM gives, in one query."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from durin import lookup
from durin.auth import TokenAuthentication
from durin.models import AuthToken

RELATED = ("user", "client")


def fields(instance: Any) -> dict[str, Any]:
    return {k: v for k, v in instance.__dict__.items() if not k.startswith("_")}


def assert_same_as_orm(found: AuthToken, pk: int) -> None:
    expected = AuthToken.objects.select_related(*RELATED).get(pk=pk)
    assert fields(found) == fields(expected)
    for name in RELATED:
        related, orm_related = getattr(found, name), getattr(expected, name)
        assert type(related) is type(orm_related)
        assert fields(related) == fields(orm_related)
        assert related._state.db == orm_related._state.db == "default"
        assert related._state.adding is False
    assert found._state.db == "default" and found._state.adding is False


@pytest.mark.parametrize("use_tz", [True, False])
def test_the_compiled_lookup_gives_what_the_orm_gives(token, settings, use_tz):
    """Field values, converted types (aware or naive datetimes), related instances and
    their state, in exactly one query."""
    settings.USE_TZ = use_tz
    stored = AuthToken.objects.get(pk=token.pk)
    with CaptureQueriesContext(connection) as queries:
        found = lookup.find(stored.digest, RELATED)
        found_again = lookup.find(stored.digest, RELATED)
    assert len(queries) == 2 and queries[0]["sql"] == queries[1]["sql"]
    assert_same_as_orm(found, token.pk)
    assert fields(found_again) == fields(found) and found_again is not found
    assert (found.expiry.tzinfo is not None) is use_tz


def test_the_statement_compiles_on_this_django_and_database(token):
    """The ORM fallback exists for statements Django would compile differently; the
    default one must never need it, on any supported Django or backend."""
    lookup.find(AuthToken.objects.get(pk=token.pk).digest, RELATED)
    assert isinstance(lookup.compiled(connections["default"])[RELATED], lookup.Lookup)


def test_an_unknown_digest_is_none_in_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert lookup.find("0" * 64, RELATED) is None


def test_each_select_related_list_gets_its_own_statement(token, settings):
    stored = AuthToken.objects.get(pk=token.pk)
    with CaptureQueriesContext(connection) as queries:
        lookup.find(stored.digest, ("user", "client"))
        lookup.find(stored.digest, ("user",))  # hypothetical: a list without the client
    assert queries[0]["sql"] != queries[1]["sql"]
    assert "durin_client" not in queries[1]["sql"]


def test_init_signals_are_sent_for_every_instance_the_database_returns(token):
    """The database path builds instances with ``Model.from_db``, as the ORM does."""
    from django.db.models.signals import post_init

    seen: list[str] = []

    def record(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(type(instance).__name__)

    digest = AuthToken.objects.get(pk=token.pk).digest
    post_init.connect(record)
    try:
        lookup.find(digest, RELATED)
    finally:
        post_init.disconnect(record)
    assert sorted(seen) == ["AuthToken", "Client", "User"]


def test_a_statement_that_cannot_be_compiled_is_looked_up_through_the_orm(
    token, monkeypatch, django_assert_num_queries
):
    def refuse(self: Any, alias: str, related: tuple[str, ...]) -> None:
        raise lookup.Uncompilable("for the test")

    monkeypatch.setattr(lookup.Lookup, "__init__", refuse)
    lookup.forget()
    digest = AuthToken.objects.get(pk=token.pk).digest
    with django_assert_num_queries(1):
        found = lookup.find(digest, RELATED)
    assert_same_as_orm(found, token.pk)
    monkeypatch.undo()
    lookup.forget()


def test_a_setting_change_compiles_again(token, settings):
    digest = AuthToken.objects.get(pk=token.pk).digest
    lookup.find(digest, RELATED)
    assert lookup.compiled(connections["default"])
    settings.REST_DURIN = {"MIN_REFRESH_INTERVAL": 30}
    assert not lookup.compiled(connections["default"])


@pytest.mark.django_db(transaction=True)
def test_each_thread_runs_the_statement_on_its_own_connection(user, web):
    """Connections are per thread; a statement compiled on one is never run on another."""
    token = AuthToken.objects.create(user, web)
    results: list[Any] = []

    def authenticate() -> None:
        try:
            results.append(
                (TokenAuthentication.authenticate_credentials(token.token), connections["default"])
            )
        finally:
            connections.close_all()

    main_user, _ = TokenAuthentication.authenticate_credentials(token.token)
    thread = threading.Thread(target=authenticate)
    thread.start()
    thread.join()
    (other_user, other_token), other_connection = results[0]
    assert other_user.pk == main_user.pk == user.pk and other_token.pk == token.pk
    assert other_connection is not connections["default"]
    assert lookup.compiled(connections["default"])
