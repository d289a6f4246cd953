"""An attacker's pass over issue 10's hot path: the compiled token lookup (``durin.lookup``),
cache hits built without ``Model.__init__`` and the Redis reader kept per cache object
(``durin.cache``).

Three were findings, now fixed: a connection kept alive per ASGI request, a mixin's
``__init__`` skipped on a cache hit, an interrupted end of outage that never ended. The
others guard what held, where a later change could break it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import override_settings
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from durin import cache as token_cache
from durin import crypto
from durin.auth import CachedTokenAuthentication, TokenAuthentication
from durin.cache import Outage
from durin.models import AuthToken
from durin.settings import durin_settings

from .conftest import auth_header, no_queries
from .test_cache_outage_revocations import Process, Processes, logout, status

ROOT = Path(__file__).resolve().parent.parent


# --- Memory: a connection kept for every thread that ever looked a token up -----------------


async def _asgi_get(app: Any, path: str, token: str) -> int:
    """One GET through Django's ASGI handler, as uvicorn or daphne make it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Token {token}".encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    body = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if body:
            return body.pop()
        await asyncio.Event().wait()  # the client never disconnects early
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


def _live_connection_wrappers() -> int:
    gc.collect()
    # type(), not isinstance(): the latter would set up lazy objects (staticfiles' storage).
    return sum(issubclass(type(obj), BaseDatabaseWrapper) for obj in gc.get_objects())


