"""A second attacker's pass over issue 11 (CONTRACT §9) on the merged result: rotation with
reuse detection, ``logoutothers/``, ``reauthenticate/`` and ``RecentlyAuthenticated``, and
the §3/§5/§12 promises they touch.

Each test is one finding, a strict xfail until it was fixed. Its docstring says the attack and
the behaviour expected. The report of this pass (issue 11) says what else was tried and held.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.signals import user_logged_in
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from durin import services, views
from durin.auth import TokenAuthentication
from durin.models import AuthToken
from durin.permissions import RecentlyAuthenticated
from durin.signals import token_issued, token_revoked

from .conftest import PASSWORD, Received, auth_header
from .test_concurrency import repeatable_read_atomic_requests  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(api: APIClient, client: str = "web") -> str:
    body = {"username": "alice", "password": PASSWORD, "client": client}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


class StaffOrRecentlyAuthenticated(APIView):
    """Staff may act at any time; everyone else must have proved their password recently."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [RecentlyAuthenticated | IsAdminUser]

    def get(self, request):
        return Response({})


def test_attack1_recently_authenticated_can_be_combined_with_or(make_user, web):
    """DRF composes permissions with ``|``: ``A | B`` lets a request through when either
    allows it. ``RecentlyAuthenticated.has_permission`` raises its 401 instead of answering
    ``False``, so in ``RecentlyAuthenticated | IsAdminUser`` the exception leaves DRF's ``OR``
    before ``IsAdminUser`` is asked: a staff member whose token carries no recent
    authentication is refused (401) where the project said staff may always act. Expected: a
    request that the other operand allows gets through; the 401 challenge is for requests
    that no operand allows.
    """
    staff = make_user("root", is_staff=True)
    token = AuthToken.objects.create(staff, web)  # no password proved: never recent

    request = APIRequestFactory().get("/", **auth_header(token))
    response = StaffOrRecentlyAuthenticated.as_view()(request)

    assert response.status_code == 200, (response.status_code, response.data)


class FiveMinutesSudo(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [RecentlyAuthenticated]
    reauthentication_max_age = timedelta(minutes=5).total_seconds()  # 300.0, a float


def test_attack2_the_challenges_max_age_is_a_whole_number_of_seconds(user, web):
    """RFC 9470 §3: ``max_age`` "has to represent a non-negative integer". A view's
    ``reauthentication_max_age`` is not checked (only the setting is, ``durin.E003``), and a
    project naturally writes ``timedelta(minutes=5).total_seconds()``, a float: the challenge
    then says ``max_age=300.0``, which a client reading an integer (as RFC 9470 tells it to)
    cannot parse, so it cannot tell how recent its reauthentication must be. (A ``timedelta``
    there, like ``ROTATION_GRACE_PERIOD``'s type, is a 500 for every recently authenticated
    token; a negative or boolean one goes into the header as is.) Expected: the challenge
    carries whole seconds, ``max_age=300``.
    """
    token = AuthToken.objects.create(user, web)  # no authenticated_at: always challenged

    response = FiveMinutesSudo.as_view()(APIRequestFactory().get("/", **auth_header(token)))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].endswith(", max_age=300"), response["WWW-Authenticate"]


def test_attack3_a_login_retried_after_a_deadlock_signals_only_what_happened(user, web):
    """``LoginView`` runs issuing and the response in ``atomic_retrying``, which starts the
    whole transaction again after a deadlock or serialization failure. ``token_issued`` and
    ``token_revoked`` are sent as soon as ``issue_token`` and ``revoke_tokens`` return, still
    inside that transaction: when a later step of the same login fails to serialise (here a
    project's ``user_logged_in`` receiver hits the deadlock MariaDB reports as 1213), the first
    attempt is rolled back, yet its signals were already sent. Audit receivers (§5: signals
    "for an audit trail") get ``token_issued`` for a token id that never existed, and
    ``token_revoked`` (``session_limit``) twice for the same session; ``user_logged_in`` fires
    twice too. Expected: one ``token_issued``, for the token the login answered, and one
    ``token_revoked`` per session it ended.
    """
    earlier = AuthToken.objects.create(user, web)  # the login's session limit of 1 ends it
    deadlocked: list[int] = []

    def deadlocks_once(sender, **kwargs):
        if not deadlocked:
            deadlocked.append(1)
            raise OperationalError(1213, "Deadlock found when trying to get lock")

    user_logged_in.connect(deadlocks_once, weak=False)
    try:
        with Received(token_issued) as issued, Received(token_revoked) as revoked:
            log_in(APIClient())
    finally:
        user_logged_in.disconnect(deadlocks_once)

    assert deadlocked  # the first attempt was rolled back and retried
    assert [call["token_id"] for call in issued] == [AuthToken.objects.get().pk]
    assert [call["token_id"] for call in revoked] == [earlier.pk]


