"""What durin does to tokens, apart from HTTP: issue, renew, revoke.

Every way of issuing a token (login, ``AuthToken.objects.create``, the admin, the
API-key view) goes through ``issue_token``, which enforces the client's session
limit under a lock on the user's row, so concurrent logins cannot overshoot it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import cache, crypto
from .client_ip import client_ip
from .constants import USER_AGENT_MAX_LENGTH
from .models import AuthToken, AuthTokenQuerySet, Client
from .settings import durin_settings
from .signals import token_issued, token_renewed, token_revoked
from .text import printable

if TYPE_CHECKING:
    from django.http import HttpRequest


class SessionLimitReached(Exception):
    """The user holds ``client.session_limit`` live tokens and the client refuses new logins."""


class CredentialsChanged(Exception):
    """The user's password or active flag changed after the login checked them."""


def lock_user(user: Any) -> dict[str, Any] | None:
    """Lock the user's row until the transaction ends, serialising token issuing for one user.

    Returns the row's ``password`` and ``is_active`` as stored (``None`` if it is gone).
    """
    model = get_user_model()
    rows = model._default_manager.filter(pk=user.pk)
    if connections[router.db_for_write(model)].vendor == "sqlite":
        # SQLite ignores FOR UPDATE, and a transaction that reads first fails with
        # "database is locked" when another one has written meanwhile: write first.
        pk = model._meta.pk.attname
        rows.update(**{pk: F(pk)})
    fields = {f.attname for f in model._meta.concrete_fields} & {"password", "is_active"}
    return rows.select_for_update().values(*fields).first()


def _check_credentials_unchanged(user: Any, stored: dict[str, Any] | None) -> None:
    if stored is None or any(getattr(user, name) != value for name, value in stored.items()):
        raise CredentialsChanged()


def _request_metadata(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "ip_address": client_ip(request),
        "user_agent": printable(str(request.META.get("HTTP_USER_AGENT", "")))[
            :USER_AGENT_MAX_LENGTH
        ],
    }


def _make_room(user: Any, client: Client, now: datetime, request: HttpRequest | None) -> None:
    """Revoke the oldest live tokens so that one more fits under ``client.session_limit``."""
    if client.session_limit is None:
        return
    live = (
        AuthToken.objects.live(now)
        .filter(user=user, client=client)
        .order_by("-created", "-pk")
        .values_list("pk", flat=True)
    )
    excess = list(live[max(client.session_limit - 1, 0) :])
    if not excess:
        return
    if client.session_limit_action == Client.REFUSE:
        raise SessionLimitReached(client.name)
    revoke_tokens(AuthToken.objects.filter(pk__in=excess), "session_limit", request=request)


def issue_token(
    user: Any,
    client: Client,
    *,
    delta_ttl: timedelta | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    verify_user: bool = False,
) -> AuthToken:
    """Issue a token; the returned instance carries the plaintext in ``.token``, this once.

    With ``verify_user`` (a login), the user's stored password and active flag must
    still be those of ``user``: a password change racing the login wins.
    """
    now = now or timezone.now()
    ttl = client.token_ttl if delta_ttl is None else delta_ttl
    plaintext = crypto.generate_token(
        durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX
    )
    with transaction.atomic(using=router.db_for_write(AuthToken)):
        stored = lock_user(user)
        if verify_user:
            _check_credentials_unchanged(user, stored)
        _make_room(user, client, now, request)
        token = AuthToken(
            digest=crypto.digest(plaintext),
            user=user,
            client=client,
            created=now,
            expiry=client.cap_expiry(now + ttl, now),
            last_used=now,
            **_request_metadata(request),
        )
        token.save(force_insert=True)
    token.token = plaintext
    token_issued.send(
        sender=AuthToken, request=request, token_id=token.pk, user=user, client=client
    )
    return token


def renew_token(
    token: AuthToken, request: HttpRequest | None = None, now: datetime | None = None
) -> datetime:
    """Push expiry to now + the client's ``token_ttl`` (capped by ``max_token_lifetime``).

    Raises ``AuthToken.DoesNotExist`` if the token was revoked meanwhile: a renewal
    never brings a token back.
    """
    now = now or timezone.now()
    client = token.client
    new_expiry = client.cap_expiry(now + client.token_ttl, token.created)
    if not AuthToken.objects.filter(pk=token.pk).update(expiry=new_expiry):
        raise AuthToken.DoesNotExist("The token was revoked.")
    token.expiry = new_expiry
    _invalidate_on_commit(token)
    token_renewed.send(
        sender=AuthToken,
        request=request,
        new_expiry=new_expiry,
        token_id=token.pk,
        client=client,
    )
    return new_expiry


