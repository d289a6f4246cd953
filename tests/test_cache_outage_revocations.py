"""A token revoked during a cache outage stays revoked, in every process, once the cache is back.

The tests play several processes in one: durin's per-process state (whether the process saw
the cache fail, the markers it owes, when it next proves the cache writable) is swapped in
and out, and a process *cut off* gets a cache that fails every call, as through a network
partition, while the others reach the real one (local memory or Redis, as the run's). The
last two run two threads of one process.

Two things hold the guarantee (``durin.cache``): the new generation that a process draws when
the cache answers it again, which no entry written before carries, and the stale markers that
it owed, written just before. Each test says which one holds it. The generation covers every
entry written, and every database read made, before the revocation; only the markers cover a
reader whose *database* still answers as before the revocation while it reads the new
generation: a read replica that lags.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from durin import cache as token_cache
from durin.auth import CachedTokenAuthentication
from durin.cache import Outage, WriteCheck
from durin.models import AuthToken, Client

from .conftest import BrokenCache, auth_header

pytestmark = pytest.mark.django_db(transaction=True)  # revocations reach the cache on commit


@dataclass
class Process:
    """What durin keeps per process, and whether this process reaches the cache."""

    cut_off: bool = False
    failing: bool = False
    owed: set[str] = field(default_factory=set)
    next_write_check: float = -math.inf


class Processes:
    """Runs code as one process or another; see the module docstring."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real_backend = token_cache.backend
        self.current: Process | None = None
        monkeypatch.setattr(token_cache, "backend", self.backend)
        monkeypatch.setattr(Outage, "failing", False)
        monkeypatch.setattr(Outage, "owed", set())
        monkeypatch.setattr(WriteCheck, "next_at", -math.inf)

    def backend(self):
        return BrokenCache() if self.current and self.current.cut_off else self.real_backend()

    @contextmanager
    def running(self, process: Process) -> Iterator[None]:
        Outage.failing, Outage.owed = process.failing, process.owed
        WriteCheck.next_at, self.current = process.next_write_check, process
        try:
            yield
        finally:
            process.failing, process.owed = Outage.failing, Outage.owed
            process.next_write_check, self.current = WriteCheck.next_at, None


@pytest.fixture
def processes(monkeypatch) -> Processes:
    return Processes(monkeypatch)


def status(api, token: AuthToken) -> int:
    response = api.get(reverse("cached-whoami"), **auth_header(token))
    assert response.status_code in (200, 401), response.content
    return response.status_code


def logout(api, token: AuthToken) -> None:
    assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204


def entry(token: AuthToken):
    """What the cache holds for ``token``, read directly."""
    return token_cache.backend().get(token_cache.cache_key(token.digest))


@pytest.fixture
def tokens(user, make_client) -> tuple[AuthToken, AuthToken]:
    """Two tokens of one user: one to keep, one to revoke."""
    client = make_client("web", session_limit=None)
    return AuthToken.objects.create(user, client), AuthToken.objects.create(user, client)


def test_a_process_cut_off_revokes_and_every_process_refuses_once_it_is_back(
    processes, tokens, api
):
    """Holds by both: the owed marker covers the entry, and so does the new generation."""
    kept, revoked = tokens
    a, b = Process(), Process()
    with processes.running(b):
        assert status(api, revoked) == 200  # cached
    a.cut_off = True
    with processes.running(a):
        logout(api, revoked)
        assert status(api, revoked) == 401  # from the database
    with processes.running(b):
        # The limit the README states: b saw no outage, so it trusts the entry until a
        # reaches the cache again (or the entry times out).
        assert status(api, revoked) == 200
    a.cut_off = False
    with processes.running(a):
        assert status(api, kept) == 200  # a's first call since: it writes what it owes
    for process in (b, a, Process()):
        with processes.running(process):
            assert status(api, revoked) == 401


@pytest.mark.parametrize("stored", ["while it is cut off", "once it is back"])
def test_a_request_that_read_the_token_before_the_revocation_cannot_cache_it_for_later(
    processes, tokens, api, stored
):
    """A slow request of b reads the token (a miss, then the database) just before a, cut off,
    revokes it, and caches it only afterwards. Holds by both: the entry carries the
    generation b read before the revocation, which a's return replaces; once a is back, its
    marker is there first."""
    kept, revoked = tokens
    a, b = Process(cut_off=True), Process()
    with processes.running(b):
        slow_read = CachedTokenAuthentication.get_token(revoked.digest)
        assert slow_read is not None
    with processes.running(a):
        logout(api, revoked)
    if stored == "once it is back":
        a.cut_off = False
        with processes.running(a):
            assert status(api, kept) == 200
    with processes.running(b):
        CachedTokenAuthentication.remember(slow_read)
    a.cut_off = False
    with processes.running(a):
        assert status(api, kept) == 200
    for process in (b, a, Process()):
        with processes.running(process):
            assert status(api, revoked) == 401


def test_a_cache_that_comes_back_empty_trusts_nothing_stored_before(processes, tokens, api):
    """The revocation's marker was written, then the cache restarted empty (no persistence):
    the marker and the generation are gone. A request that read the token before the
    revocation caches it only now. Holds by the generation: the first reader starts a new
    one, which that entry does not carry; no marker was owed."""
    _, revoked = tokens
    b = Process()
    with processes.running(b):
        slow_read = CachedTokenAuthentication.get_token(revoked.digest)
        logout(api, revoked)
        assert entry(revoked) == token_cache.STALE
        token_cache.backend().clear()  # restarted empty
        CachedTokenAuthentication.remember(slow_read)
        assert isinstance(entry(revoked), tuple)  # cached, with the old generation
    for process in (b, Process()):
        with processes.running(process):
            assert status(api, revoked) == 401


