"""System checks: each id is raised when it should be, and only then."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from durin.checks import check_api_access_client, check_settings


def ids(messages):
    return [m.id for m in messages]


def test_default_settings_are_clean():
    assert check_settings() == []


def test_e001_too_little_randomness():
    with override_settings(REST_DURIN={"TOKEN_CHARACTER_LENGTH": 30}):
        assert ids(check_settings()) == ["durin.E001"]
    with override_settings(REST_DURIN={"TOKEN_PREFIX": "has-dash"}):
        assert ids(check_settings()) == ["durin.E001"]


def test_w001_include_token_setting():
    with override_settings(REST_DURIN={"API_ACCESS_RESPONSE_INCLUDE_TOKEN": True}):
        messages = check_settings()
    assert ids(messages) == ["durin.W001"] and messages[0].hint


@pytest.mark.django_db
def test_w002_missing_api_access_client(make_client):
    with override_settings(REST_DURIN={"API_ACCESS_CLIENT_NAME": "api"}):
        assert ids(check_api_access_client(databases=["default"])) == ["durin.W002"]
        assert check_api_access_client(databases=None) == []  # plain `check`: no query
        make_client("api")
        assert check_api_access_client(databases=["default"]) == []


def test_checks_are_registered(capsys):
    with override_settings(REST_DURIN={"API_ACCESS_RESPONSE_INCLUDE_TOKEN": True}):
        call_command("check")
    assert "durin.W001" in capsys.readouterr().err
