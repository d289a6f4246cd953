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


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--throttle-rate", "lots"], "throttle_rate"),
        (["--token-ttl", "forever"], "token_ttl"),
        (["--session-limit", "0"], "session_limit"),
        (["--session-limit", "many"], "session_limit"),
    ],
)
def test_create_client_refuses_bad_values(args, field):
    with pytest.raises(CommandError, match=field):
        call_command("create_client", "bad", *args)
    assert not Client.objects.exists()


def test_create_client_refuses_duplicates():
    call_command("create_client", "web")
    with pytest.raises(CommandError, match="name"):
        call_command("create_client", "web")
