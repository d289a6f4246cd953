"""The ``create_client`` command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from durin.models import Client

pytestmark = pytest.mark.django_db


def test_create_client_with_1x_arguments():
    out = StringIO()
    call_command(
        "create_client", "web", "--token-ttl", "2 00:00:00", "--throttle-rate", "100/h", stdout=out
    )
    client = Client.objects.get(name="web")
    assert (client.token_ttl, client.throttle_rate) == (timedelta(days=2), "100/h")
    assert "Client web created!" in out.getvalue()


def test_create_client_with_new_arguments():
    call_command(
        "create_client",
        "mobile",
        "--session-limit",
        "3",
        "--refuse-at-limit",
        "--auto-refresh",
        "--max-token-lifetime",
        "90 00:00:00",
    )
    client = Client.objects.get(name="mobile")
    assert client.session_limit == 3
    assert client.session_limit_action == "refuse"
    assert client.auto_refresh is True
    assert client.max_token_lifetime == timedelta(days=90)
    call_command("create_client", "cli", "--session-limit", "none")
    assert Client.objects.get(name="cli").session_limit is None


def test_create_client_defaults():
    call_command("create_client", "plain")
    client = Client.objects.get(name="plain")
    assert (client.token_ttl, client.session_limit) == (timedelta(days=1), 1)
    assert (client.auto_refresh, client.rotate_on_refresh) == (False, False)


def test_rotate_on_refresh_is_set_and_turned_off_again(user, api):
    """A client made with ``--rotate-on-refresh`` answers refresh with a new token; after
    ``--update --no-rotate-on-refresh`` refresh answers an expiry only, as in 1.x."""
    from django.urls import reverse

    from durin.models import AuthToken

    call_command("create_client", "mobile", "--rotate-on-refresh")
    assert fields("mobile")["rotate_on_refresh"] is True
    token = AuthToken.objects.create(user, Client.objects.get(name="mobile"))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.token}")
    rotated = api.post(reverse("durin_refresh")).json()
    assert set(rotated) == {"token", "expiry"}

    before = fields("mobile")
    assert "Client mobile updated!" in update("mobile", "--no-rotate-on-refresh")
    assert fields("mobile") == {**before, "rotate_on_refresh": False}
    api.credentials(HTTP_AUTHORIZATION=f"Token {rotated['token']}")
    assert set(api.post(reverse("durin_refresh")).json()) == {"expiry"}
    update("mobile", "--rotate-on-refresh")
    assert fields("mobile") == before


#: Option values the model refuses, whether a client is created or updated with them.
BAD_VALUES = [
    (["--token-ttl", "-1 00:00:00"], "token_ttl"),
    (["--token-ttl", "00:00:00"], "token_ttl"),
    (["--token-ttl", "00:00:00.5"], "token_ttl"),
    (["--token-ttl", "36501 00:00:00"], "token_ttl"),
    (["--token-ttl", "soon"], "token_ttl"),
    (["--throttle-rate", "lots"], "throttle_rate"),
    (["--throttle-rate", "10/fortnight"], "throttle_rate"),
    (["--session-limit", "0"], "session_limit"),
    (["--session-limit", "-2"], "session_limit"),
    (["--session-limit", "many"], "session_limit"),
    (["--max-token-lifetime", "-5 00:00:00"], "max_token_lifetime"),
    (["--max-token-lifetime", "00:00:00.5"], "max_token_lifetime"),
]


@pytest.mark.parametrize(("args", "field"), BAD_VALUES)
def test_create_client_refuses_bad_values(args, field):
    with pytest.raises(CommandError, match=f"Can't create client!\n{field}: "):
        call_command("create_client", "bad", *args)
    assert not Client.objects.exists()


def test_create_client_refuses_duplicates():
    call_command("create_client", "web")
    with pytest.raises(CommandError, match="name"):
        call_command("create_client", "web")


# --- create_client NAME --update ------------------------------------------------------------


def update(*args: str) -> str:
    out = StringIO()
    call_command("create_client", *args, "--update", stdout=out)
    return out.getvalue()


def fields(name: str) -> dict:
    return Client.objects.filter(name=name).values().get()


def test_update_changes_only_the_options_given():
    call_command(
        "create_client",
        "web",
        "--token-ttl",
        "2 00:00:00",
        "--throttle-rate",
        "100/h",
        "--session-limit",
        "3",
        "--refuse-at-limit",
        "--auto-refresh",
        "--rotate-on-refresh",
        "--max-token-lifetime",
        "90 00:00:00",
    )
    before = fields("web")
    assert "Client web updated!" in update("web", "--token-ttl", "7 00:00:00")
    assert fields("web") == {**before, "token_ttl": timedelta(days=7)}

    assert before["rotate_on_refresh"] is True
    update(
        "web",
        "--session-limit",
        "none",
        "--no-refuse-at-limit",
        "--no-auto-refresh",
        "--no-rotate-on-refresh",
    )
    assert fields("web") == {
        **before,
        "token_ttl": timedelta(days=7),
        "session_limit": None,
        "session_limit_action": "revoke_oldest",
        "auto_refresh": False,
        "rotate_on_refresh": False,
    }
    update("web", "--throttle-rate", "", "--max-token-lifetime", "none", "--refuse-at-limit")
    after = fields("web")
    assert (after["throttle_rate"], after["max_token_lifetime"]) == ("", None)
    assert after["session_limit_action"] == "refuse" and after["token_ttl"] == timedelta(days=7)
    assert Client.objects.count() == 1


def test_update_of_a_missing_client_fails_and_creates_nothing():
    with pytest.raises(CommandError, match="no client has that name"):
        update("ghost", "--token-ttl", "1 00:00:00")
    assert not Client.objects.exists()


def test_update_names_the_client_exactly():
    """MariaDB compares names case-insensitively; ``--update WEB`` must not change ``web``."""
    call_command("create_client", "web")
    for near in ["WEB", "web ", "we"]:
        with pytest.raises(CommandError, match="no client has that name"):
            update(near, "--token-ttl", "9 00:00:00")
    assert fields("web")["token_ttl"] == timedelta(days=1)


def test_update_with_nothing_to_change_is_refused():
    call_command("create_client", "web")
    with pytest.raises(CommandError, match="Nothing to update"):
        update("web")


@pytest.mark.parametrize(("args", "field"), BAD_VALUES)
def test_update_refuses_bad_values_and_changes_nothing(args, field):
    call_command("create_client", "web", "--throttle-rate", "5/m")
    before = fields("web")
    with pytest.raises(CommandError, match=f"Can't update client 'web'!\n{field}: "):
        update("web", *args)
    assert fields("web") == before


def test_create_refuses_a_non_positive_ttl():
    for ttl in ["-1 00:00:00", "0"]:
        with pytest.raises(CommandError, match="token_ttl: The duration must be positive"):
            call_command("create_client", "web", "--token-ttl", ttl)
    assert not Client.objects.exists()


def test_an_existing_name_without_update_still_fails_and_changes_nothing():
    call_command("create_client", "web", "--token-ttl", "2 00:00:00")
    with pytest.raises(CommandError, match="name: client with this name already exists") as e:
        call_command("create_client", "web", "--token-ttl", "9 00:00:00")
    assert "To change client 'web', run: create_client web --update ..." in str(e.value)
    assert fields("web")["token_ttl"] == timedelta(days=2)


def test_a_1x_zero_ttl_client_is_mended_with_update():
    """1.1.0's create_client stored a zero lifetime; the system check says to run this."""
    call_command("create_client", "legacy")
    Client.objects.filter(name="legacy").update(token_ttl=timedelta(0))
    # Changing something else first says what is wrong with the row as it stands.
    with pytest.raises(CommandError, match="token_ttl: The duration must be positive"):
        update("legacy", "--session-limit", "none")
    assert fields("legacy")["session_limit"] == 1
    update("legacy", "--token-ttl", "30 00:00:00", "--session-limit", "none")
    assert (fields("legacy")["token_ttl"], fields("legacy")["session_limit"]) == (
        timedelta(days=30),
        None,
    )


def test_update_is_seen_at_once_by_cached_authentication(user, django_capture_on_commit_callbacks):
    """Cached tokens carry their client's fields; an update must not wait for them to expire."""
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from durin.auth import CachedTokenAuthentication
    from durin.models import AuthToken

    call_command("create_client", "web", "--throttle-rate", "5/m")
    token = AuthToken.objects.create(user, Client.objects.get(name="web"))
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.token}")

    def client_seen() -> Client:
        return CachedTokenAuthentication().authenticate(Request(request))[1].client

    assert client_seen().throttle_rate == "5/m"  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        update("web", "--throttle-rate", "50/m")
    assert client_seen().throttle_rate == "50/m"


@pytest.mark.parametrize("update", [[], ["--update", "--token-ttl", "1 00:00:00"]])
def test_a_name_no_database_can_store_is_refused(update):
    for name in ["we\udcffb", "we\x00b"]:  # undecodable bytes in argv; a NUL
        with pytest.raises(CommandError, match="not a name a database can store"):
            call_command("create_client", name, *update)
    assert not Client.objects.exists()
