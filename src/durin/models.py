"""``Client`` (an API consumer with its own token rules) and ``AuthToken`` (a digest, never
a token)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import DIGEST_LENGTH, HINT_MAX_LENGTH, KEY_NAME_MAX_LENGTH, USER_AGENT_MAX_LENGTH
from .settings import durin_settings
from .text import time_left
from .validators import (
    bounded_duration,
    default_token_ttl,
    validate_positive_duration,
    validate_throttle_rate,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

#: The names django-rest-durin 1.x's migrations gave the default TTL callable.
get_DEFAULT_TOKEN_TTL = default_token_ttl
_get_DEFAULT_TOKEN_TTL = default_token_ttl


class Client(models.Model):
    """An API consumer (web app, mobile app, CLI...) with its own token rules.

    To attach more data to a client, add a model with a ``OneToOneField`` to it.
    """

    REVOKE_OLDEST = "revoke_oldest"
    REFUSE = "refuse"
    SESSION_LIMIT_ACTIONS = [
        (REVOKE_OLDEST, _("Revoke the oldest sessions to make room")),
        (REFUSE, _("Refuse the new login")),
    ]

    #: A unique identification name for the client.
    name = models.CharField(
        max_length=64,
        db_index=True,
        unique=True,
        help_text=_("A unique identification name for the client."),
    )
    #: How long a token issued for this client lives.
    token_ttl = models.DurationField(
        default=default_token_ttl,
        validators=[validate_positive_duration],
        verbose_name=_("Token Time To Live (TTL)"),
        help_text=_("Token Time To Live (TTL) in timedelta. Format: <code>DAYS HH:MM:SS</code>."),
    )
    #: DRF rate string (``100/h``) for ``UserClientRateThrottle``; blank uses its default rate.
    throttle_rate = models.CharField(
        max_length=64,
        default="",
        blank=True,
        validators=[validate_throttle_rate],
        verbose_name=_("Throttle rate for requests authed with this client"),
        help_text=_(
            "Follows the same format as DRF's throttle rates: 'number_of_requests/period' "
            "where period is one of s, m, h, d. Example: '100/h'."
        ),
    )
    #: Live tokens a user may hold for this client; null means unlimited.
    session_limit = models.PositiveIntegerField(
        default=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Live tokens a user may hold for this client. Empty means unlimited."),
    )
    #: What a login does when the user already holds ``session_limit`` live tokens.
    session_limit_action = models.CharField(
        max_length=16,
        choices=SESSION_LIMIT_ACTIONS,
        default=REVOKE_OLDEST,
        help_text=_("What a login does when the user is at the session limit."),
    )
    #: Sliding expiry: each use pushes expiry to now + ``token_ttl``.
    auto_refresh = models.BooleanField(
        default=False,
        help_text=_("Extend a token's expiry each time it is used (sliding expiry)."),
    )
    #: No renewal may push a token's expiry past ``created + max_token_lifetime``.
    max_token_lifetime = models.DurationField(
        null=True,
        blank=True,
        validators=[validate_positive_duration],
        help_text=_("Upper bound on a token's whole life, renewals included. Empty: none."),
    )

    #: Refresh hands out a new token for the session and watches for the old one's reuse.
    rotate_on_refresh = models.BooleanField(
        default=False,
        help_text=_(
            "Refresh issues a new token for the same session; a replaced token presented "
            "after ROTATION_GRACE_PERIOD revokes the whole session (reuse detection)."
        ),
    )

    def __str__(self) -> str:
        return self.name

    @classmethod
    def named(cls, name: str, using: str | None = None) -> Client:
        """The client with exactly this name, or ``Client.DoesNotExist``.

        Read on the primary unless ``using`` says otherwise: tokens are issued and revoked
        for the client found, so a replica's stale copy (a client deleted or renamed a
        moment ago, or not there yet) must not decide.

        MySQL/MariaDB's default collations compare names case-insensitively and
        ignore trailing spaces, so ``web`` would answer to ``WEB``: the row found
        is compared again in Python.
        """
        client = cls._default_manager.db_manager(using or router.db_for_write(cls)).get(name=name)
        if client.name != name:
            raise cls.DoesNotExist(f"No client named exactly {name!r}.")
        return client


_QuerySet = TypeVar("_QuerySet", bound="PrimaryQuerySet")


class PrimaryQuerySet(models.QuerySet[Any]):
    def on_primary(self: _QuerySet) -> _QuerySet:
        """This query on the database the router writes the model to.

        Whatever issues, revokes or counts tokens reads there: a read replica lags, so it
        would miss a token issued a moment ago and still hold one just revoked.
        """
        return self.using(router.db_for_write(self.model))


class AuthTokenQuerySet(PrimaryQuerySet):
    def live(self, now: datetime | None = None) -> AuthTokenQuerySet:
        return self.filter(expiry__gt=now or timezone.now())

    def expired(self, now: datetime | None = None) -> AuthTokenQuerySet:
        return self.filter(expiry__lte=now or timezone.now())


class AuthTokenManager(models.Manager.from_queryset(AuthTokenQuerySet)):  # type: ignore[misc]
    def create(  # type: ignore[override]
        self, user: Any, client: Client, delta_ttl: timedelta | None = None, **kwargs: Any
    ) -> AuthToken:
        """Issue a token (1.x signature); the returned instance carries the plaintext."""
        from .services import issue_token

        return issue_token(user, client, delta_ttl=delta_ttl, **kwargs)


class AuthToken(models.Model):
    """A token issued to a user for a client. Only the token's digest is stored."""

    #: SHA-256 hex digest of the token; the token itself is never stored.
    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_token_set"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="auth_token_set")
    created = models.DateTimeField(default=timezone.now, editable=False)
    expiry = models.DateTimeField(db_index=True)
    #: When the token last authenticated a request (updated at most once per
    #: ``MIN_REFRESH_INTERVAL``).
    last_used = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True, default="")
    #: When the user last proved their password for this session (login or reauthentication);
    #: ``None`` for a token issued without one (an API key, the admin, ``objects.create``).
    authenticated_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: What the token may do: names from the ``SCOPES`` setting; ``None``: unrestricted.
    scopes = models.JSONField(null=True, blank=True, editable=False)
    #: A name its user gave it (API keys); blank for a login's token.
    name = models.CharField(max_length=KEY_NAME_MAX_LENGTH, blank=True, default="")
    #: Tells tokens apart without revealing them: the prefix, an ellipsis, the last four
    #: characters (checksum characters, which say nothing of the secret part).
    hint = models.CharField(max_length=HINT_MAX_LENGTH, blank=True, default="", editable=False)
    #: When a roll replaced this API key: it works until its ``expiry`` (the roll's grace)
    #: and no renewal, sliding expiry or rotation extends it.
    rolled_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AuthTokenManager()

    #: The plaintext, set only on the instance returned when the token is issued.
    token: str | None = None

    class Meta:
        indexes = [models.Index(fields=["user", "client"], name="durin_token_user_client")]

    def __str__(self) -> str:
        if self.token:
            return self.token
        return f"AuthToken #{self.pk}"

    def __repr__(self) -> str:
        return f"<AuthToken id={self.pk} user_id={self.user_id} client_id={self.client_id}>"

    @property
    def has_expired(self) -> bool:
        return timezone.now() >= self.expiry

    @property
    def use_interval(self) -> float | None:
        """Seconds between two writes of this token's use; ``None``: never written.

        ``MIN_REFRESH_INTERVAL``, but for a sliding client at most half its ``token_ttl``,
        so that a token in steady use is always extended before it expires.
        """
        interval = durin_settings.MIN_REFRESH_INTERVAL
        client = self.client
        if interval is None or not client.auto_refresh:
            return interval
        return min(interval, bounded_duration(client.token_ttl).total_seconds() / 2)

    def use_due(self, now: datetime) -> bool:
        """Whether this token's use should be written now (see ``use_interval``)."""
        interval = self.use_interval
        if interval is None:
            return False
        return self.last_used is None or (now - self.last_used).total_seconds() >= interval

    @property
    def expires_in(self) -> str:
        """Time left before expiry in whole units a person would say ("1 year", "2 hours");
        "0 seconds" once expired. ``text.time_left`` states the rounding."""
        return time_left(self.expiry - timezone.now())

    def renew_token(self, request: HttpRequest | None = None) -> datetime:
        """Push expiry to now + the client's ``token_ttl``; returns the new expiry."""
        from .services import renew_token

        return renew_token(self, request=request)


