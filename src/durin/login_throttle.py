"""Failed logins, counted per (client IP, username) in the cache.

After ``LOGIN_THROTTLE_RATE`` failures (default ``10/m``) every attempt for that
pair is refused, password unchecked, until the window that began with the first
failure ends. Successes are not counted and reset nothing. The username need not
exist: the answer is the same either way.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from . import cache
from .client_ip import client_ip
from .settings import durin_settings


def fold(name: str) -> str:
    """``name`` without case, accents or compatibility variants (``ﬁ`` is ``fi``)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class LoginThrottle:
    def __init__(self, request: Any, username: Any) -> None:
        rate = durin_settings.LOGIN_THROTTLE_RATE
        self.limit, self.duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
        # The username as DRF's CharField will read it (numbers as text, whitespace
        # trimmed), so no spelling of one name gets a fresh count.
        # Case and accents are folded too: MySQL/MariaDB collations match "Álice" to "alice".
        readable = isinstance(username, (str, int, float)) and not isinstance(username, bool)
        name = fold(str(username).strip()) if readable else ""
        pair = f"{client_ip(request) or '-'}\n{name}".encode("utf-8", "backslashreplace")
        key = "durin:login:" + hashlib.sha256(pair).hexdigest()
        self.count_key, self.start_key = key + ":n", key + ":t"

    def wait(self) -> float | None:
        """Seconds before this pair may try again, or ``None`` if it may try now."""
        if self.limit is None:
            return None
        try:
            values = cache.backend().get_many([self.count_key, self.start_key])
        except Exception as exc:  # No cache, no throttle: logins keep working.
            cache.Outage.failed(exc)
            return None
        if values.get(self.count_key, 0) < self.limit:
            return None
        remaining = values.get(self.start_key, time.time()) + self.duration - time.time()
        return remaining if remaining > 0 else None

    def failed(self) -> None:
        if self.limit is None:
            return
        backend = cache.backend()
        try:
            backend.add(self.start_key, time.time(), self.duration)
            backend.add(self.count_key, 0, self.duration)
            try:
                backend.incr(self.count_key)
            except ValueError:  # expired between add and incr: a new window
                backend.add(self.count_key, 1, self.duration)
        except Exception as exc:
            cache.Outage.failed(exc)
