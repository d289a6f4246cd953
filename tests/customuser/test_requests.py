"""CONTRACT §3 through real requests under a custom user model, a read router and
``USE_TZ`` either way (``tests/custom_settings.py``), for both authentication classes.

What a request is served from is the point: the database (``TokenAuthentication``, or a
cache miss of ``CachedTokenAuthentication``), or a cache hit. Each must hand the view what
the ORM returns for the same row, read from the alias the router chose.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db.models import Model
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from durin.models import AuthToken
from durin.signals import token_expired
from tests.conftest import Received

from .conftest import EMAIL, log_in
from .models import User

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

CLASSES = ["db", "cached"]
RELATED = ["user", "client", "user__organisation"]


def loaded_fields(instance: Model) -> dict[str, tuple[type, Any, Any]]:
    """Each loaded field's value with its type and, for a datetime, its UTC offset (``None``
    when naive): two instances agree only if they hold what the ORM would return."""
    deferred = instance.get_deferred_fields()
    described = {}
    for field in instance._meta.concrete_fields:
        if field.attname not in deferred:
            value = getattr(instance, field.attname)
            offset = value.utcoffset() if isinstance(value, datetime) else None
            described[field.attname] = (type(value), value, offset)
    return described


def assert_as_the_orm_reads_it(request: Any, *, hit: bool) -> None:
    """``request.auth`` and its user and client hold what the ORM reads for that row, from
    the same alias, as saved rows; on a cache hit the user comes without its password hash."""
    token = request.auth
    orm = AuthToken.objects.select_related(*RELATED).get(pk=token.pk)
    assert request.user is token.user
    pairs = [(token, orm), (token.user, orm.user), (token.client, orm.client)]
    if User.organisation.is_cached(token.user):
        pairs.append((token.user.organisation, orm.user.organisation))
    else:
        assert hit, "the token query joins the organisation"
    for served, read in pairs:
        deferred = served.get_deferred_fields()
        expected = {
            name: value for name, value in loaded_fields(read).items() if name not in deferred
        }
        assert loaded_fields(served) == expected
        assert served._state.db == read._state.db == "replica"
        assert served._state.adding is read._state.adding is False
    assert token.user.get_deferred_fields() == ({"password"} if hit else set())
    for moment in (token.created, token.expiry):
        assert (moment.tzinfo is not None) is settings.USE_TZ


def at(moment: datetime) -> Any:
    """Travel to ``moment``; naive under ``USE_TZ = False``, so in ``TIME_ZONE``."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return time_machine.travel(moment, tick=False)


@pytest.mark.parametrize("cls", CLASSES)
def test_login_by_email_then_requests_see_what_the_orm_sees(api, member, web, queries, cls):
    with queries(replica=0):  # the client, by name, is read on the primary, as all issuing
        token = log_in(api)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # The first request reads the database, whichever the class: the organisation is joined.
    with queries(replica=1, default=0):
        response = api.get(f"/{cls}/organisation/")
    assert response.json() == {"name": "Analytical Engines", "database": "replica"}
    assert_as_the_orm_reads_it(response.wsgi_request, hit=False)

    hit = cls == "cached"
    with queries(replica=0 if hit else 1, default=0):
        response = api.get(f"/{cls}/whoami/")
    assert response.status_code == 200
    orm = AuthToken.objects.get(pk=response.wsgi_request.auth.pk)
    body = response.json()
    email_at_init = body.pop("email_at_init")
    assert body == {
        "pk": str(member.pk),
        "email": EMAIL,
        "client": "web",
        "created": orm.created.isoformat(),
        "expiry": orm.expiry.isoformat(),
        "databases": ["replica"] * 3,
    }
    # The user model has a post_init receiver: a cache hit builds it with from_db too, so
    # the receiver runs as on the database path (README, "What a request costs").
    assert email_at_init == EMAIL
    assert_as_the_orm_reads_it(response.wsgi_request, hit=hit)

    # One query either way: the token's, organisation joined, or on a cache hit (whose
    # entry holds the token, user and client only) the organisation's, read from the alias
    # the cached user came from.
    with queries(replica=1, default=0):
        response = api.get(f"/{cls}/organisation/")
    assert response.json() == {"name": "Analytical Engines", "database": "replica"}


