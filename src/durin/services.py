"""What durin does to tokens, apart from HTTP: issue, renew, revoke.

Every way of issuing a token (login, ``AuthToken.objects.create``, the admin, the
API-key view) goes through ``issue_token``, which enforces the client's session
limit under a lock on the user's row, so concurrent logins cannot overshoot it.

Whatever decides a limit is read with a locking read, never from a snapshot: under
REPEATABLE READ (MySQL/MariaDB's default) a plain SELECT inside a transaction that
already read something sees the table as it was then, not the tokens that
concurrent requests committed since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import OperationalError, connections, router, transaction
from django.db.models import F, Q
from django.db.models.deletion import Collector
from django.utils import timezone

from . import cache, crypto, reporting
from .client_ip import client_ip
from .constants import (
    INTROSPECT_SCOPE,
    KEY_NAME_MAX_LENGTH,
    MAX_ROLL_GRACE_SECONDS,
    USER_AGENT_MAX_LENGTH,
)
from .models import AuthToken, AuthTokenQuerySet, Client, SupersededToken
from .settings import durin_settings
from .signals import token_issued, token_renewed, token_revoked
from .text import printable, storable
from .validators import MAX_TOKEN_TTL, MIN_TOKEN_TTL, bounded_duration, is_scope_token

if TYPE_CHECKING:
    from django.http import HttpRequest


class SessionLimitReached(Exception):
    """The user holds ``client.session_limit`` live tokens and the client refuses new logins."""


class AlreadyIssued(Exception):
    """``exclusive`` issuing, and the user already holds a live token for the client."""


class KeyInGrace(Exception):
    """The API key was already rolled: it lives out its grace, and is not rolled again."""


class CredentialsChanged(Exception):
    """The user's password or active flag changed after the login checked them."""


class UnusableClient(ValueError):
    """The client's ``token_ttl`` or ``max_token_lifetime`` is under ``MIN_TOKEN_TTL``:
    every token it issued would be (nearly) expired when issued.

    1.1.0's ``create_client`` stored a zero ``token_ttl`` when ``--token-ttl`` was left out.
    """

    def __init__(self, client: Client) -> None:
        ttl = client.token_ttl
        field = "token_ttl" if ttl is None or ttl < MIN_TOKEN_TTL else "max_token_lifetime"
        super().__init__(
            f"The client {client.name!r} cannot issue tokens: its {field} is "
            f"{getattr(client, field)}, so every token would be expired when issued. "
            f"Give it a {field} of at least one second."
        )


def lock_user(user: Any) -> dict[str, Any] | None:
    """Lock the user's row until the transaction ends, serialising token issuing for one user.

    The row is written (to itself), not only selected for update: a write is what
    PostgreSQL's REPEATABLE READ refuses (a serialization failure) when another
    issuer committed since this transaction's snapshot, and SQLite ignores FOR
    UPDATE. Returns the row's ``password`` and ``is_active`` as stored, read with a
    locking read (``None`` if the row is gone).
    """
    model = get_user_model()
    rows = model._default_manager.filter(pk=user.pk)
    pk = model._meta.pk.attname
    rows.update(**{pk: F(pk)})
    fields = {f.attname for f in model._meta.concrete_fields} & {"password", "is_active"}
    return rows.select_for_update().values(*fields).first()


def _check_credentials_unchanged(user: Any, stored: dict[str, Any] | None) -> None:
    if stored is None or any(getattr(user, name) != value for name, value in stored.items()):
        raise CredentialsChanged()
    if getattr(user, "_durin_password_changed", False):  # saved over a newer one meanwhile
        raise CredentialsChanged()


def credentials_current(user: Any) -> bool:
    """Whether the primary still holds the password and active flag ``user`` was checked
    with: an authentication backend reads where the router sends reads, and a replica
    may still hold a password changed a moment ago."""
    model = type(user)
    fields = {f.attname for f in model._meta.concrete_fields} & {"password", "is_active"}
    rows = model._default_manager.using(router.db_for_write(model)).filter(pk=user.pk)
    try:
        _check_credentials_unchanged(user, rows.values(*fields).first())
    except CredentialsChanged:
        return False
    return True


