"""A failing cache never fails a request: the database answers, one warning per outage."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from durin import cache as token_cache

from .conftest import BrokenCache, auth_header

pytestmark = pytest.mark.django_db


def test_outage_falls_back_to_the_database_with_one_warning(
    api, token, monkeypatch, caplog, django_assert_num_queries
):
    monkeypatch.setattr(token_cache, "backend", lambda: BrokenCache())
    monkeypatch.setattr(token_cache.Outage, "failing", False)
    with caplog.at_level(logging.WARNING, logger="durin"):
        for _ in range(5):
            with django_assert_num_queries(1):
                response = api.get(reverse("cached-whoami"), **auth_header(token))
            assert response.status_code == 200
    warnings = [r for r in caplog.records if r.name == "durin"]
    assert len(warnings) == 1 and "failed" in warnings[0].getMessage()

    monkeypatch.undo()
    with caplog.at_level(logging.WARNING, logger="durin"):
        assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
    assert "answers again" in caplog.records[-1].getMessage()


def test_logout_during_an_outage_still_logs_out(api, token, monkeypatch):
    monkeypatch.setattr(token_cache, "backend", lambda: BrokenCache())
    assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
    assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 401


@pytest.mark.parametrize("view", ["whoami", "cached-whoami"])
def test_database_errors_are_not_turned_into_401(api, token, view):
    """A failing token lookup is a server error, never "Invalid token." (the cached class
    falls back to the database on a miss, so it fails the same way)."""
    from django.db import OperationalError, connection

    def down(execute, sql, params, many, context):
        raise OperationalError("database is down")

    with connection.execute_wrapper(down), pytest.raises(OperationalError):
        api.get(reverse(view), **auth_header(token))


def test_entries_are_not_trusted_once_the_generation_is_lost(api, token):
    """An evicted or flushed generation key: no entry written before is trusted again."""
    assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
    assert token_cache.read(token.digest)[0] is not None
    token_cache.backend().delete(token_cache.generation_key())
    assert token_cache.read(token.digest)[0] is None  # a new generation is drawn...
    assert token_cache.backend().get(token_cache.generation_key()) is not None
    assert token_cache.read(token.digest) == (None, None)  # ...and the old entry stays distrusted
    assert api.get(reverse("cached-whoami"), **auth_header(token)).status_code == 200