def use_interval(token: AuthToken) -> float | None:
    """Seconds between two writes of ``token``'s use; ``None``: never written.

    ``MIN_REFRESH_INTERVAL``, but for a sliding client at most half its ``token_ttl``,
    so that a token in steady use is always extended before it expires.
    """
    interval = durin_settings.MIN_REFRESH_INTERVAL
    client = token.client
    if interval is None or not client.auto_refresh:
        return interval
    return min(interval, client.token_ttl.total_seconds() / 2)


def use_due(token: AuthToken, now: datetime) -> bool:
    """Whether ``token``'s use should be written now (see ``use_interval``)."""
    interval = use_interval(token)
    if interval is None:
        return False
    return token.last_used is None or (now - token.last_used).total_seconds() >= interval


def record_use(token: AuthToken, now: datetime) -> bool:
    """Note that ``token`` was used: ``last_used`` and, for ``auto_refresh`` clients, expiry.

    Writes at most once per ``MIN_REFRESH_INTERVAL`` per token, even across
    processes: the UPDATE only matches a row whose ``last_used`` is that old.
    Returns whether it wrote.
    """
    if not use_due(token, now):
        return False
    due_before = now - timedelta(seconds=use_interval(token) or 0)
    changes: dict[str, Any] = {"last_used": now}
    client = token.client
    if client.auto_refresh:
        slid = client.cap_expiry(now + client.token_ttl, token.created)
        if slid > token.expiry:
            changes["expiry"] = slid
    not_recent = Q(last_used__isnull=True) | Q(last_used__lte=due_before)
    if not AuthToken.objects.filter(not_recent, pk=token.pk).update(**changes):
        return False  # another request wrote it first
    for name, value in changes.items():
        setattr(token, name, value)
    return True


def revoke_tokens(
    tokens: AuthTokenQuerySet, reason: str, request: HttpRequest | None = None
) -> int:
    """Delete ``tokens``, sending ``token_revoked`` for each; returns how many went."""
    revoked = list(tokens.select_related("client").only("pk", "user_id", "client"))
    if not revoked:
        return 0
    AuthToken.objects.filter(pk__in=[token.pk for token in revoked]).delete()
    for token in revoked:
        token_revoked.send(
            sender=AuthToken,
            request=request,
            token_id=token.pk,
            user_id=token.user_id,
            client_id=token.client_id,
            client=token.client,
            reason=reason,
        )
    return len(revoked)


def revoke_token(token: AuthToken, reason: str, request: HttpRequest | None = None) -> int:
    return revoke_tokens(AuthToken.objects.filter(pk=token.pk), reason, request=request)


def _invalidate_on_commit(token: AuthToken) -> None:
    transaction.on_commit(
        lambda: cache.invalidate([token.digest]), using=router.db_for_write(AuthToken)
    )


def purge_expired_tokens(
    *,
    now: datetime | None = None,
    batch_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete expired tokens, ``batch_size`` rows per statement and transaction.

    Memory stays flat whatever the table size: only one batch of primary keys is
    held at a time. The rows are deleted without per-row signals: an expired token
    is refused on a cache hit anyway. Returns how many rows went; ``progress`` is
    called with the running total after each batch.
    """
    now = now or timezone.now()
    db = router.db_for_write(AuthToken)
    connection = connections[db]
    expired_pks = (
        AuthToken.objects.using(db).expired(now).order_by("pk").values_list("pk", flat=True)
    )
    quote = connection.ops.quote_name
    delete = (
        f"DELETE FROM {quote(AuthToken._meta.db_table)} "
        f"WHERE {quote(AuthToken._meta.pk.column)} BETWEEN %s AND %s "
        f"AND {quote(AuthToken._meta.get_field('expiry').column)} <= %s"
    )
    cutoff = connection.ops.adapt_datetimefield_value(now)
    referenced = bool(AuthToken._meta.related_objects)
    deleted, last_pk = 0, None
    while True:
        pending = expired_pks if last_pk is None else expired_pks.filter(pk__gt=last_pk)
        batch = list(pending[:batch_size])
        if not batch:
            return deleted
        if referenced:  # rows of the project's own models point here: let Django cascade
            deleted += (
                AuthToken.objects.using(db)
                .filter(pk__in=batch)
                .delete()[1]
                .get(AuthToken._meta.label, 0)
            )
        else:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.execute(delete, [batch[0], batch[-1], cutoff])
                deleted += cursor.rowcount
        last_pk = batch[-1]
        if progress is not None:
            progress(deleted)
