"""After tokens are issued and used every way there is, no plaintext is at rest (CONTRACT §1)."""

from __future__ import annotations

import logging
import pickle

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client as BrowserClient
from django.urls import reverse

from durin.models import AuthToken, SupersededToken

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db(transaction=True)


def database_text() -> str:
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def cache_text() -> str:
    """Every key and value in the cache, raw, whatever the backend."""
    backend = cache._cache  # locmem: a dict of pickles; redis: the client wrapper
    if isinstance(backend, dict):
        return "\n".join(f"{k!r} {pickle.loads(v)!r} {v!r}" for k, v in backend.items())
    client = backend.get_client(write=False)
    return "\n".join(f"{k!r} {client.get(k)!r}" for k in client.scan_iter("*durin*"))


def test_no_plaintext_in_database_cache_or_logs(api, user, web, make_client, settings, caplog):
    caplog.set_level(logging.DEBUG)
    make_client("api")
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}
    issued = []

    login = {"username": "alice", "password": PASSWORD, "client": "web"}
    issued.append(api.post(reverse("durin_login"), login, format="json").json()["token"])
    issued.append(api.post(reverse("durin_login"), login, format="json").json()["token"])
    issued.append(AuthToken.objects.create(user, make_client("cli")).token)
    current = issued[1]
    issued.append(api.post(reverse("durin_apiaccess"), **auth_header(current)).json()["token"])

    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    browser.force_login(admin)
    page = browser.post(reverse("admin:durin_authtoken_add"), {"user": user.pk, "client": web.pk})
    issued.append(page.content.decode().split('id="durin-issued-token">')[1].split("<")[0])

    # A rotating client: refresh hands out new tokens, the replaced ones join the history.
    make_client("app", rotate_on_refresh=True)
    issued.append(api.post(reverse("durin_login"), {**login, "client": "app"}).json()["token"])
    for _ in range(2):
        refreshed = api.post(reverse("durin_refresh"), **auth_header(issued[-1]))
        issued.append(refreshed.json()["token"])
    api.post(reverse("durin_reauthenticate"), {"password": PASSWORD}, **auth_header(issued[-1]))

    for token in issued:
        api.get(reverse("cached-whoami"), **auth_header(token))
        api.get(reverse("whoami"), **auth_header(token))
    api.post(reverse("durin_refresh"), **auth_header(issued[4]))
    api.get(reverse("durin_tokensessions-list"), **auth_header(issued[4]))

    assert len(set(issued)) == 8 and all(len(t) == 64 for t in issued)
    assert SupersededToken.objects.count() == 2  # the history was really written
    stored_db, stored_cache = database_text(), cache_text()
    assert "durin:token:" in stored_cache  # the cache was really used
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for token in issued:
        assert token not in stored_db
        assert token not in stored_cache
        assert token not in logs