class SupersededToken(models.Model):
    """A token that rotation replaced, kept as a digest for as long as its session lives.

    Presented within ``ROTATION_GRACE_PERIOD`` of ``superseded_at`` it still authenticates
    its session (requests already in flight); presented later, it is reuse of a stolen
    token and revokes the session. Looked up only when a digest is not a live token, so a
    current token's lookup never pays for the history.
    """

    digest = models.CharField(max_length=DIGEST_LENGTH, unique=True, editable=False)
    #: The session: the ``AuthToken`` row that now holds a newer digest.
    session = models.ForeignKey(AuthToken, on_delete=models.CASCADE, related_name="+")
    superseded_at = models.DateTimeField()

    objects = PrimaryQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Token replaced at {self.superseded_at:%Y-%m-%d %H:%M:%S}"

    def __repr__(self) -> str:
        return f"<SupersededToken session_id={self.session_id} superseded_at={self.superseded_at}>"


class LoginFailureCount(models.Model):
    """Failed logins counted for one (client network, account or name) key.

    The key is a digest, so the table holds neither addresses nor usernames. A row
    whose window has ended is reused by the key's next attempt, and pruned by
    ``purge_expired_tokens``.
    """

    key = models.CharField(max_length=DIGEST_LENGTH, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    window_end = models.DateTimeField(db_index=True)

    objects = PrimaryQuerySet.as_manager()

    def __repr__(self) -> str:
        return f"<LoginFailureCount failures={self.failures} window_end={self.window_end}>"
