"""Fixtures: users, clients, tokens and an API client; the cache is emptied around each test;
a private redis-server for the tests that stall one."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DatabaseError, connection
from rest_framework.test import APIClient

from durin.models import AuthToken, Client

PASSWORD = "correct horse battery staple"

# tests/customuser needs settings of its own (a custom user model): test_custom_user.py runs
# it in a pytest of its own, which is the only one to collect it.
if settings.SETTINGS_MODULE != "tests.custom_settings":
    collect_ignore = ["customuser"]


def pytest_report_header(config: Any) -> str:
    import os

    return (
        f"durin tests: database={os.environ.get('DURIN_TEST_DB', 'sqlite')} "
        f"cache={os.environ.get('DURIN_TEST_CACHE', 'locmem')}"
    )


@pytest.fixture(scope="session", autouse=True)
def _deployment_namespace(django_db_setup: None, django_db_blocker: Any) -> None:
    """Read the token cache's namespace once, as a process's first cache use does (one
    query), so that no test's query count depends on whether it ran first."""
    from django.db import connections

    from durin import cache as token_cache

    with django_db_blocker.unblock():
        try:
            token_cache.namespaces()
            # Django 6.1's `check` asks every database whether it supports JSONField (one
            # query per alias, cached): asked here, so that no test that runs the checks
            # needs every alias opened to it.
            for alias in connections:
                _ = connections[alias].features.supports_json_field
        except DatabaseError:  # no test of this run uses the database, so none was set up
            pass


@pytest.fixture
def reports() -> Iterator[list[str]]:
    """Django's error reports (HTML and text) of every request that fails with a 500."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    rendered: list[str] = []

    def render(sender: Any, request: Any, **kwargs: Any) -> None:
        reporter = ExceptionReporter(request, *sys.exc_info())
        rendered.append(reporter.get_traceback_html() + reporter.get_traceback_text())

    got_request_exception.connect(render, weak=False)
    yield rendered
    got_request_exception.disconnect(render)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    def make(username: str = "alice", **extra: Any) -> Any:
        return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def other_user(make_user: Callable[..., Any]) -> Any:
    return make_user("bob")


@pytest.fixture
def make_client(db: None) -> Callable[..., Client]:
    def make(name: str = "web", **fields: Any) -> Client:
        return Client.objects.create(name=name, **fields)

    return make


@pytest.fixture
def web(make_client: Callable[..., Client]) -> Client:
    return make_client("web")


@pytest.fixture
def mobile(make_client: Callable[..., Client]) -> Client:
    return make_client("mobile")


@pytest.fixture
def token(user: Any, web: Client) -> AuthToken:
    return AuthToken.objects.create(user, web)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def auth_header(token: AuthToken | str, prefix: str = "Token") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"{prefix} {token}"}


@contextmanager
def no_queries() -> Iterator[None]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        yield
    assert len(ctx.captured_queries) == 0, [q["sql"] for q in ctx.captured_queries]


class Received:
    """Connects a receiver to ``signal`` for the duration of a ``with`` block."""

    def __init__(self, signal):
        self.signal, self.calls = signal, []

    def __enter__(self):
        self.signal.connect(self.receive, weak=False)
        return self.calls

    def __exit__(self, *exc):
        self.signal.disconnect(self.receive)

    def receive(self, sender, **kwargs):
        self.calls.append(kwargs)


class BrokenCache:
    """A cache that fails every call, as an unreachable server does."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("cache is down")

        return fail


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen]:
    """A redis-server of our own, without persistence; always killed at the end."""
    port, workdir = free_port(), tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=(Path(workdir) / "log").open("w"),
        stderr=subprocess.STDOUT,
    )
    process.port = port  # type: ignore[attr-defined]
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, (workdir / "log").read_text()
                time.sleep(0.05)
        else:
            pytest.fail("the private redis-server did not start")
        yield process
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
