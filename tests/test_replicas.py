"""Read replicas (CONTRACT §11): a router reads tokens and users from a replica that never
catches up, and writes to the primary.

The replica is a second database (``replica`` in tests/settings.py) that receives no write:
``lagging_replica()`` copies the primary's rows into it once, as a replica would have them
from before the test's requests, then routes reads to it. What users rely on:

- a token issued a moment ago authenticates at once: read on the replica, then once on the
  primary;
- with ``CachedTokenAuthentication``, a token revoked by any means is refused on the very next
  request, read on the primary only (never on the replica that still holds it), whether or not
  the cache held an entry for it: the revocation's stale marker alone decides;
- with ``TokenAuthentication``, the replica's answer is trusted: a revoked token is accepted
  while the replica lags, which is why check ``durin.E011`` refuses that configuration;
- whatever issues, revokes, counts or lists sessions and keys reads the primary.

These tests commit for real (``transaction=True``): cache invalidation happens on commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.management import call_command
from django.db import connections
from django.test import Client as BrowserClient
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from durin import cache as token_cache
from durin import crypto
from durin.models import AuthToken, Client, SupersededToken
from durin.signals import token_revoked

from .conftest import PASSWORD, Received, auth_header

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

PLAIN, CACHED = "whoami", "cached-whoami"  # tests/views.py: one view per class
VIEWS = [PLAIN, CACHED]
GRACE = timedelta(seconds=30)  # ROTATION_GRACE_PERIOD's default
REPLICATED_APPS = {"durin", get_user_model()._meta.app_label}


class ReadsFromTheReplica:
    """Reads of durin's models and of users (what a token lookup joins) from the replica;
    every write, and every other read (sessions, content types), on the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return "replica" if model._meta.app_label in REPLICATED_APPS else None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True


REPLICATED = (get_user_model(), Client, AuthToken, SupersededToken)  # in foreign-key order


def replicate() -> None:
    """The replica holds what the primary holds now, and will not catch up again."""
    replica = connections["replica"]
    with replica.cursor() as cursor:
        for model in reversed(REPLICATED):
            cursor.execute(f"DELETE FROM {replica.ops.quote_name(model._meta.db_table)}")
    for model in REPLICATED:
        model._base_manager.using("replica").bulk_create(model._base_manager.using("default"))


@pytest.fixture(autouse=True)
def cache_keeps_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token cache taken to keep its keys, as a Redis without ``maxmemory`` does: these
    tests are about where each read goes when a replica may answer. A cache that may evict
    sends every miss to the primary (tests/test_replicas_eviction.py)."""
    monkeypatch.setattr(token_cache.Eviction, "may_evict", classmethod(lambda cls: False))


@contextmanager
def lagging_replica() -> Iterator[None]:
    """Reads from a replica that holds the rows of now, and no later write."""
    replicate()
    with override_settings(DATABASE_ROUTERS=[f"{__name__}.ReadsFromTheReplica"]):
        token_cache.namespaces()  # read once per process: not in any count below
        settle_the_generation()
        yield


def settle_the_generation() -> None:
    """A cache whose generation began long ago, as in a deployment that has run for a while:
    a new one sends every miss to the primary until the markers it may have lost expire."""
    token_cache.backend().set(token_cache.generation_key(), "0-settled", None)


@contextmanager
def counted() -> Iterator[dict[str, int]]:
    """The queries made in the block on each alias, filled in when it ends."""
    counts: dict[str, int] = {}
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        yield counts
    counts.update(default=len(primary.captured_queries), replica=len(replica.captured_queries))


def on_primary(token: AuthToken | str) -> bool:
    """Whether the token's row is on the primary (it was not revoked)."""
    digest = crypto.digest(token) if isinstance(token, str) else token.digest
    return AuthToken.objects.using("default").filter(digest=digest).exists()


