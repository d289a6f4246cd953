"""``UserClientRateThrottle``: a rate per (user, client) pair.

Enable it with ``"DEFAULT_THROTTLE_CLASSES": ["durin.throttling.UserClientRateThrottle"]``
and a default rate in ``"DEFAULT_THROTTLE_RATES": {"user_per_client": "100/h"}``; a
client's own ``throttle_rate`` overrides the default for its tokens.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from .models import AuthToken
from .validators import validate_throttle_rate


class UserClientRateThrottle(UserRateThrottle):
    """Throttles each authenticated (user, client) pair at its client's rate."""

    scope = "user_per_client"
    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self) -> None:
        # The rate depends on the request's client; it is chosen in allow_request().
        pass

    def get_rate(self) -> str | None:
        """The default rate of the scope, read at call time (DRF reads it at import)."""
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        auth = request.auth
        client_rate = auth.client.throttle_rate if isinstance(auth, AuthToken) else ""
        self.rate = client_rate or self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        auth = request.auth
        if isinstance(auth, AuthToken):
            ident = f"user-{auth.user_id}.client-{auth.client_id}"
        elif request.user and request.user.is_authenticated:
            ident = str(request.user.pk)
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    #: Kept for django-rest-durin 1.x migrations that name it.
    validate_client_throttle_rate = staticmethod(validate_throttle_rate)
