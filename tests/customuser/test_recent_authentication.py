"""Recent authentication (CONTRACT §9) under a custom user model (UUID key, the e-mail as
its name), a router reading durin's models from another alias, and ``USE_TZ`` either way."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from durin.models import AuthToken

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.mark.parametrize("prefix", ["db", "cached"])
def test_reauthenticate_renews_the_proof(api, member, web, prefix):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = log_in(api)
        header = {"HTTP_AUTHORIZATION": f"Token {token}"}
        assert api.get(f"/{prefix}/sudo/", **header).status_code == 200
        clock.shift(301)
        refused = api.get(f"/{prefix}/sudo/", **header)
        assert refused.status_code == 401
        assert 'error="insufficient_user_authentication"' in refused["WWW-Authenticate"]
        wrong = api.post(reverse("durin_reauthenticate"), {"password": "nope"}, **header)
        assert wrong.status_code == 400
        response = api.post(reverse("durin_reauthenticate"), {"password": PASSWORD}, **header)
        assert response.status_code == 200, response.content
        assert AuthToken.objects.get(user=member).authenticated_at == timezone.now()
        assert api.get(f"/{prefix}/sudo/", **header).status_code == 200