#: The failed login ``InterleavedFailedLogin`` makes while a login's transaction is open.
_interleaved: list[int] = []


class InterleavedFailedLogin(serializers.Serializer):
    """A ``USER_SERIALIZER`` that, the first time it runs, lets a failed login of the same
    account from the same address happen (in another connection) and commit, as a concurrent
    request would at that moment."""

    username = serializers.CharField()

    def to_representation(self, instance):
        if not _interleaved:
            _interleaved.append(0)
            thread = threading.Thread(target=self.fail_a_login)
            thread.start()
            thread.join(timeout=60)
        return super().to_representation(instance)

    @staticmethod
    def fail_a_login() -> None:
        try:
            body = {"username": "alice", "password": "wrong", "client": "web"}
            response = APIClient().post(reverse("durin_login"), body, format="json")
            _interleaved.append(response.status_code)
        finally:
            connection.close()


@pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="PostgreSQL's REPEATABLE READ refuses the refund's UPDATE; SQLite has no concurrent "
    "connection and MariaDB's UPDATE reads the latest row (attack3 covers every backend)",
)
@pytest.mark.usefixtures("repeatable_read_atomic_requests")
def test_attack4_a_failed_login_racing_a_login_under_repeatable_read_duplicates_signals(
    user, web, settings
):
    """The trigger of attack3 needs no project code under PostgreSQL's REPEATABLE READ (the
    isolation §12 names): a successful login gives its throttle reservation back from
    ``user_logged_in`` (``refund_on_login``), inside the login's transaction, by an UPDATE of
    the ``LoginFailureCount`` rows of its (address, account) and (address, folded name). Any
    failed login of the same account from the same network that commits while the login's
    transaction is open (a mistyped password on a second device, an attacker behind the same
    NAT) bumps those rows, so the refund is a serialization failure and the whole login runs
    again: ``token_issued`` for a token that never existed and ``token_revoked`` twice for the
    session its limit ended. Expected: as attack3, and ideally no retry at all (the refund
    made after the login's commit).
    """
    settings.REST_DURIN = {"USER_SERIALIZER": f"{__name__}.InterleavedFailedLogin"}
    _interleaved.clear()
    earlier = AuthToken.objects.create(user, web)

    with Received(token_issued) as issued, Received(token_revoked) as revoked:
        log_in(APIClient())

    assert _interleaved == [0, 400]  # the failed login did happen, and committed its count
    assert [call["token_id"] for call in issued] == [AuthToken.objects.get().pk]
    assert [call["token_id"] for call in revoked] == [earlier.pk]


def test_attack5_a_reauthentication_racing_a_rotation_reaches_the_cached_class(
    user, make_client, monkeypatch
):
    """``services.reauthenticate`` updates the session's ``authenticated_at`` and marks stale
    the cache entry of ``token.digest``: the digest the request was authenticated with. If the
    app's background refresh rotates the session while the password is being checked, and a
    request with the new token fills the cache meanwhile, that entry (under the new digest)
    keeps the old ``authenticated_at``: the user just got 200 from ``reauthenticate/``, and
    every ``RecentlyAuthenticated`` view behind ``CachedTokenAuthentication`` still answers
    401 "Recent authentication required." until ``TOKEN_CACHE_TIMEOUT`` passes (the client's
    natural reaction, reauthenticating again, counts toward nothing but may race again).
    Never a wrong pass, but §9's reauthentication does not reach every process at once.
    Expected: the cached class sees the reauthentication on the very next request, whichever
    token of the session presents it.
    """
    make_client("app", rotate_on_refresh=True, session_limit=None)
    api = APIClient()
    first = log_in(api, client="app")
    rotated: list[str] = []
    check_password_then = services.reauthenticate

    def rotation_meanwhile(token, now=None):
        refreshed = APIClient().post(reverse("durin_refresh"), **auth_header(first))
        rotated.append(refreshed.json()["token"])
        cached = APIClient().get(reverse("cached-whoami"), **auth_header(rotated[0]))
        assert cached.status_code == 200  # the new token's entry, read from the database
        return check_password_then(token, now)

    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        monkeypatch.setattr(views.services, "reauthenticate", rotation_meanwhile)
        response = api.post(
            reverse("durin_reauthenticate"),
            {"password": PASSWORD},
            format="json",
            **auth_header(first),
        )
        assert response.status_code == 200, response.content
        assert AuthToken.objects.get().authenticated_at == timezone.now()

        sudo = api.get(reverse("cached-sudo"), **auth_header(rotated[0]))

    assert sudo.status_code == 200, sudo.json()