def _request_metadata(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "ip_address": client_ip(request),
        "user_agent": printable(str(request.META.get("HTTP_USER_AGENT", "")))[
            :USER_AGENT_MAX_LENGTH
        ],
    }


def token_cap(client: Client) -> int:
    """Live tokens a user may hold for ``client``: its ``session_limit``, at most
    ``MAX_TOKENS_PER_USER_CLIENT`` (which also bounds an unlimited client)."""
    ceiling = durin_settings.MAX_TOKENS_PER_USER_CLIENT
    if client.session_limit is None:
        return ceiling
    return min(client.session_limit, ceiling)


def refuses_at_limit(client: Client) -> bool:
    """Whether a new token is refused (rather than the oldest revoked) at the cap."""
    return client.session_limit_action == Client.REFUSE and client.session_limit is not None


def locked_live_tokens(user: Any, client: Client, now: datetime) -> list[int]:
    """The pks of ``user``'s live tokens for ``client``, newest first, read with a lock.

    A locking read sees every committed row whatever the isolation level; call it
    in a transaction that holds ``lock_user``.
    """
    return list(
        AuthToken.objects.live(now)
        .filter(user=user, client=client)
        .order_by("-created", "-pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )


def _make_room(
    user: Any, client: Client, now: datetime, request: HttpRequest | None, refuse: bool = False
) -> None:
    """Revoke the oldest live tokens so that one more fits under ``token_cap(client)``;
    ``SessionLimitReached`` instead if the client (or ``refuse``) says so."""
    excess = locked_live_tokens(user, client, now)[token_cap(client) - 1 :]
    if not excess:
        return
    if refuse or refuses_at_limit(client):
        raise SessionLimitReached(client.name)
    revoke_tokens(AuthToken.objects.filter(pk__in=excess), "session_limit", request=request)


def known_scopes() -> set[str]:
    """The scope names a token may carry: the ``SCOPES`` setting's, and ``durin:introspect``.

    A name that is no RFC 6749 scope-token (``durin.E010``) is left out, even with the
    check silenced: no token carries it, so no challenge or ``scope`` string ever shows it.
    """
    return {name for name in durin_settings.SCOPES if is_scope_token(name)} | {INTROSPECT_SCOPE}


def checked_scopes(scopes: Any) -> list[str] | None:
    """``scopes`` as stored: ``None`` (unrestricted) or a list of distinct known names.

    ``ValueError`` for anything else (not a list of strings, a duplicate, an unknown name),
    with a message fit for an API answer.
    """
    if scopes is None:
        return None
    if not isinstance(scopes, (list, tuple)) or not all(isinstance(s, str) for s in scopes):
        raise ValueError("Scopes must be a list of scope names.")
    if len(set(scopes)) != len(scopes):
        raise ValueError("Each scope may be named once.")
    unknown = [scope for scope in scopes if scope not in known_scopes()]
    if unknown:
        shown = ", ".join(repr(scope[:50]) for scope in unknown[:5])
        raise ValueError(f"Unknown scope(s): {shown}.")
    return list(scopes)


def checked_key_name(name: Any) -> str:
    """A key's name: a string of at most ``KEY_NAME_MAX_LENGTH`` printable characters."""
    if not isinstance(name, str):
        raise ValueError("A name must be a string.")
    if len(name) > KEY_NAME_MAX_LENGTH:
        raise ValueError(f"A name may have at most {KEY_NAME_MAX_LENGTH} characters.")
    if not storable(name) or not name.isprintable():
        raise ValueError("A name may not contain control characters.")
    return name


def _checked_ttl(delta_ttl: timedelta) -> timedelta:
    """``delta_ttl`` unless adding it to now could leave the calendar: ``ValueError`` then.

    A negative one stays allowed (1.x test suites issue expired tokens that way).
    """
    if not isinstance(delta_ttl, timedelta):
        raise TypeError(f"delta_ttl must be a timedelta, not {type(delta_ttl).__name__}.")
    if abs(delta_ttl) > MAX_TOKEN_TTL:
        raise ValueError(
            f"delta_ttl {delta_ttl} is too long: at most {MAX_TOKEN_TTL.days} days either way."
        )
    return delta_ttl


def token_lifetime(client: Client) -> timedelta:
    """``client.token_ttl``; ``UnusableClient`` if it or the client's
    ``max_token_lifetime`` is under ``MIN_TOKEN_TTL`` (a row the validators never saw).

    The one place that decides: every issue and renewal gets its lifetime here.
    """
    ttl, cap = client.token_ttl, client.max_token_lifetime
    if ttl is None or ttl < MIN_TOKEN_TTL or (cap is not None and cap < MIN_TOKEN_TTL):
        raise UnusableClient(client)
    return bounded_duration(ttl)


def expiry_for(
    client: Client, start: datetime, created: datetime, ttl: timedelta | None = None
) -> datetime:
    """``start`` + the client's ``token_ttl`` (or ``ttl``), capped by ``max_token_lifetime``."""
    expiry = start + (token_lifetime(client) if ttl is None else bounded_duration(ttl))
    lifetime = bounded_duration(client.max_token_lifetime)
    return expiry if lifetime is None else min(expiry, created + lifetime)


#: Attempts at a transaction the database refused as not serializable.
ATTEMPTS = 10

T = TypeVar("T")


def _retryable(exc: OperationalError) -> bool:
    """A serialization failure or deadlock: the transaction may simply be run again."""
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return state in {"40001", "40P01"} or (bool(exc.args) and exc.args[0] == 1213)


#: durin's signals held back by the outermost ``atomic_retrying`` of this thread.
_outbox = threading.local()


def atomic_retrying(work: Callable[[], T], using: str) -> T:
    """``work()`` in a transaction, run again after a serialization failure or deadlock.

    PostgreSQL's REPEATABLE READ refuses to lock a user row that a concurrent login
    changed since the snapshot, where a snapshot would have overshot a limit. Only
    the outermost transaction can start again: inside the caller's, it propagates.
    The outermost one also holds back durin's signals (``send``) until it has committed,
    so that an attempt rolled back and run again says nothing of what it did.
    """
    outermost = not transaction.get_connection(using).in_atomic_block
    enclosing = getattr(_outbox, "signals", None)  # another database's, if any
    attempt = 1
    while True:
        held: list[tuple[Any, dict[str, Any]]] = []
        if outermost:
            _outbox.signals = held
        try:
            with transaction.atomic(using=using):
                result = work()
        except OperationalError as exc:
            if not (outermost and attempt < ATTEMPTS and _retryable(exc)):
                raise
            attempt += 1
            continue
        finally:
            if outermost:
                _outbox.signals = enclosing
        for signal, kwargs in held:
            send(signal, **kwargs)
        return result


def send(signal: Any, **kwargs: Any) -> None:
    """Send one of durin's signals, once the outermost ``atomic_retrying`` has committed."""
    held = getattr(_outbox, "signals", None)
    if held is None:
        signal.send(**kwargs)
    else:
        held.append((signal, kwargs))


def issue_token(
    user: Any,
    client: Client,
    *,
    delta_ttl: timedelta | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    verify_user: bool = False,
    exclusive: bool = False,
    scopes: Any = None,
    name: str = "",
    refuse_at_limit: bool = False,
) -> AuthToken:
    """Issue a token; the returned instance carries the plaintext in ``.token``, this once.

    With ``refuse_at_limit`` (named API keys), a user at the client's session limit gets
    ``SessionLimitReached`` whatever the client's ``session_limit_action``.

    ``scopes`` (names from the ``SCOPES`` setting; ``None``: unrestricted) and ``name`` are
    checked first: ``ValueError`` for anything else (``checked_scopes``).

    With ``verify_user`` (a login), the user's stored password and active flag must
    still be those of ``user``: a password change racing the login wins. With
    ``exclusive`` (``apiaccess/``), ``AlreadyIssued`` if the user holds a live token
    of ``client``. Only a login's token (``verify_user``) gets an ``authenticated_at``. A
    ``delta_ttl`` that is not a positive duration of at most ``MAX_TOKEN_TTL`` is a
    ``ValueError``; without one, a client whose ``token_ttl`` is not positive is
    ``UnusableClient``, before anything is locked or revoked. Run outside a
    transaction, a serialization failure (PostgreSQL's REPEATABLE READ when a
    concurrent login committed first) is retried; inside the caller's transaction it
    propagates, since only the caller can start again.
    """
    scopes = checked_scopes(scopes)
    name = checked_key_name(name)
    if delta_ttl is not None:
        _checked_ttl(delta_ttl)
    else:
        token_lifetime(client)
    plaintext = crypto.generate_token(
        durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX
    )
    if request is not None:
        reporting.hide(request, plaintext)
    token = atomic_retrying(
        lambda: _insert_token(
            user,
            client,
            plaintext,
            delta_ttl,
            request,
            now or timezone.now(),
            verify_user=verify_user,
            exclusive=exclusive,
            scopes=scopes,
            name=name,
            refuse_at_limit=refuse_at_limit,
        ),
        router.db_for_write(AuthToken),
    )
    token.token = plaintext
    send(
        token_issued, sender=AuthToken, request=request, token_id=token.pk, user=user, client=client
    )
    return token


def _insert_token(
    user: Any,
    client: Client,
    plaintext: str,
    delta_ttl: timedelta | None,
    request: HttpRequest | None,
    now: datetime,
    *,
    verify_user: bool,
    exclusive: bool,
    scopes: list[str] | None = None,
    name: str = "",
    refuse_at_limit: bool = False,
) -> AuthToken:
    stored = lock_user(user)
    if verify_user:
        _check_credentials_unchanged(user, stored)
    if exclusive and locked_live_tokens(user, client, now):
        raise AlreadyIssued(client.name)
    _make_room(user, client, now, request, refuse=refuse_at_limit)
    return _save_new_token(
        plaintext,
        user,
        client,
        now,
        expiry_for(client, now, now, delta_ttl),
        request,
        # Only a login has just checked the password: it alone starts a recent authentication.
        authenticated_at=now if verify_user else None,
        scopes=scopes,
        name=name,
    )


def _save_new_token(
    plaintext: str,
    user: Any,
    client: Client,
    now: datetime,
    expiry: datetime,
    request: HttpRequest | None,
    **fields: Any,
) -> AuthToken:
    """Insert the row of a token just generated: its digest and non-secret hint, never it."""
    token = AuthToken(
        digest=crypto.digest(plaintext),
        user=user,
        client=client,
        created=now,
        expiry=expiry,
        last_used=now,
        hint=crypto.hint(plaintext, durin_settings.TOKEN_PREFIX),
        **_request_metadata(request),
        **fields,
    )
    token.save(force_insert=True, using=router.db_for_write(AuthToken))
    return token


def roll_key(
    user: Any,
    client: Client,
    key_id: int,
    *,
    grace: timedelta = timedelta(0),
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> AuthToken:
    """Replace ``user``'s API key ``key_id`` with a new key of the same name and scopes; the
    returned instance carries the new plaintext in ``.token``, this once.

    The new key lives as long as the old one was set to (``created`` to ``expiry``), at most
    the client's ``token_ttl``. The old key works until ``now + grace`` (never longer than it
    would have) and is marked ``rolled_at``, so nothing extends it and it is not rolled again.

    One transaction under the user's lock: the key being replaced does not count against
    the client's session limit, every other live key does, one in its grace included
    (``SessionLimitReached``). ``AuthToken.DoesNotExist`` if ``key_id`` is not a live key of
    ``user`` for ``client``; ``KeyInGrace`` if it was rolled already; ``ValueError`` if its
    scopes are no longer all known (``checked_scopes``).
    """
    if not timedelta(0) <= grace <= timedelta(seconds=MAX_ROLL_GRACE_SECONDS):
        raise ValueError(f"grace must be from 0 to {MAX_ROLL_GRACE_SECONDS} seconds.")
    now = now or timezone.now()
    token_lifetime(client)  # UnusableClient, before anything is locked
    plaintext = crypto.generate_token(
        durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX
    )
    if request is not None:
        reporting.hide(request, plaintext)
    db = router.db_for_write(AuthToken)

    def roll() -> AuthToken:
        lock_user(user)
        keys = AuthToken.objects.using(db).filter(user=user, client=client)
        old = keys.live(now).filter(pk=key_id).select_for_update().first()
        if old is None:
            raise AuthToken.DoesNotExist("No such live key.")
        if old.rolled_at is not None:
            raise KeyInGrace(key_id)
        scopes = checked_scopes(old.scopes)
        others = [pk for pk in locked_live_tokens(user, client, now) if pk != old.pk]
        # A key in its grace is live too: never more than MAX_TOKENS_PER_USER_CLIENT.
        after = len(others) + (2 if grace else 1)
        if len(others) >= token_cap(client) or after > durin_settings.MAX_TOKENS_PER_USER_CLIENT:
            raise SessionLimitReached(client.name)
        lifetime = max(min(old.expiry - old.created, token_lifetime(client)), MIN_TOKEN_TTL)
        new = _save_new_token(
            plaintext,
            user,
            client,
            now,
            expiry_for(client, now, now, lifetime),
            request,
            authenticated_at=None,  # no password was proved for it
            scopes=scopes,
            name=old.name,
        )
        keys.filter(pk=old.pk).update(expiry=min(old.expiry, now + grace), rolled_at=now)
        # Cached entries carry the old expiry: every process must see the grace at once.
        transaction.on_commit(lambda: cache.invalidate([old.digest]), using=db)
        return new

    new = atomic_retrying(roll, db)
    new.token = plaintext
    send(token_issued, sender=AuthToken, request=request, token_id=new.pk, user=user, client=client)
    return new


def is_api_key(token: AuthToken) -> bool:
    """Whether ``token`` belongs to the ``API_ACCESS_CLIENT_NAME`` client."""
    name = durin_settings.API_ACCESS_CLIENT_NAME
    return bool(name) and token.client.name == name


def extendable(token: AuthToken) -> bool:
    """Whether renewal, sliding or rotation may push ``token``'s expiry: not for an API key,
    which lives the ``expires_in`` its user gave it (roll it for a new one), nor for a key
    rolled and living out its grace."""
    return token.rolled_at is None and not is_api_key(token)


def renew_token(
    token: AuthToken, request: HttpRequest | None = None, now: datetime | None = None
) -> datetime:
    """Push expiry to now + the client's ``token_ttl`` (capped by ``max_token_lifetime``).

    Raises ``AuthToken.DoesNotExist`` if the token was revoked meanwhile: a renewal
    never brings a token back.
    """
    now = now or timezone.now()
    client = token.client
    new_expiry = expiry_for(client, now, token.created)
    # On the primary: a replica may not hold a token issued a moment ago.
    rows = AuthToken.objects.on_primary().filter(pk=token.pk)
    if not extendable(token) or not rows.filter(rolled_at__isnull=True).update(expiry=new_expiry):
        # A key keeps the lifetime it was given, a rolled one the end of its grace; a
        # revoked token stays revoked.
        kept = rows.values_list("expiry", flat=True).first()
        if kept is None:
            raise AuthToken.DoesNotExist("The token was revoked.")
        new_expiry = kept
    token.expiry = new_expiry
    _invalidate_on_commit(token)
    _send_renewed(token, request)
    return new_expiry


def _send_renewed(token: AuthToken, request: HttpRequest | None) -> None:
    send(
        token_renewed,
        sender=AuthToken,
        request=request,
        new_expiry=token.expiry,
        token_id=token.pk,
        client=token.client,
    )


def rotate_token(
    token: AuthToken, request: HttpRequest | None = None, now: datetime | None = None
) -> AuthToken:
    """Give ``token``'s session a new token (RFC 9700 §4.14.2); ``token`` gets its plaintext.

    The session keeps its row (id, ``created``, IP, user agent, ``authenticated_at``) and
    gets a new digest and expiry; the digest it replaces joins the session's history
    (``SupersededToken``), where ``TokenAuthentication.get_superseded`` finds it; the
    history keeps the last ``MAX_TOKENS_PER_USER_CLIENT`` replaced tokens. The row is locked
    first, so two rotations of one session follow each other, and a revoked session stays
    revoked: ``AuthToken.DoesNotExist``.
    """
    now = now or timezone.now()
    client = token.client
    new_expiry = expiry_for(client, now, token.created)
    plaintext = crypto.generate_token(
        durin_settings.TOKEN_CHARACTER_LENGTH, durin_settings.TOKEN_PREFIX
    )
    new_digest = crypto.digest(plaintext)
    new_hint = crypto.hint(plaintext, durin_settings.TOKEN_PREFIX)
    if request is not None:
        reporting.hide(request, plaintext)
    db = router.db_for_write(AuthToken)

    def rotate() -> datetime:
        rows = AuthToken.objects.using(db).filter(pk=token.pk)
        found = rows.select_for_update().values_list("digest", "rolled_at", "expiry").first()
        if found is None:
            raise AuthToken.DoesNotExist("The token was revoked.")
        replaced, rolled_at, expiry = found
        # A key keeps the lifetime it was given, a rolled one the end of its grace.
        keeps = rolled_at is not None or not extendable(token)
        rotated_expiry = min(new_expiry, expiry) if keeps else new_expiry
        history = SupersededToken.objects.using(db).filter(session_id=token.pk)
        SupersededToken.objects.using(db).create(
            digest=replaced, session_id=token.pk, superseded_at=now
        )
        # Bounded like the tokens a user may hold: the oldest replaced tokens are forgotten.
        cap = durin_settings.MAX_TOKENS_PER_USER_CLIENT
        oldest_kept = history.order_by("-pk").values_list("pk", flat=True)[cap - 1 : cap]
        if oldest_kept:
            history.filter(pk__lt=oldest_kept[0]).delete()
        rows.update(digest=new_digest, expiry=rotated_expiry, last_used=now, hint=new_hint)
        # Every process must stop serving the replaced token from the cache.
        transaction.on_commit(lambda: cache.invalidate([replaced]), using=db)
        return rotated_expiry

    token.expiry = atomic_retrying(rotate, db)
    token.digest, token.last_used = new_digest, now
    token.hint = new_hint
    token.token = plaintext
    _send_renewed(token, request)
    return token


def superseded_session(digest: str, related: list[str]) -> tuple[AuthToken, datetime] | None:
    """The session that once had the token of this digest, and when rotation replaced it.

    Read on the primary: a replica that has not seen a rotation yet would take the token
    for unknown, one that has not seen a revocation would still name the session.
    """
    found = (
        SupersededToken.objects.on_primary()
        .select_related(*(f"session__{name}" for name in related))
        .filter(digest=digest)
        .first()
    )
    return None if found is None else (found.session, found.superseded_at)


def grace_ends(superseded_at: datetime) -> datetime:
    """When a token replaced at ``superseded_at`` stops authenticating its session."""
    return superseded_at + durin_settings.ROTATION_GRACE_PERIOD


def reauthenticate(token: AuthToken, now: datetime | None = None) -> datetime:
    """Record that ``token``'s user just proved their password; returns the new
    ``authenticated_at``. ``AuthToken.DoesNotExist`` if the session was revoked meanwhile."""
    now = now or timezone.now()
    db = router.db_for_write(AuthToken)

    def record() -> None:
        rows = AuthToken.objects.using(db).filter(pk=token.pk)
        # The session's digest now: a rotation may have replaced the one presented.
        current = rows.select_for_update().values_list("digest", flat=True).first()
        if current is None:
            raise AuthToken.DoesNotExist("The token was revoked.")
        rows.update(authenticated_at=now)
        # Cached entries carry the old authenticated_at.
        stale = {current, token.digest}
        transaction.on_commit(lambda: cache.invalidate(stale), using=db)

    atomic_retrying(record, db)
    token.authenticated_at = now
    return now


def logout_others(token: AuthToken, request: HttpRequest | None = None) -> int:
    """Revoke every live token of ``token``'s user but ``token`` and the user's API keys.

    Called with an API key, it ends all of the user's login sessions and no key: a key is
    not a session, so there is no "this session" to keep. Expired tokens are left to the
    purge and not counted.
    """
    others = (
        AuthToken.objects.on_primary().live().filter(user_id=token.user_id).exclude(pk=token.pk)
    )
    name = durin_settings.API_ACCESS_CLIENT_NAME
    if name:
        try:  # ``named`` reads the primary: a replica without the key client would end keys
            others = others.exclude(client=Client.named(name))
        except Client.DoesNotExist:
            pass
    return revoke_tokens(others, "logout_others", request=request)


def record_use(token: AuthToken, now: datetime) -> bool:
    """Note that ``token`` was used: ``last_used`` and, for ``auto_refresh`` clients, expiry.

    Writes at most once per ``MIN_REFRESH_INTERVAL`` per token, even across
    processes: the UPDATE only matches a row whose ``last_used`` is that old.
    Returns whether it wrote.
    """
    if not token.use_due(now):
        return False
    due_before = now - timedelta(seconds=token.use_interval or 0)
    changes: dict[str, Any] = {"last_used": now}
    client = token.client
    if client.auto_refresh and extendable(token):
        try:
            slid = expiry_for(client, now, token.created)
        except UnusableClient:  # a lifetime of zero slides nothing
            slid = token.expiry
        if slid > token.expiry:
            changes["expiry"] = slid
    not_recent = Q(last_used__isnull=True) | Q(last_used__lte=due_before)
    if "expiry" in changes:  # a rolled key's grace never slides
        not_recent &= Q(rolled_at__isnull=True)
    if not AuthToken.objects.filter(not_recent, pk=token.pk).update(**changes):
        return False  # another request wrote it first
    for name, value in changes.items():
        setattr(token, name, value)
    return True


def revoke_tokens(
    tokens: AuthTokenQuerySet, reason: str, request: HttpRequest | None = None
) -> int:
    """Delete ``tokens``, sending ``token_revoked`` for each; returns how many went.

    The rows are read with a locking read and deleted as read: under REPEATABLE
    READ a plain SELECT (Django's ``delete()`` starts with one) would miss the rows
    committed since the transaction's snapshot, and they would survive.
    """
    db = router.db_for_write(AuthToken)

    def delete() -> list[tuple[int, Any, int]]:
        rows = list(
            tokens.using(db)
            .select_related(None)
            .select_for_update()
            .only("pk", "digest", "user_id", "client_id")
        )
        if not rows:
            return []
        revoked = [(row.pk, row.user_id, row.client_id) for row in rows]
        collector = Collector(using=db, origin=tokens)
        collector.collect(rows)
        collector.delete()  # this clears the rows' pks, hence ``revoked``
        return revoked

    # Retried when a concurrent write to a row (a rotation, a use) makes PostgreSQL's
    # REPEATABLE READ refuse the locking read: a revocation must not fail for that.
    revoked = atomic_retrying(delete, db)
    if not revoked:
        return 0
    clients = Client.objects.using(db).in_bulk({client_id for _, _, client_id in revoked})
    for token_id, user_id, client_id in revoked:
        send(
            token_revoked,
            sender=AuthToken,
            request=request,
            token_id=token_id,
            user_id=user_id,
            client_id=client_id,
            client=clients.get(client_id),
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
    token_table, history_table = (
        quote(model._meta.db_table) for model in (AuthToken, SupersededToken)
    )
    pk = quote(AuthToken._meta.pk.column)
    expiry = quote(AuthToken._meta.get_field("expiry").column)
    in_batch = f"{pk} BETWEEN %s AND %s AND {expiry} <= %s"
    statements = [
        # The rotation history of the batch's sessions goes first (its foreign key).
        f"DELETE FROM {history_table} WHERE "
        f"{quote(SupersededToken._meta.get_field('session').column)} IN "
        f"(SELECT {pk} FROM {token_table} WHERE {in_batch})",
        f"DELETE FROM {token_table} WHERE {in_batch}",
    ]
    cutoff = connection.ops.adapt_datetimefield_value(now)
    # Rows of the project's own models pointing here: let Django cascade.
    referenced = any(
        relation.related_model is not SupersededToken
        for relation in AuthToken._meta.related_objects
    )
    deleted, last_pk = 0, None
    while True:
        pending = expired_pks if last_pk is None else expired_pks.filter(pk__gt=last_pk)
        batch = list(pending[:batch_size])
        if not batch:
            return deleted
        if referenced:
            deleted += (
                AuthToken.objects.using(db)
                .filter(pk__in=batch)
                .delete()[1]
                .get(AuthToken._meta.label, 0)
            )
        else:
            params = [batch[0], batch[-1], cutoff]
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.execute(statements[0], params)
                cursor.execute(statements[1], params)
                deleted += cursor.rowcount
        last_pk = batch[-1]
        if progress is not None:
            progress(deleted)
