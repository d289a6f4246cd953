"""What happens when a token that rotation replaced comes back after its grace: reuse
(RFC 9700 §4.14.2). Someone else holds a copy, so the whole session is revoked, and the
revocation must stay made.

Under ``ATOMIC_REQUESTS`` the request's transaction is rolled back by DRF when it answers
the 401, and the revocation with it: a stolen token's session would survive its
detection. So a revocation made inside such a transaction is made again once the request
has finished (``request_finished``), outside it, in the thread that served it.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import connections, router

from . import services
from .models import AuthToken

REASON = "reuse_detected"

#: Sessions whose revocation the request of this thread may roll back.
_pending = threading.local()


def detected(session: AuthToken, request: Any = None) -> None:
    """Revoke ``session``; if the request's transaction may undo it, again after the request."""
    connection = connections[router.db_for_write(AuthToken)]
    if connection.in_atomic_block and connection.settings_dict.get("ATOMIC_REQUESTS"):
        pending = getattr(_pending, "sessions", None)
        if pending is None:
            pending = _pending.sessions = set()
        pending.add(session.pk)
    services.revoke_token(session, REASON, request=request)


def revoke_pending(**kwargs: Any) -> None:
    """``request_finished`` receiver, connected in ``DurinConfig.ready()``."""
    sessions = getattr(_pending, "sessions", None)
    if sessions:
        _pending.sessions = None
        services.revoke_tokens(AuthToken.objects.filter(pk__in=sessions), REASON)
        # Django closed the request's connections before this receiver: this one too.
        connections[router.db_for_write(AuthToken)].close_if_unusable_or_obsolete()
