"""Attack (§12 "Bounded ... never a 500"): ``bounded_duration`` caps a stored duration from above
only; a Client row written around validation with a huge *negative* token_ttl or
max_token_lifetime makes every login (and every use) an OverflowError."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from durin.models import Client

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(api):
    body = {"username": "alice", "password": PASSWORD, "client": "web"}
    return api.post(reverse("durin_login"), body, format="json")


@pytest.mark.parametrize("field", ["token_ttl", "max_token_lifetime"])
def test_attack2_negative_huge_lifetime_saved_around_validation_is_a_500(user, field):
    Client.objects.create(name="web", **{field: timedelta(days=-900_000)})
    response = login(APIClient(raise_request_exception=False))
    assert response.status_code != 500