class ReadsFromTheReplica:
    """Django's primary/replica routing: every read from the replica, every write to the
    primary."""

    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True


def replicate() -> None:
    """The replica catches up: it holds what the primary holds now (the rows of tokens,
    users and clients)."""
    models = (get_user_model(), Client, AuthToken)
    replica = connections["replica"]
    with replica.cursor() as cursor:
        for model in reversed(models):
            cursor.execute(f"DELETE FROM {replica.ops.quote_name(model._meta.db_table)}")
    for model in models:
        model._base_manager.using("replica").bulk_create(model._base_manager.using("default"))


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
@pytest.mark.parametrize("cache", ["down", "up"])
def test_a_revocation_outlives_a_lagging_read_replica(processes, tokens, api, cache):
    """Reads go to a replica that applies the logout late, as replicas do. The revocation's
    marker, written at once or owed through the outage and written when the cache answers
    again, sends the revoked token's lookup to the primary: the lagging replica, which still
    holds it, is never asked, so the token is neither accepted nor cached with the new
    generation (which every process would have trusted for TOKEN_CACHE_TIMEOUT seconds, long
    after the replica caught up)."""
    kept, revoked = tokens
    a = Process(cut_off=cache == "down")
    with override_settings(DATABASE_ROUTERS=[f"{__name__}.ReadsFromTheReplica"]):
        replicate()
        with processes.running(a):
            logout(api, revoked)  # on the primary; the replica lags behind
            assert Outage.failing == (cache == "down")
            a.cut_off = False
            assert status(api, kept) == 200  # the cache answers: a writes what it owes
            assert status(api, revoked) == 401  # the marker: read on the primary only
        replicate()
        for process in (a, Process()):
            with processes.running(process):
                assert status(api, revoked) == 401


class HeldWrites:
    """The real cache, except that the writes of the thread named ``ending`` wait for
    ``released``; while they wait, the calls of the threads in ``refused`` fail, as a flaky
    connection does."""

    def __init__(self, real_backend) -> None:
        self.real_backend = real_backend
        self.writing, self.released = threading.Event(), threading.Event()
        self.refused: set[str] = set()

    def __call__(self) -> HeldWrites:
        return self

    def __getattr__(self, name: str):
        method = getattr(self.real_backend(), name)

        def call(*args, **kwargs):
            thread = threading.current_thread().name
            if thread == "ending" and name in ("set", "set_many"):
                self.writing.set()
                assert self.released.wait(timeout=10)
            elif thread in self.refused and self.writing.is_set() and not self.released.is_set():
                raise ConnectionError("cache is down")
            return method(*args, **kwargs)

        return call


@contextmanager
def ending_the_outage(processes: Processes, token: AuthToken) -> Iterator[HeldWrites]:
    """A request on ``token`` in another thread of the current process ends the outage; the
    body runs while its writes are held."""
    real_backend = processes.real_backend
    held = processes.real_backend = HeldWrites(real_backend)
    statuses: list[int] = []

    def request() -> None:
        try:
            statuses.append(status(APIClient(), token))
        finally:
            connections.close_all()

    ending = threading.Thread(target=request, name="ending")
    ending.start()
    try:
        assert held.writing.wait(timeout=10)
        yield held
    finally:
        held.released.set()
        ending.join(timeout=20)
        processes.real_backend = real_backend
    assert statuses == [200]


def test_a_thread_reading_while_another_ends_the_outage_trusts_nothing_from_before(
    processes, tokens, api
):
    """Two threads of the process that revoked during the outage. The first call the cache
    answers writes the owed marker and the new generation; a request on another thread reads
    the cache before those writes land, and must not trust the revoked token's old entry.
    Holds by the outage lasting, for the whole process, until both writes are made."""
    kept, revoked = tokens
    a = Process()
    with processes.running(a):
        assert status(api, revoked) == 200  # cached before the outage
        a.cut_off = True
        logout(api, revoked)
        a.cut_off = False
        with ending_the_outage(processes, kept):
            assert status(api, revoked) == 401
        assert status(api, revoked) == 401


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_revocation_refused_while_the_outage_ends_is_written_when_the_cache_answers(
    processes, tokens, api
):
    """While one thread ends the outage, a logout on another thread cannot write its marker:
    the outage goes on, so that the next call the cache answers writes it. Without it, a
    lagging replica's answer would be cached with the new generation (see above)."""
    kept, revoked = tokens
    a = Process()
    with override_settings(DATABASE_ROUTERS=[f"{__name__}.ReadsFromTheReplica"]):
        replicate()
        with processes.running(a):
            a.cut_off = True
            assert status(api, kept) == 200  # from the database: the outage begins
            a.cut_off = False
            with ending_the_outage(processes, kept) as held:
                held.refused.add(threading.current_thread().name)
                logout(api, revoked)
            assert status(api, revoked) == 401  # the marker: read on the primary only
        replicate()
        for process in (a, Process()):
            with processes.running(process):
                assert status(api, revoked) == 401