def status(api: Any, token: AuthToken | str, view: str) -> int:
    response = api.get(reverse(view), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code


def log_in(api: Any, client: str = "web") -> str:
    body = {"username": "alice", "password": PASSWORD, "client": client}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def rotated(api: Any, token: str) -> str:
    response = api.post(reverse("durin_refresh"), **auth_header(token))
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.fixture
def keys_enabled(settings) -> None:
    settings.REST_DURIN = {"API_ACCESS_CLIENT_NAME": "api"}


# --- A token the replica does not have yet ---------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
def test_a_token_issued_a_moment_ago_authenticates_at_once(api, user, web, view):
    with lagging_replica():
        token = log_in(api)  # on the primary only
        with counted() as first:
            assert status(api, token, view) == 200
        with counted() as second:
            assert status(api, token, view) == 200
    assert first == {"replica": 1, "default": 1}  # missing there, then found here
    if view == CACHED:
        assert second == {"replica": 0, "default": 0}  # a hit
    else:
        assert second == {"replica": 1, "default": 1}  # the replica never catches up


def test_a_client_created_a_moment_ago_issues_at_once(api, user):
    """The client a login names is read on the primary, as everything that issues."""
    with lagging_replica():
        Client.objects.create(name="web")
        for view in VIEWS:
            assert status(api, log_in(api), view) == 200


def test_rotation_the_new_token_works_at_once_and_reuse_after_the_grace_revokes(
    api, user, make_client
):
    """The replica holds the session with its first token; rotation happens on the primary."""
    make_client("app", rotate_on_refresh=True, session_limit=None)
    old = log_in(api, "app")
    with lagging_replica():
        new = rotated(api, old)
        for view in VIEWS:
            assert status(api, new, view) == 200  # its digest is on the primary only
            assert status(api, old, view) == 200  # within its grace
        with time_machine.travel(timezone.now() + GRACE + timedelta(seconds=5), tick=False):
            # The plain class takes the replica's row, which still has the old digest, for
            # the session's current token: no reuse is seen (durin.E011).
            assert status(api, old, PLAIN) == 200
            # The rotation's stale marker sends the cached class to the primary only, where
            # the old digest is in the history: reuse, and the session is revoked.
            with counted() as reuse:
                assert status(api, old, CACHED) == 401
            assert reuse["replica"] == 0
            assert not on_primary(new)
            assert status(api, new, CACHED) == 401
            assert status(api, new, PLAIN) == 401  # on neither database


def test_a_login_over_the_session_limit_revokes_a_session_the_replica_never_saw(api, user, web):
    """``web`` allows one session: the second login revokes the first, which only the
    primary holds."""
    with lagging_replica():
        first = log_in(api)
        assert status(api, first, CACHED) == 200  # cached
        second = log_in(api)
        for view in VIEWS:
            assert status(api, first, view) == 401
            assert status(api, second, view) == 200


def test_revoke_by_possession_of_tokens_the_replica_does_not_have(api, user, make_client):
    """A token issued a moment ago, and the replaced token of a session rotated a moment ago
    (its history is on the primary only)."""
    make_client("app", rotate_on_refresh=True, session_limit=None)
    with lagging_replica():
        fresh = log_in(api, "app")
        replaced = log_in(api, "app")
        current = rotated(api, replaced)
        response = api.post(reverse("durin_revoke"), {"tokens": [fresh, replaced]}, format="json")
        assert response.status_code == 200
        for view in VIEWS:
            assert status(api, fresh, view) == 401
            assert status(api, current, view) == 401


def test_logout_others_keeps_the_keys_of_a_key_client_the_replica_never_saw(
    api, user, make_client, keys_enabled
):
    make_client("web", session_limit=None)
    with lagging_replica():
        key_client = make_client("api")  # created after the replica's last catch-up
        key = AuthToken.objects.create(user, key_client)
        this, other = log_in(api), log_in(api)
        response = api.post(reverse("durin_logoutothers"), **auth_header(this))
        assert response.json() == {"revoked": 1}
        for view in VIEWS:
            assert status(api, other, view) == 401
            assert status(api, key, view) == 200
            assert status(api, this, view) == 200


def test_key_limit_counts_the_keys_the_replica_does_not_have(api, user, web, make_client):
    make_client("api", session_limit=2)
    with override_settings(REST_DURIN={"API_ACCESS_CLIENT_NAME": "api"}), lagging_replica():
        login = log_in(api)
        for name in ("one", "two"):
            created = api.post(
                reverse("durin_keys-list"), {"name": name}, format="json", **auth_header(login)
            )
            assert created.status_code == 201, created.content
        third = api.post(
            reverse("durin_keys-list"), {"name": "three"}, format="json", **auth_header(login)
        )
        assert third.status_code == 403
        assert third.json()["detail"].startswith("You hold as many API keys as allowed")
        listed = api.get(reverse("durin_keys-list"), **auth_header(login)).json()
        assert [key["name"] for key in listed] == ["two", "one"]


def test_sessions_and_keys_just_issued_are_listed_ended_and_renewed_at_once(
    api, user, make_client, keys_enabled
):
    """Listing reads the primary too: a user who logs in and does not see the new session,
    or cannot end it (404), has met a lagging replica."""
    make_client("web", session_limit=None)
    make_client("api", token_ttl=timedelta(days=30))
    with lagging_replica():
        this, other = log_in(api), log_in(api)
        sessions = api.get(reverse("durin_tokensessions-list"), **auth_header(this)).json()
        assert [session["is_current"] for session in sessions] == [False, True]
        other_id = sessions[0]["id"]
        url = reverse("durin_tokensessions-detail", args=[other_id])
        assert api.delete(url, **auth_header(this)).status_code == 204
        assert status(api, other, CACHED) == status(api, other, PLAIN) == 401

        issued = api.post(reverse("durin_apiaccess"), **auth_header(this))
        assert issued.status_code == 201, issued.content
        key = issued.json()["token"]
        shown = api.get(reverse("durin_apiaccess"), **auth_header(this))
        assert shown.status_code == 200, shown.content
        assert shown.json()["expiry"] == issued.json()["expiry"]
        listed = api.get(reverse("durin_keys-list"), **auth_header(this)).json()
        assert len(listed) == 1
        # A key keeps the expiry it was given: refresh reads it back, on the primary.
        renewed = api.post(reverse("durin_refresh"), **auth_header(key))
        assert renewed.status_code == 200, renewed.content
        assert parse_datetime(renewed.json()["expiry"]) == parse_datetime(listed[0]["expiry"])
        url = reverse("durin_keys-detail", args=[listed[0]["id"]])
        assert api.delete(url, **auth_header(this)).status_code == 204
        assert status(api, key, CACHED) == status(api, key, PLAIN) == 401


def test_the_admin_deletes_a_token_the_replica_never_saw(api, user, web):
    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    browser = BrowserClient()
    with lagging_replica():
        browser.force_login(admin)
        token = AuthToken.objects.create(user, web)
        assert status(api, token, CACHED) == 200
        url = reverse("admin:durin_authtoken_delete", args=[token.pk])
        assert browser.post(url, {"post": "yes"}).status_code == 302
        assert not on_primary(token)
        for view in VIEWS:
            assert status(api, token, view) == 401


# --- A token the replica holds, revoked on the primary ---------------------------------------


def _logout(api, target, caller, user):
    assert api.post(reverse("durin_logout"), **auth_header(target)).status_code == 204


def _logout_all(api, target, caller, user):
    assert api.post(reverse("durin_logoutall"), **auth_header(target)).status_code == 204


def _logout_others(api, target, caller, user):
    response = api.post(reverse("durin_logoutothers"), **auth_header(caller))
    assert response.json() == {"revoked": 1}


def _session_delete(api, target, caller, user):
    url = reverse("durin_tokensessions-detail", args=[target.pk])
    assert api.delete(url, **auth_header(caller)).status_code == 204


def _key_delete(api, target, caller, user):
    url = reverse("durin_keys-detail", args=[target.pk])
    assert api.delete(url, **auth_header(caller)).status_code == 204


def _possession(api, target, caller, user):
    response = api.post(reverse("durin_revoke"), {"token": str(target)}, format="json")
    assert response.status_code == 200


def _password_change(api, target, caller, user):
    user.set_password("a new passphrase")
    user.save()


def _deactivation(api, target, caller, user):
    user.is_active = False
    user.save()


def _admin_delete(api, target, caller, user):
    browser = BrowserClient()
    browser.force_login(get_user_model().objects.get(username="admin"))
    url = reverse("admin:durin_authtoken_delete", args=[target.pk])
    assert browser.post(url, {"post": "yes"}).status_code == 302


REVOCATIONS = {
    "logout": _logout,
    "logoutall": _logout_all,
    "logoutothers": _logout_others,
    "sessions DELETE": _session_delete,
    "keys DELETE": _key_delete,
    "revoke by possession": _possession,
    "password change": _password_change,
    "deactivation": _deactivation,
    "admin delete": _admin_delete,
}


@pytest.mark.parametrize("cache", ["warm", "cold"])
@pytest.mark.parametrize("how", REVOCATIONS)
def test_a_revoked_token_the_replica_still_holds(api, user, make_client, keys_enabled, how, cache):
    """The cached class refuses it on the very next request and never asks the replica,
    whether its entry was cached (warm) or not (cold: the stale marker alone decides). The
    plain class accepts it from the replica for as long as the replica lags: durin.E011."""
    get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    web = make_client("web", session_limit=None)
    target_client = make_client("api") if how == "keys DELETE" else web
    caller = AuthToken.objects.create(user, web)  # another session of the same user
    target = AuthToken.objects.create(user, target_client)
    with lagging_replica():  # the replica holds both tokens
        # The cache is in use (it holds its generation); the token's own entry only if warm.
        assert status(api, caller, CACHED) == 200
        if cache == "warm":
            with counted() as read:
                assert status(api, target, CACHED) == 200
            assert read == {"replica": 1, "default": 0}
        with Received(token_revoked) as revoked:
            REVOCATIONS[how](api, target, caller, user)
        assert target.pk in {signal["token_id"] for signal in revoked}
        assert not on_primary(target)
        with counted() as refused:
            assert status(api, target, CACHED) == 401
        # The token, then the rotation history where a replaced token would be: the primary.
        assert refused == {"replica": 0, "default": 2}
        assert status(api, target, PLAIN) == 200


def test_a_revocation_holds_in_a_cache_that_lost_its_generation(api, user, web):
    """A cache with no generation (new, flushed, its generation key evicted) that still holds
    the revocation's marker: the marker sends the lookup to the primary, not to the replica
    that still holds the revoked token."""
    token = AuthToken.objects.create(user, web)
    with lagging_replica():
        assert status(api, token, CACHED) == 200
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
        token_cache.backend().delete(token_cache.generation_key())  # evicted, say
        assert token_cache.backend().get(token_cache.cache_key(token.digest)) == token_cache.STALE
        with counted() as refused:
            assert status(api, token, CACHED) == 401
        assert refused["replica"] == 0


def test_the_plain_class_on_a_lagging_replica_is_refused_by_a_system_check(settings):
    """What the revocation test above shows the plain class doing is why durin.E011 exists."""
    settings.ROOT_URLCONF = "tests.urls"  # views of both classes
    with lagging_replica():
        ids = [message.id for message in checks.run_checks()]
    assert "durin.E011" in ids


def _urlconf(patterns: list[Any]) -> ModuleType:
    """A URLconf of these patterns only, for the check to walk."""
    urlconf = ModuleType("replica_check_urls")
    urlconf.urlpatterns = patterns  # type: ignore[attr-defined]
    return urlconf


def _ninja_urls(authentication_class: type) -> Any:
    ninja = pytest.importorskip("ninja", reason="durin.contrib.ninja needs django-ninja")
    from django.urls import path

    from durin.contrib.ninja import TokenAuth

    api = ninja.NinjaAPI(auth=TokenAuth(authentication_class), urls_namespace="e011")

    @api.get("/me")
    def me(request: Any) -> dict:
        return {}

    return _urlconf([path("api/", api.urls)])


def _plain_view_urls(authentication_class: type) -> Any:
    from django.http import HttpResponse
    from django.urls import path

    from durin.decorators import token_required

    view = token_required(authentication_class=authentication_class)(lambda r: HttpResponse())
    return _urlconf([path("guarded/", view)])


@pytest.mark.parametrize(
    "guarded_by", [_ninja_urls, _plain_view_urls], ids=["ninja", "token_required"]
)
def test_the_plain_class_outside_drf_on_a_lagging_replica_is_refused_too(settings, guarded_by):
    """django-ninja's TokenAuth and token_required with the plain class trust the replica as
    DRF's views do: durin.E011 finds them in the URLconf; with the cached class it does not."""
    from durin.auth import CachedTokenAuthentication, TokenAuthentication

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": ["durin.auth.CachedTokenAuthentication"],
    }
    found = {}
    for authentication_class in (TokenAuthentication, CachedTokenAuthentication):
        settings.ROOT_URLCONF = guarded_by(authentication_class)
        with lagging_replica():
            ids = [message.id for message in checks.run_checks()]
        found[authentication_class.__name__] = "durin.E011" in ids
    assert found == {"TokenAuthentication": True, "CachedTokenAuthentication": False}


