"""Whether django-rest-durin 1.x tokens can still be presented, known without a query per request.

A 1.x token has no checksum, so looking one up costs a query. That is paid only
where the upgrade found 1.x tokens: the tokens created before migration
``0005_hash_plaintext_tokens`` was applied are the 1.x ones (it hashed them; every
later token is durin's own), and ``django_migrations`` records when that was.

Each process asks the database once, on the first 1.x-shaped token it is shown,
for the latest expiry among the live 1.x tokens, and looks 1.x-shaped tokens up
until then. At that moment it asks once more (a renewal may have pushed a token's
expiry later) and stops for good when none is left. A fresh install, or a test
database built by ``migrate``, has none, so 1.x-shaped tokens are refused there
without a query after the first. Flushing tables between tests keeps
``django_migrations``, so the answer holds there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import router
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import OuterRef, Subquery

from .models import AuthToken

#: The migration that turned the 1.x plaintexts into digests.
HASHING_MIGRATION = ("durin", "0005_hash_plaintext_tokens")

#: How long a process refuses 1.x tokens before asking again, while that migration is not
#: recorded yet (a process started before ``migrate`` ran).
UNMIGRATED_RECHECK = timedelta(minutes=1)


@dataclass(frozen=True)
class Answer:
    """What the database said: whether to look 1.x tokens up, and until when to believe it."""

    accept: bool
    #: When to ask again; ``None``: never (no 1.x token is left, none can come back).
    until: datetime | None


class _Memo:
    """This process's answer, replaced as a whole so that threads never see half of one."""

    answer: Answer | None = None


_memo = _Memo()


def accepts_legacy_tokens(now: datetime) -> bool:
    """Whether a 1.x-shaped token is worth a lookup at ``now``; a query at most now and then."""
    answer = _memo.answer
    if answer is None or (answer.until is not None and now >= answer.until):
        answer = _memo.answer = ask_database(now)
    return answer.accept and (answer.until is None or now < answer.until)


def ask_database(now: datetime) -> Answer:
    """One query: when 0005 was applied, and the latest expiry of the live tokens older than it."""
    latest_legacy_expiry = (
        AuthToken.objects.filter(created__lte=OuterRef("applied"), expiry__gt=now)
        .order_by("-expiry")
        .values("expiry")[:1]
    )
    app, name = HASHING_MIGRATION
    rows = list(
        MigrationRecorder.Migration.objects.using(router.db_for_read(AuthToken))
        .filter(app=app, name=name)
        .annotate(until=Subquery(latest_legacy_expiry))
        .values_list("until", flat=True)[:1]
    )
    if not rows:
        return Answer(accept=False, until=now + UNMIGRATED_RECHECK)
    if rows[0] is None:
        return Answer(accept=False, until=None)
    return Answer(accept=True, until=rows[0])


def forget() -> None:
    """Drop this process's answer; the next 1.x-shaped token asks again (for tests)."""
    _memo.answer = None