@pytest.mark.parametrize("cls", CLASSES)
def test_last_used_is_written_once_per_interval(api, member, web, queries, cls):
    token = log_in(api)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    issued = AuthToken.objects.get()
    with at(issued.last_used + timedelta(seconds=61)):
        with queries(replica=1, default=1):  # a cache miss too: login caches nothing
            assert api.get(f"/{cls}/whoami/").status_code == 200
        assert AuthToken.objects.get().last_used == timezone.now()
        with queries(replica=0 if cls == "cached" else 1, default=0):
            assert api.get(f"/{cls}/whoami/").status_code == 200


def deactivate(api: Any, token: AuthToken) -> None:
    token.user.is_active = False
    token.user.save()


def deactivate_keeping_tokens(api: Any, token: AuthToken) -> None:
    """So that the next request meets the inactive user, not a revoked token."""
    keep = {**settings.REST_DURIN, "REVOKE_TOKENS_ON_DEACTIVATION": False}
    with override_settings(REST_DURIN=keep):
        deactivate(api, token)


def change_password(api: Any, token: AuthToken) -> None:
    token.user.set_password("a new passphrase")
    token.user.save()


def log_out(api: Any, token: AuthToken) -> None:
    assert api.post(reverse("durin_logout")).status_code == 204


def delete(api: Any, token: AuthToken) -> None:  # the admin, a shell
    token.delete()


def expire(api: Any, token: AuthToken) -> None:  # the request travels to its expiry
    pass


#: What happens to a token that has served requests; the next request's 401 detail, and the
#: queries it makes on the replica and on the default alias, for each class. A token that is
#: gone from the replica is read again on the primary, then its rotation history is read there
#: (CONTRACT §9, §11). The cached class finds the revocation's stale marker and reads the
#: primary only, where a lagging replica cannot answer for it.
REFUSALS = {
    # The read; the read again on the primary (a replica may lag behind a sliding
    # extension), the deletion (its rotation history with it).
    "expired": (expire, "The given token has expired.", {"db": (1, 6), "cached": (1, 6)}),
    "inactive": (
        deactivate_keeping_tokens,
        "User inactive or deleted.",
        {"db": (1, 0), "cached": (0, 1)},
    ),
    "logged out": (log_out, "Invalid token.", {"db": (1, 2), "cached": (0, 2)}),
    "deleted": (delete, "Invalid token.", {"db": (1, 2), "cached": (0, 2)}),
    "password changed": (change_password, "Invalid token.", {"db": (1, 2), "cached": (0, 2)}),
    "deactivated": (deactivate, "Invalid token.", {"db": (1, 2), "cached": (0, 2)}),
}


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_take_effect_on_the_next_request(api, member, web, queries, cls, case):
    """The cached class serves the token from the cache first: the refusal is at once."""
    change, detail, counts = REFUSALS[case]
    replica, default = counts[cls]
    api.credentials(HTTP_AUTHORIZATION=f"Token {log_in(api)}")
    for _ in range(2):  # for the cached class, a miss then a hit
        assert api.get(f"/{cls}/whoami/").status_code == 200
    token = AuthToken.objects.select_related("user").get()
    change(api, token)
    moment = token.expiry if change is expire else timezone.now()
    with (
        at(moment),
        Received(token_expired) as expired,
        queries(replica=replica, default=default),
    ):
        response = api.get(f"/{cls}/whoami/")
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert AuthToken.objects.exists() is (change is deactivate_keeping_tokens)
    assert [call["username"] for call in expired] == ([EMAIL] if change is expire else [])