def test_a_new_generation_reads_the_primary_until_a_lost_marker_would_have_expired(
    api, user, web
):
    """A new generation (a flushed or restarted cache) cannot vouch that no revocation's
    marker was lost: misses read the primary until such a marker would have expired
    (TOKEN_CACHE_TIMEOUT), then the replica again."""
    token = AuthToken.objects.create(user, web)
    with lagging_replica():  # the replica holds the token
        token_cache.backend().clear()
        with counted() as new:
            assert status(api, token, CACHED) == 200
        assert new["replica"] == 0
        token_cache.backend().delete(token_cache.cache_key(token.digest))  # a miss again
        later = timezone.now() + timedelta(seconds=token_cache._marker_timeout() + 1)
        with time_machine.travel(later), counted() as settled:
            assert status(api, token, CACHED) == 200
        assert settled["replica"] == 1


# --- Changes that must reach tokens the replica does not have --------------------------------


def test_a_password_change_revokes_the_tokens_of_a_user_the_replica_never_saw(api, web):
    with lagging_replica():
        carol = get_user_model().objects.create_user("carol", password=PASSWORD)
        token = AuthToken.objects.create(carol, web)
        assert status(api, token, CACHED) == 200
        carol.set_password("a new passphrase")
        carol.save()
        assert not on_primary(token)
        for view in VIEWS:
            assert status(api, token, view) == 401


