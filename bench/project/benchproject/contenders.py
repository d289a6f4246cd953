"""How each contender issues a token and fills its token table.

Imported inside that contender's virtual environment, after ``django.setup()``;
each class only touches its own package. Filler rows are written in SQL with
random keys: they only have to occupy the table and its indexes the way real
tokens would, nobody presents them.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def random_hex(vendor: str, length: int) -> str:
    """An SQL expression for ``length`` random hex digits, evaluated once per row."""
    if vendor == "sqlite":
        return f"substr(lower(hex(randomblob({(length + 1) // 2}))), 1, {length})"
    md5s = " || ".join(["md5(random()::text)"] * (length // 32 + 1))
    return f"substr({md5s}, 1, {length})"


def fill_rows(model, hex_lengths: dict[str, int], **values) -> None:
    """One row of ``model`` per filler user, in one ``INSERT ... SELECT``.

    ``bulk_create`` of 100,000 instances took ~20 s per contender on this VM; this
    takes about a second. The user foreign key points at each filler user;
    ``hex_lengths`` names the key/digest fields that get random hex; ``values``
    gives other fields; any other field takes its default, ``created`` now, or NULL.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection

    users, quote = get_user_model()._meta, connection.ops.quote_name
    now = timezone.now()
    columns, exprs, params = [], [], []
    for field in model._meta.concrete_fields:
        auto_now = getattr(field, "auto_now_add", False)
        if field.db_returning:
            continue  # the auto-increment id
        if field.is_relation and field.related_model is get_user_model():
            expr = f"u.{quote(users.pk.column)}"
        elif field.name in hex_lengths:
            expr = random_hex(connection.vendor, hex_lengths[field.name])
        elif field.name in values or auto_now or field.has_default():
            if field.name in values:
                value = values[field.name]
            else:
                value = now if auto_now else field.get_default()
            expr = "%s"
            params.append(field.get_db_prep_save(value, connection))
        elif field.null:
            continue
        else:
            raise ValueError(f"{model.__name__}.{field.name}: no value for the filler rows")
        columns.append(quote(field.column))
        exprs.append(expr)
    username = quote(users.get_field(get_user_model().USERNAME_FIELD).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
            f"SELECT {', '.join(exprs)} FROM {quote(users.db_table)} u "
            f"WHERE u.{username} LIKE 'filler%%'",
            params,
        )


#: A counter ``n(i)`` from 1 to its one parameter, for an ``INSERT ... SELECT`` of that many rows.
COUNTER = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "


class Floor:
    """No authentication: no token, no header."""

    scheme = None
    has_table = False
    per_user = False
    #: Whether the package rotates a session's token and keeps the replaced ones (``rotate``).
    rotates = False

    def issue(self, user):
        return None

    def add_user_tokens(self, user, count):
        """Give ``user`` ``count`` more tokens; returns a callable that takes them away again."""
        raise NotImplementedError

    def fill(self):
        """A token for every filler user (``worker.fill_users``)."""

    def rotate(self, user, times, history):
        """Rotate the issued token ``times`` times, then give other sessions more replaced
        tokens until ``history`` are kept in all. Returns the issued session's new token and
        how many replaced tokens are kept: ``{"session": ..., "table": ...}``."""
        raise NotImplementedError


class DRFToken(Floor):
    scheme = "Token"
    has_table = True  # one token per user: a user cannot hold 50

    def issue(self, user):
        from rest_framework.authtoken.models import Token

        return Token.objects.create(user=user).key

    def fill(self):
        from rest_framework.authtoken.models import Token

        fill_rows(Token, {"key": 40})


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

    def fill(self):
        from knox.models import get_token_model
        from knox.settings import CONSTANTS

        fill_rows(get_token_model(), {"digest": 128, "token_key": CONSTANTS.TOKEN_KEY_LENGTH},
                  expiry=timezone.now() + timedelta(days=1))  # fmt: skip


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

    def fill(self):
        from durin.models import AuthToken

        fill_rows(AuthToken, {"token": 64}, client=self.client().pk,
                  expiry=timezone.now() + timedelta(days=1))  # fmt: skip


class Durin(Floor):
    """durin from this repository: one client without a session limit."""

    scheme = "Token"
    has_table = True
    per_user = True
    rotates = True

    def client(self):
        from durin.models import Client

        return Client.objects.get_or_create(name="bench", defaults={"session_limit": None})[0]

    def issue(self, user):
        from durin.models import AuthToken

        self.issued = AuthToken.objects.create(user, self.client())
        return self.issued.token

    def rotate(self, user, times, history):
        """``times`` rotations through durin's own service (what ``refresh/`` does for a client
        with ``rotate_on_refresh``); the rest of the history in SQL, ``times`` replaced tokens
        for each of the other sessions (one other user's), random digests."""
        from django.contrib.auth import get_user_model
        from django.db import connection

        from durin import services
        from durin.models import AuthToken, SupersededToken

        for _ in range(times):
            services.rotate_token(self.issued)
        elsewhere = get_user_model().objects.create_user("rotated-elsewhere", password=None)
        quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
        now = timezone.now()
        tokens, replaced = AuthToken._meta, SupersededToken._meta
        token_columns = ", ".join(
            quote(tokens.get_field(name).column)
            for name in ("digest", "user", "client", "created", "expiry", "last_used", "user_agent",
                         "name", "hint")  # the last three: '' (Django's defaults, not the table's)
        )  # fmt: skip
        history_columns = ", ".join(
            quote(replaced.get_field(name).column)
            for name in ("digest", "session", "superseded_at")
        )
        pk, user_id = quote(tokens.pk.column), quote(tokens.get_field("user").column)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(tokens.db_table)} ({token_columns}) {COUNTER}"
                f"SELECT {random_hex(connection.vendor, 64)}, %s, %s, %s, %s, %s, '', '', '' "
                "FROM n",
                [(history - times) // times, elsewhere.pk, self.client().pk, adapt(now),
                 adapt(now + timedelta(days=1)), adapt(now)],
            )  # fmt: skip
            cursor.execute(
                f"INSERT INTO {quote(replaced.db_table)} ({history_columns}) {COUNTER}"
                f"SELECT {random_hex(connection.vendor, 64)}, t.{pk}, %s "
                f"FROM {quote(tokens.db_table)} t CROSS JOIN n WHERE t.{user_id} = %s",
                [times, adapt(now), elsewhere.pk],
            )
        kept = SupersededToken.objects
        return self.issued.token, {
            "session": kept.filter(session=self.issued).count(),
            "table": kept.count(),
        }

    def add_user_tokens(self, user, count):
        from durin.models import AuthToken

        made = [AuthToken.objects.create(user, self.client()).pk for _ in range(count)]
        return AuthToken.objects.filter(pk__in=made).delete

    def fill(self):
        from durin.models import AuthToken

        now = timezone.now()
        fill_rows(AuthToken, {"digest": 64}, client=self.client().pk, created=now,
                  expiry=now + timedelta(days=1), last_used=now)  # fmt: skip


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
    "durin_pg_prepared": Durin,
    "durin_pg_pool": Durin,
    # django-ninja: the same endpoint as a sync or async operation (``ninja_api``)
    "ninja_floor": Floor,
    "ninja_cached": Durin,
    "ninja_asgi_floor": Floor,
    "ninja_asgi_cached": Durin,
    "ninja_async_floor": Floor,
    "ninja_async_cached": Durin,
}
