"""An attacker's pass over issue 11 (CONTRACT §9) as first built: rotation with reuse
detection, ``logoutothers/``, ``reauthenticate/`` and ``RecentlyAuthenticated``.

Each test is one finding; each failed when it was written (a strict xfail) and passes since
its fix. The closing note of issue 11 says what else was tried and held.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from durin import services
from durin.models import AuthToken, Client, SupersededToken

from .conftest import PASSWORD, auth_header

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(api: APIClient, username: str = "alice", client: str = "web") -> str:
    body = {"username": username, "password": PASSWORD, "client": client}
    response = api.post(reverse("durin_login"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def reauthenticate(api: APIClient, token: str, password: str = PASSWORD):
    return api.post(
        reverse("durin_reauthenticate"), {"password": password}, format="json", **auth_header(token)
    )


def test_attack1_anyone_on_the_network_can_lock_everyones_reauthentication(
    make_user, web, settings
):
    """``reauthenticate/`` builds its ``LoginThrottle`` with no username, so besides the
    (network, account) count it shares with the login (§12), every attempt also counts
    under (network, folded name ``""``): one count for every user behind the same address
    (an office NAT, an IPv6 /64). An anonymous attacker there fills it with
    ``LOGIN_THROTTLE_RATE`` login attempts that leave out the username (no account, no
    password needed); another user's failed reauthentications fill it the same way. From
    then on every user of that network gets 429 from ``reauthenticate/`` with the right
    password, so no one there can pass ``RecentlyAuthenticated`` (nor, later, create an API
    key, §12). Expected: only the caller's own account (and network) is counted, as a login
    for that account would be; a stranger's attempts never throttle it.
    """
    settings.REST_DURIN = {"LOGIN_THROTTLE_RATE": "3/m"}
    make_user("alice")
    make_user("bob")
    api = APIClient()
    alice = log_in(api)
    log_in(api, username="bob")  # another user of the same network
    attacker = APIClient()
    for _ in range(3):  # no username: nothing to check, but counted under the empty name
        answer = attacker.post(reverse("durin_login"), {"password": "x", "client": "web"})
        assert answer.status_code == 400

    response = reauthenticate(api, alice)

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"authenticated_at"}


def test_attack2_a_session_rotated_again_and_again_keeps_a_bounded_history(
    user, make_client, settings
):
    """Every rotation adds a ``SupersededToken`` row, kept as long as the session lives; a
    session with no ``max_token_lifetime`` (the default) lives as long as it keeps
    refreshing. One client looping on ``refresh/`` (a bug, or anyone holding a token) grows
    the table by a row per request, without bound, where §12 bounds everything a user can
    hold (``MAX_TOKENS_PER_USER_CLIENT`` tokens of a client). Expected: the history of one
    session stays bounded (here by ``MAX_TOKENS_PER_USER_CLIENT``; the exact bound is the
    lead's choice), while the most recently replaced tokens still reveal reuse.
    """
    settings.REST_DURIN = {"MAX_TOKENS_PER_USER_CLIENT": 5}
    client = make_client("app", rotate_on_refresh=True, session_limit=None)
    session = AuthToken.objects.create(user, client)
    tokens = [session.token]
    for _ in range(30):
        session = services.rotate_token(session)
        tokens.append(session.token)

    assert SupersededToken.objects.filter(session_id=session.pk).count() == 5
    api = APIClient()
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        # Forgotten: the first token is no longer known, so it is merely refused...
        assert api.get(reverse("whoami"), **auth_header(tokens[0])).status_code == 401
        assert api.get(reverse("whoami"), **auth_header(tokens[-1])).status_code == 200
        # ...while the last replaced ones still reveal reuse.
        assert api.get(reverse("whoami"), **auth_header(tokens[-2])).status_code == 401
        assert not AuthToken.objects.exists()


def test_attack3_the_session_list_shows_authenticated_at(api, user, web):
    """§9: "The session list shows ``authenticated_at``." ``TokenSessionsSerializer`` was not
    given the field, so a user cannot see which sessions proved the password recently (and
    ``test_rotation`` only compares it ``if`` present). Expected: each session in
    ``sessions/`` carries ``authenticated_at`` (the login's time; ``None`` for a token issued
    without a password).
    """
    token = log_in(api)
    AuthToken.objects.create(user, Client.objects.create(name="cli", session_limit=None))

    sessions = api.get(reverse("durin_tokensessions-list"), **auth_header(token)).json()

    assert all("authenticated_at" in session for session in sessions), sessions
    current = next(s for s in sessions if s["is_current"])
    other = next(s for s in sessions if not s["is_current"])
    assert current["authenticated_at"] is not None
    assert other["authenticated_at"] is None


def test_attack4_create_client_can_turn_rotation_on_and_off():
    """§9 names ``create_client --rotate-on-refresh``; the command (and ``ClientSerializer``,
    which ``--update`` goes through) never learnt it, so rotation can be turned on only in
    the admin or a shell. Expected: ``--rotate-on-refresh`` creates a rotating client, and
    ``--update --no-rotate-on-refresh`` turns it off again.
    """
    call_command("create_client", "app", "--rotate-on-refresh")
    assert Client.objects.get(name="app").rotate_on_refresh is True
    call_command("create_client", "app", "--update", "--no-rotate-on-refresh")
    assert Client.objects.get(name="app").rotate_on_refresh is False
