"""How each contender issues a token and fills its token table.

Imported inside that contender's virtual environment, after ``django.setup()``;
each class only touches its own package. Filler rows are written with
``bulk_create`` and random values: they only have to occupy the table and its
indexes the way real tokens would, nobody presents them.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.utils import timezone


class Floor:
    """No authentication: no token, no header."""

    scheme = None
    has_table = False
    per_user = False

    def issue(self, user):
        return None

    def add_user_tokens(self, user, count):
        """Give ``user`` ``count`` more tokens; returns a callable that takes them away again."""
        raise NotImplementedError

    def fill(self, user_ids):
        pass


class DRFToken(Floor):
    scheme = "Token"
    has_table = True  # one token per user: a user cannot hold 50

    def issue(self, user):
        from rest_framework.authtoken.models import Token

        return Token.objects.create(user=user).key

    def fill(self, user_ids):
        from rest_framework.authtoken.models import Token

        rows = [Token(key=secrets.token_hex(20), user_id=pk) for pk in user_ids]
        Token.objects.bulk_create(rows, batch_size=5000)


class Knox(Floor):
    scheme = "Token"
    has_table = True
    per_user = True

    def issue(self, user):
        from knox.models import get_token_model

        return get_token_model().objects.create(user)[1]

    def add_user_tokens(self, user, count):
        from knox.models import get_token_model

        made = [get_token_model().objects.create(user)[0].pk for _ in range(count)]
        return get_token_model().objects.filter(pk__in=made).delete

    def fill(self, user_ids):
        from knox.models import get_token_model
        from knox.settings import CONSTANTS

        model = get_token_model()
        expiry = timezone.now() + timedelta(days=1)
        rows = [
            model(
                token_key=secrets.token_hex(8)[: CONSTANTS.TOKEN_KEY_LENGTH],
                digest=secrets.token_hex(64),
                user_id=pk,
                expiry=expiry,
            )
            for pk in user_ids
        ]
        model.objects.bulk_create(rows, batch_size=5000)


class Durin1(Floor):
    """django-rest-durin 1.1.0: one token per (user, client), so 50 tokens need 50 clients."""

    scheme = "Token"
    has_table = True
    per_user = True

    def client(self, name="bench"):
        from durin.models import Client

        return Client.objects.get_or_create(name=name)[0]

    def issue(self, user):
        from durin.models import AuthToken

        return AuthToken.objects.create(user, self.client()).token

    def add_user_tokens(self, user, count):
        from durin.models import AuthToken

        made = [AuthToken.objects.create(user, self.client(f"extra-{i}")).pk for i in range(count)]
        return AuthToken.objects.filter(pk__in=made).delete

    def fill(self, user_ids):
        from durin.models import AuthToken

        client, expiry = self.client(), timezone.now() + timedelta(days=1)
        rows = [
            AuthToken(token=secrets.token_hex(32), user_id=pk, client=client, expiry=expiry)
            for pk in user_ids
        ]
        AuthToken.objects.bulk_create(rows, batch_size=5000)


class Durin(Floor):
    """durin from this repository: one client without a session limit."""

    scheme = "Token"
    has_table = True
    per_user = True

    def client(self):
        from durin.models import Client

        return Client.objects.get_or_create(name="bench", defaults={"session_limit": None})[0]

    def issue(self, user):
        from durin.models import AuthToken

        return AuthToken.objects.create(user, self.client()).token

    def add_user_tokens(self, user, count):
        from durin.models import AuthToken

        made = [AuthToken.objects.create(user, self.client()).pk for _ in range(count)]
        return AuthToken.objects.filter(pk__in=made).delete

    def fill(self, user_ids):
        from durin.models import AuthToken

        client, now = self.client(), timezone.now()
        rows = [
            AuthToken(
                digest=secrets.token_hex(32),
                user_id=pk,
                client=client,
                created=now,
                expiry=now + timedelta(days=1),
                last_used=now,
            )
            for pk in user_ids
        ]
        AuthToken.objects.bulk_create(rows, batch_size=5000)


class SimpleJWT(Floor):
    """No token table: the 100,000 rows are users, the table JWTAuthentication reads."""

    scheme = "Bearer"

    def issue(self, user):
        from rest_framework_simplejwt.tokens import AccessToken

        return str(AccessToken.for_user(user))


CONTENDERS = {
    "floor": Floor,
    "drf_token": DRFToken,
    "knox": Knox,
    "durin1": Durin1,
    "durin1_cached": Durin1,
    "simplejwt": SimpleJWT,
    "simplejwt_stateless": SimpleJWT,
    "durin": Durin,
    "durin_cached": Durin,
}