def test_deactivating_a_user_reactivated_a_moment_ago_revokes(api, make_user, web):
    """The replica still has the user inactive; the primary saw the reactivation."""
    dave = make_user("dave", is_active=False)
    with lagging_replica():
        dave.is_active = True
        dave.save()
        token = AuthToken.objects.create(dave, web)
        with Received(token_revoked) as revoked:
            dave.is_active = False
            dave.save()
        assert [(signal["token_id"], signal["reason"]) for signal in revoked] == [
            (token.pk, "deactivation")
        ]


@pytest.mark.parametrize("change", ["client renamed", "username changed"])
def test_a_change_reaches_the_cached_entry_of_a_token_the_replica_never_saw(api, user, web, change):
    with lagging_replica():
        token = log_in(api)
        before = api.get(reverse(CACHED), **auth_header(token)).json()
        assert before == {"username": "alice", "client": "web"}
        if change == "client renamed":
            web.name = "web2"
            web.save()
        else:
            user.username = "alice2"
            user.save()
        with counted() as read:
            after = api.get(reverse(CACHED), **auth_header(token)).json()
    assert after == (
        {"username": "alice", "client": "web2"}
        if change == "client renamed"
        else {"username": "alice2", "client": "web"}
    )
    assert read == {"replica": 0, "default": 1}  # the stale marker: the primary only


def test_the_purge_counts_on_the_primary(user, web, capsys):
    with lagging_replica():
        AuthToken.objects.create(user, web, delta_ttl=-timedelta(hours=1))
        call_command("purge_expired_tokens", "--dry-run")
    assert "1 expired token(s) would be deleted" in capsys.readouterr().out
