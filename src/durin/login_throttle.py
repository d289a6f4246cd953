"""Failed logins, counted per (client network, account) where every process sees them.

After ``LOGIN_THROTTLE_RATE`` failures (default ``10/m``) every attempt for that
pair is refused, password unchecked, until the window that began with the first
counted attempt ends. Successes are not counted and reset nothing. The username
need not exist: the answer is the same either way.

Who a name is, the database decides: a MariaDB collation logs ``sısßi`` into
``sissi``'s account, so the name is resolved the way Django's ``ModelBackend``
resolves it (``get_by_natural_key``) and the count follows the account found.
Every attempt also counts under the *folded* name (no case, accents or invisible
characters), which is all an unknown name has, and which covers backends that
match names more loosely than ``get_by_natural_key``.

The client network is the IPv4 address, or the IPv6 /64 (a host picks addresses
in its /64 at will).

Counts live in the database by default (``LoginFailureCount``), or in the cache
named by ``LOGIN_THROTTLE_CACHE`` (system check ``durin.E007`` refuses caches
that are per-process or cannot count atomically). ``wait()`` *reserves* the
attempt before the password is checked, so parallel requests cannot all slip in
under the limit; a successful login gives the reservation back (``succeeded()``,
called on Django's ``user_logged_in``), while an attempt that ends any other way
keeps it as a failure.

The database writes are committed on their own only when the view runs outside a
transaction: a view that uses this class must not be atomic (``ATOMIC_REQUESTS``
rolls the request's writes back on a 400).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import OperationalError, router, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from . import cache
from .client_ip import client_network
from .models import LoginFailureCount
from .settings import durin_settings
from .text import storable

logger = logging.getLogger("durin")

#: The request attribute that carries the attempt's throttle, for ``user_logged_in``.
REQUEST_ATTRIBUTE = "_durin_login_throttle"
CACHE_KEY_PREFIX = "durin:login:"

#: Categories no collation compares: controls, format characters, combining marks.
_INVISIBLE = frozenset({"Cc", "Cf", "Mn", "Me"})


def fold(name: str) -> str:
    """``name`` without case, accents, compatibility variants (``ﬁ`` is ``fi``) or invisibles."""
    decomposed = unicodedata.normalize("NFKD", name)
    visible = "".join(c for c in decomposed if unicodedata.category(c) not in _INVISIBLE)
    return visible.casefold().replace("\u0131", "i")  # dotless i: MariaDB reads it as i


def submitted_name(username: Any) -> str | None:
    """The username as DRF's ``CharField`` reads it (numbers as text, whitespace trimmed)."""
    if isinstance(username, bool) or not isinstance(username, (str, int, float)):
        return None
    return str(username).strip()


def resolve_account(name: str | None) -> str | None:
    """The primary key of the user ``ModelBackend`` would check ``name``'s password against.

    The database compares, with its own collation; names it cannot hold (NUL on
    PostgreSQL, lone surrogates) or that match no one, or several, resolve to nobody.
    """
    if not name or not storable(name):
        return None
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(name)
    except (user_model.DoesNotExist, user_model.MultipleObjectsReturned):
        return None
    except (ValueError, TypeError, ValidationError):  # a name the username field cannot take
        return None
    return str(user.pk)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


