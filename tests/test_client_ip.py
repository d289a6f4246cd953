"""The client address behind proxies, and the network the login throttle counts (CONTRACT §12)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from durin.client_ip import client_ip, client_network
from durin.models import AuthToken

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(api, password="wrong", **meta):
    body = {"username": "alice", "password": password, "client": "web"}
    return api.post(reverse("durin_login"), body, format="json", **meta)


def request(**meta):
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("forwarded", "address"),
    [
        ("203.0.113.5:5678", "203.0.113.5"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ('"[2001:db8::1]:443"', "2001:db8::1"),
        ("198.51.100.9, 203.0.113.5:80", "203.0.113.5"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_forwarded_entries_with_a_port_are_read(settings, forwarded, address):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": 1}
    assert client_ip(request(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)) == address


@pytest.mark.parametrize(
    "forwarded", ["203.0.113.5:", "203.0.113.5:port", "[2001:db8::1]x", "[2001:db8::1", "unknown"]
)
def test_unreadable_entries_fall_back_to_the_peer(settings, forwarded):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": 1}
    assert client_ip(request(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)) == "10.0.0.1"


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:0:1:aaaa:bbbb:cccc:dddd", "2001:db8:0:1::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
    ],
)
def test_the_network_counted_is_the_ipv4_address_or_the_ipv6_slash_64(address, network):
    assert client_network(request(REMOTE_ADDR=address)) == network


@pytest.mark.parametrize("port_of", [lambda ip: f"{ip}:5678", lambda ip: f"[{ip}]:443"])
def test_a_port_in_x_forwarded_for_does_not_lock_out_everyone_behind_the_proxy(
    api, user, web, settings, port_of
):
    settings.REST_DURIN = {"NUM_TRUSTED_PROXIES": 1}
    attacker, victim = ("203.0.113.5", "203.0.113.6")
    if "[" in port_of("x"):
        attacker, victim = ("2001:db8:1::5", "2001:db8:2::6")
    for _ in range(10):
        assert (
            login(api, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=port_of(attacker)).status_code
            == 400
        )
    assert (
        login(
            api, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=port_of(attacker)
        ).status_code
        == 429
    )
    victim_login = login(
        api, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=port_of(victim)
    )
    assert victim_login.status_code == 200
    assert AuthToken.objects.get().ip_address == victim


def test_ipv6_clients_are_counted_per_slash_64(api, user, web):
    for n in range(1, 11):  # a new address in the attacker's /64 for every guess
        assert login(api, REMOTE_ADDR=f"2001:db8:0:1::{n:x}").status_code == 400
    assert login(api, PASSWORD, REMOTE_ADDR="2001:db8:0:1:ffff::1").status_code == 429
    neighbour = login(api, PASSWORD, REMOTE_ADDR="2001:db8:0:2::1")
    assert neighbour.status_code == 200
    # The session keeps the full address, not the network.
    assert AuthToken.objects.get().ip_address == "2001:db8:0:2::1"
