"""A Redis read replica in the token cache's LOCATION loses revocations: durin.E008 refuses it.

Django's own RedisCache (and django-redis) take a list of servers: writes go to the
first, *reads to the others*. durin's stale markers and its write check are writes,
so they land on the primary and succeed, while every authentication reads the replica.
A replica cut off from its primary (a partition; ``replica-serve-stale-data yes`` is
Redis's default) keeps serving the token's entry: the revoked token stays accepted
for as long as the entry lives (TOKEN_CACHE_TIMEOUT), by every process, while the
write check keeps passing. durin cannot route its reads to the primary through
Django's cache API, so the system check refuses the configuration (durin.E008); this
test shows, on real servers, the loss that the check prevents.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.core import checks
from django.test import override_settings
from django.urls import reverse

from durin import cache as token_cache
from durin.models import AuthToken

from .conftest import auth_header, free_port

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server on PATH"),
]


def _start(workdir: Path, *extra: str) -> subprocess.Popen:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir), *extra],
        stdout=(workdir / "log").open("w"),
        stderr=subprocess.STDOUT,
    )
    process.port = port  # type: ignore[attr-defined]
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture
def primary_and_replica(tmp_path):
    primary = _start(tmp_path / "primary", "--repl-diskless-sync-delay", "0")
    replica = _start(tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port))
    with redis.Redis(port=replica.port) as admin:
        for _ in range(250):
            if admin.info("replication")["master_link_status"] == "up":
                break
            time.sleep(0.02)
        else:
            pytest.fail("the replica never synced")
    try:
        yield primary, replica
    finally:
        for process in (replica, primary):
            process.terminate()
            process.wait(timeout=5)


def _wait_replicated(replica: redis.Redis, key: str) -> None:
    for _ in range(200):
        if replica.exists(key):
            return
        time.sleep(0.02)
    pytest.fail(f"the replica never caught up: {replica.keys()} {replica.info('replication')}")


def test_reads_from_a_partitioned_replica_lose_a_revocation_so_e008_refuses_them(
    primary_and_replica, api, user, web, monkeypatch
):
    primary, replica = primary_and_replica
    monkeypatch.setattr(token_cache.Outage, "failing", False)
    monkeypatch.setattr(token_cache.Outage, "owed", set())
    monkeypatch.setattr(token_cache.WriteCheck, "next_at", -float("inf"))
    location = [f"redis://127.0.0.1:{primary.port}/0", f"redis://127.0.0.1:{replica.port}/0"]
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "tokens": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location},
    }
    with (
        override_settings(
            CACHES=caches_setting,
            REST_DURIN={"TOKEN_CACHE_ALIAS": "tokens", "CACHE_WRITE_CHECK_INTERVAL": 1},
        ),
        redis.Redis(port=replica.port) as replica_admin,
    ):
        assert "durin.E008" in [m.id for m in checks.run_checks()]

        token = AuthToken.objects.create(user, web)
        whoami = reverse("cached-whoami")
        # First request: a miss (generation started on the primary), then the entry is added.
        for _ in range(5):
            api.get(whoami, **auth_header(token))
            _wait_replicated(replica_admin, f":1:{token_cache.cache_key(token.digest)}")
        assert api.get(whoami, **auth_header(token)).status_code == 200

        # The replica loses its primary; it keeps serving what it has (Redis's default).
        replica_admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))

        # Logout: the row goes, the stale marker is written to the primary, successfully.
        assert api.post(reverse("durin_logout"), **auth_header(token)).status_code == 204
        assert not AuthToken.objects.filter(pk=token.pk).exists()

        time.sleep(1.1)  # past CACHE_WRITE_CHECK_INTERVAL: the write check passes (primary)
        # What E008 prevents: the replica still serves the revoked token's entry.
        assert api.get(whoami, **auth_header(token)).status_code == 200