class LoginThrottle:
    """The failed-login count of one attempt: ``wait()`` first, then ``failed()`` if it failed.

    ``user`` skips resolving the name, for a view that already knows whose password
    it checks (re-authentication). A success that does not send ``user_logged_in``
    calls ``succeeded()`` itself.
    """

    def __init__(self, request: Any, username: Any, *, user: Any = None) -> None:
        self.request = request
        self.username = username
        self.user = user
        self.limit, self.duration = SimpleRateThrottle.parse_rate(
            None,  # type: ignore[arg-type]
            durin_settings.LOGIN_THROTTLE_RATE,
        )
        self._keys: list[str] | None = None
        self._counted_in: _Counts | None = None

    @property
    def keys(self) -> list[str]:
        """Digests of (network, folded name) and, for a known account, (network, account)."""
        if self._keys is None:
            network = client_network(self.request) or "-"
            name = submitted_name(self.username)
            account = str(self.user.pk) if self.user is not None else resolve_account(name)
            keys = {_digest(f"{network}\nname:{fold(name or '')}")}
            if account is not None:
                keys.add(_digest(f"{network}\naccount:{account}"))
            self._keys = sorted(keys)  # one order for every process: no lock-order deadlocks
        return self._keys

    def wait(self) -> float | None:
        """Seconds before this pair may try again, or ``None``: the attempt is then reserved."""
        if self.limit is None or self.duration is None:
            return None
        if self._counted_in is not None:
            return None
        counts = _counts()
        try:
            until = counts.reserve(self.keys, self.limit, self.duration)
        except _CacheFailed:
            counts = _DatabaseCounts()
            until = counts.reserve(self.keys, self.limit, self.duration)
        if until is not None:
            return max((until - timezone.now()).total_seconds(), 1.0)
        self._counted_in = counts
        self._remember()
        return None

    def failed(self) -> None:
        """The attempt checked a password and issued nothing: it counts."""
        if self.limit is None or self.duration is None or self._counted_in is not None:
            return
        counts = _counts()
        try:
            counts.reserve(self.keys, None, self.duration)
        except _CacheFailed:
            counts = _DatabaseCounts()
            counts.reserve(self.keys, None, self.duration)
        self._counted_in = counts

    def succeeded(self) -> None:
        """The attempt logged in: give its reservation back."""
        counts, self._counted_in = self._counted_in, None
        if counts is not None:
            counts.refund(self.keys)

    def _remember(self) -> None:
        for request in (self.request, getattr(self.request, "_request", None)):
            if request is not None:
                setattr(request, REQUEST_ATTRIBUTE, self)


def refund_on_login(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: the request's login attempt succeeded."""
    throttle = getattr(request, REQUEST_ATTRIBUTE, None)
    if isinstance(throttle, LoginThrottle):
        throttle.succeeded()


class _CacheFailed(Exception):
    pass


class _Refused(Exception):
    def __init__(self, until: datetime) -> None:
        self.until = until


class _Vanished(Exception):
    """A count row was pruned between its insert and its update."""


class _Counts:
    def reserve(self, keys: list[str], limit: int | None, duration: int) -> datetime | None:
        """Count one attempt under every key, unless one is at ``limit``: then its window end."""
        raise NotImplementedError

    def refund(self, keys: list[str]) -> None:
        raise NotImplementedError


def _counts() -> _Counts:
    alias = durin_settings.LOGIN_THROTTLE_CACHE
    return _DatabaseCounts() if alias is None else _CacheCounts(alias)


class _DatabaseCounts(_Counts):
    """Rows of ``LoginFailureCount``: one UPDATE per key, in a transaction, decides.

    The UPDATE takes the row's lock and reads its latest version under any isolation
    level, so concurrent attempts are counted one after another; the check that
    follows rolls this attempt's increments back when a key went past the limit.
    """

    #: Under REPEATABLE READ every concurrent attempt on a pair but one fails to serialise
    #: and starts again: enough rounds for a burst of parallel logins.
    ATTEMPTS = 10

    def __init__(self) -> None:
        self.db = router.db_for_write(LoginFailureCount)
        self.rows = LoginFailureCount.objects.using(self.db)

    def reserve(self, keys: list[str], limit: int | None, duration: int) -> datetime | None:
        for attempt in range(1, self.ATTEMPTS + 1):
            now = timezone.now()
            end = now + timedelta(seconds=duration)
            try:
                try:
                    with transaction.atomic(using=self.db):
                        self._count(keys, limit, now, end)
                except _Vanished:
                    self._insert(keys, end)
                    continue
            except _Refused as refused:
                return refused.until
            except OperationalError:  # a deadlock or serialization failure: try again
                if attempt == self.ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.002 * attempt))  # let the winner commit
            else:
                return None
        raise OperationalError("durin could not count a failed login")

    def _count(self, keys: list[str], limit: int | None, now: datetime, end: datetime) -> None:
        in_window = When(window_end__gt=now, then=F("failures") + 1)
        for key in keys:
            updated = self.rows.filter(key=key).update(
                failures=Case(in_window, default=Value(1)),
                window_end=Case(When(window_end__gt=now, then=F("window_end")), default=Value(end)),
            )
            if not updated:
                raise _Vanished
        if limit is None:
            return
        counted = self.rows.select_for_update().filter(key__in=keys)
        over = [row.window_end for row in counted if row.failures > limit]
        if over:
            raise _Refused(max(over))

    def _insert(self, keys: list[str], end: datetime) -> None:
        """Rows at zero, outside the counting transaction (MySQL deadlocks on duplicate inserts)."""
        self.rows.bulk_create(
            [LoginFailureCount(key=key, failures=0, window_end=end) for key in keys],
            ignore_conflicts=True,
        )

    def refund(self, keys: list[str]) -> None:
        # One row per statement, in the order ``reserve`` locks them: an UPDATE of
        # several rows locks them in whatever order it scans, and deadlocks with it.
        now = timezone.now()
        for key in keys:
            self.rows.filter(key=key, failures__gt=0, window_end__gt=now).update(
                failures=F("failures") - 1
            )