def _forged_token() -> str:
    """Well-formed (the checksum is a CRC, not a secret), never issued: anyone can send it."""
    return crypto.generate_token(durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("view", ["whoami", "cached-whoami"])
def test_asgi_requests_with_forged_tokens_leave_no_connection_behind(view):
    requests = 30
    app, path = get_asgi_application(), reverse(view)

    async def serve(count: int) -> list[int]:
        return [await _asgi_get(app, path, _forged_token()) for _ in range(count)]

    assert asyncio.run(serve(3)) == [401] * 3  # warm up: imports, first compilations
    before = _live_connection_wrappers()
    assert asyncio.run(serve(requests)) == [401] * requests
    assert _live_connection_wrappers() - before <= 2


# --- Cache hits built without Model.__init__, for a custom user model ------------------------


@pytest.fixture(scope="module")
def member_run() -> dict[str, Any]:
    """tests/hotpath_users/run.py on this run's database and cache, with a custom user model
    (UUID primary key, email as USERNAME_FIELD, a cooperative mixin after the model base)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.hotpath_users.settings"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-m", "tests.hotpath_users.run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_uuid_user_named_by_email_authenticates_alike_from_the_database_and_a_hit(member_run):
    """The compiled lookup's converters and a hit's entry keep a UUID primary key a UUID (a
    string on MariaDB's char(32) until converted), and a revocation still holds."""
    assert member_run["hit_cached"] and member_run["hit_queries"] == 0
    for path in ("database", "hit"):
        seen = member_run[path]
        assert seen["pk"] == seen["token_user_id"] == member_run["member"], path
        assert seen["pk_type"] == "UUID", path
        assert seen["username"] == "Ann@example.com" and seen["is_active"], path
        assert seen["db"] == "default" and seen["password_checks"], path
    assert member_run["revoked_refused"]


def test_a_hit_runs_what_model_init_runs_for_a_mixin_after_the_model_base(member_run):
    assert member_run["database"]["has_recent_actions"]
    assert member_run["hit"]["has_recent_actions"]


# --- Held: the compiled statement follows the router; the Redis reader follows the key rules --


class SwitchingRouter:
    """A router whose answer changes at run time (a tenant or a primary pinned per request)."""

    alias = "default"

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return SwitchingRouter.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return SwitchingRouter.alias

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True


@pytest.mark.django_db(databases=["default", "replica"])
def test_the_compiled_lookup_reads_the_database_the_router_names_each_time(
    make_user, make_client, monkeypatch
):
    """Statements are compiled per connection: a token is found only in the database the
    router names at that moment, with that user, and its instances say which."""
    monkeypatch.setattr(SwitchingRouter, "alias", "default")
    with override_settings(DATABASE_ROUTERS=[f"{__name__}.SwitchingRouter"]):
        alice = AuthToken.objects.create(make_user("alice"), make_client("web"))
        SwitchingRouter.alias = "replica"
        bob = AuthToken.objects.create(make_user("bob"), make_client("web"))
        for alias, mine, other in [("default", alice, bob), ("replica", bob, alice)] * 2:
            SwitchingRouter.alias = alias
            user, token = TokenAuthentication.authenticate_credentials(mine.token)
            assert user.get_username() == ("alice" if mine is alice else "bob")
            assert token._state.db == user._state.db == token.client._state.db == alias
            with pytest.raises(AuthenticationFailed):
                TokenAuthentication.authenticate_credentials(other.token)
    # Changing DATABASE_ROUTERS made the token cache forget its namespace: read it again now,
    # as the session's first cache use did, so that no later test pays for it.
    token_cache.namespaces()


def _cached_authenticate(token: AuthToken) -> tuple[Any, AuthToken]:
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.token}")
    return CachedTokenAuthentication().authenticate(Request(request))


@pytest.mark.django_db(transaction=True)  # the logout's marker is written on commit
def test_hits_and_revocations_follow_a_new_key_prefix_and_version(token, api):
    """The Redis reader is kept per cache object; a hit read under one key function and a
    marker written under another would keep a revoked token alive."""
    _cached_authenticate(token)  # a reader for the cache as first configured
    renamed = {**settings.CACHES["default"], "KEY_PREFIX": "durin-hotpath", "VERSION": 7}
    with override_settings(CACHES={"default": renamed}):
        _cached_authenticate(token)  # a miss under the new key function: stores the entry
        with no_queries():
            assert _cached_authenticate(token)[1].pk == token.pk
        logout = api.post(reverse("durin_logout"), **auth_header(token))
        assert logout.status_code == 204
        with pytest.raises(AuthenticationFailed):
            _cached_authenticate(token)


# --- The outage race fix: a call interrupted while it ends the outage ------------------------


class Interrupted(BaseException):
    """What interrupts a call without being an ``Exception``: gevent's ``Timeout``, asyncio's
    ``CancelledError``, ``KeyboardInterrupt``."""


class InterruptedOnce:
    """The real cache, except that the first write of owed markers is interrupted."""

    def __init__(self, real_backend: Any) -> None:
        self.real_backend, self.interrupted = real_backend, False

    def __call__(self) -> InterruptedOnce:
        return self

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real_backend(), name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "set_many" and not self.interrupted:
                self.interrupted = True
                raise Interrupted
            return method(*args, **kwargs)

        return call


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Processes:
    """Several processes played in one (see tests/test_cache_outage_revocations.py)."""
    monkeypatch.setattr(Outage, "_ending", False)
    monkeypatch.setattr(Outage, "_failures", 0)
    return Processes(monkeypatch)


@pytest.fixture
def tokens(user: Any, make_client: Any) -> tuple[AuthToken, AuthToken]:
    """Two tokens of one user: one to keep, one to revoke."""
    client = make_client("web", session_limit=None)
    return AuthToken.objects.create(user, client), AuthToken.objects.create(user, client)


@pytest.mark.django_db(transaction=True)  # revocations reach the cache on commit
def test_an_interrupted_end_of_outage_is_ended_by_the_next_call(processes, tokens, api):
    kept, revoked = tokens
    a, b = Process(), Process()
    with processes.running(b):
        assert status(api, revoked) == 200  # cached
    a.cut_off = True
    with processes.running(a):
        logout(api, revoked)  # its marker owed
    a.cut_off = False
    real_backend = processes.real_backend
    processes.real_backend = InterruptedOnce(real_backend)
    with processes.running(a), pytest.raises(Interrupted):
        status(api, kept)  # the call that ends the outage is interrupted mid-write
    processes.real_backend = real_backend
    with processes.running(a):
        assert [status(api, kept) for _ in range(3)] == [200] * 3  # the cache answers a again
    with processes.running(b):
        assert status(api, revoked) == 401
