"""``purge_expired_tokens``: bounded batches, a dry run, progress on a terminal."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from durin import crypto
from durin.models import AuthToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(user, web):
    now = timezone.now()

    def make(count, expiry):
        AuthToken.objects.bulk_create(
            AuthToken(
                digest=crypto.digest(crypto.generate_token(64)),
                user=user,
                client=web,
                created=now - timedelta(days=2),
                expiry=expiry,
            )
            for _ in range(count)
        )

    make(25, now - timedelta(hours=1))
    make(4, now + timedelta(hours=1))
    return now


def test_purge_deletes_only_expired_tokens_in_batches(tokens):
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("purge_expired_tokens", "--batch-size", "10", stdout=out)
    assert AuthToken.objects.count() == 4
    assert not AuthToken.objects.expired().exists()
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    token_deletes = [sql for sql in deletes if "durin_authtoken" in sql.split("WHERE")[0]]
    assert len(token_deletes) == 3
    assert len(deletes) == 6  # each batch's rotation history goes with it
    assert "Deleted 25 expired token(s)" in out.getvalue()
    assert "\r" not in out.getvalue()  # not a terminal: one summary line


def test_dry_run_deletes_nothing(tokens):
    out = StringIO()
    call_command("purge_expired_tokens", "--dry-run", stdout=out)
    assert out.getvalue().strip() == "25 expired token(s) would be deleted (dry run)."
    assert AuthToken.objects.count() == 29


def test_progress_bar_on_a_terminal(tokens):
    class Terminal(StringIO):
        def isatty(self):
            return True

    out = Terminal()
    call_command("purge_expired_tokens", "--batch-size", "10", stdout=out)
    text = out.getvalue()
    assert "\r[" in text and "25/25" in text and "10/25" in text


def test_nothing_to_purge(db):
    out = StringIO()
    call_command("purge_expired_tokens", stdout=out)
    assert "Deleted 0 expired token(s)" in out.getvalue()


def test_bad_batch_size(db):
    with pytest.raises(CommandError):
        call_command("purge_expired_tokens", "--batch-size", "0")


def test_memory_stays_flat_whatever_the_table_size(user, web):
    import tracemalloc

    past = timezone.now() - timedelta(hours=1)
    AuthToken.objects.bulk_create(
        (
            AuthToken(digest=f"{i:064x}", user=user, client=web, created=past, expiry=past)
            for i in range(20_000)
        ),
        batch_size=2_000,
    )
    from durin.services import purge_expired_tokens

    tracemalloc.start()
    try:
        assert purge_expired_tokens(batch_size=500) == 20_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 20,000 model instances would take well over 10 MB; one batch of 500 keys is tiny.
    assert peak < 1_500_000, peak