class _CacheCounts(_Counts):
    """Counters in a shared cache whose ``incr`` is atomic (Redis, Memcached).

    A cache error falls back to the database for this attempt (``_CacheFailed``):
    a cache outage must not switch the throttle off.
    """

    def __init__(self, alias: str) -> None:
        self.cache = caches[alias]

    @staticmethod
    def _cache_key(key: str) -> str:
        """In this deployment's namespace: another deployment sharing the cache counts apart."""
        return f"{CACHE_KEY_PREFIX}{cache.namespaces()[0]}:{key}"

    def reserve(self, keys: list[str], limit: int | None, duration: int) -> datetime | None:
        taken: list[str] = []
        try:
            self._check_keeps_keys()
            for key in keys:
                count = self._bump(self._cache_key(key), duration)
                taken.append(key)
                if limit is not None and count > limit:
                    self.refund(taken)
                    end = self.cache.get(self._cache_key(key) + ":end")
                    return end or timezone.now() + timedelta(seconds=duration)
        except Exception as exc:  # any backend's error: count in the database instead
            _log_cache_failure(exc)
            raise _CacheFailed from exc
        return None

    def _check_keeps_keys(self) -> None:
        """Raise ``_CacheFailed`` unless the server provably never evicts a key.

        A cache that evicts under memory pressure (Redis with ``maxmemory`` and any policy
        but ``noeviction``; Memcached always) lets an attacker push a victim's count out
        with failures under fresh names. Asked on every attempt (one round trip beside a
        password hash): an operator can change the policy at any time.
        """
        client = cache.redis_client(self.cache)
        if client is None:
            raise _Evicting("it is not a Redis cache whose eviction policy durin can read")
        config = client.config_get("maxmemory*")
        if int(config.get("maxmemory") or 0) and config.get("maxmemory-policy") != "noeviction":
            raise _Evicting(
                f"its Redis evicts keys (maxmemory-policy {config.get('maxmemory-policy')})"
            )

    def _bump(self, key: str, duration: int) -> int:
        self.cache.add(key + ":end", timezone.now() + timedelta(seconds=duration), duration)
        self.cache.add(key, 0, duration)
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window ended between add and incr: a new one
            self.cache.add(key, 1, duration)
            return 1
        if count == 1:  # a backend that recreated an expired key may have left it no expiry
            self.cache.touch(key, duration)
        return int(count)

    def refund(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.cache.decr(self._cache_key(key))
            except ValueError:  # the window is over: nothing to give back
                pass
            except Exception as exc:
                _log_cache_failure(exc)


class _Evicting(Exception):
    """The throttle cache may evict counts: they go to the database instead."""


_evicting_logged: set[str] = set()


def _log_cache_failure(exc: Exception) -> None:
    if isinstance(exc, _Evicting):  # a standing condition: said once per process
        if str(exc) in _evicting_logged:
            return
        _evicting_logged.add(str(exc))
    logger.warning(
        "LOGIN_THROTTLE_CACHE failed (%s: %s); failed logins are counted in the database.",
        type(exc).__name__,
        exc,
    )


def prune_login_failures(now: datetime | None = None, batch_size: int = 10_000) -> int:
    """Delete the counts whose window has ended, ``batch_size`` rows per statement."""
    now = now or timezone.now()
    rows = LoginFailureCount.objects.using(router.db_for_write(LoginFailureCount))
    deleted = 0
    while True:
        batch = list(
            rows.filter(window_end__lte=now)
            .order_by("key")
            .values_list("key", flat=True)[:batch_size]
        )
        if not batch:
            return deleted
        deleted += rows.filter(key__in=batch, window_end__lte=now).delete()[0]
