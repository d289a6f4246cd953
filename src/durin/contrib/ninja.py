"""durin's token authentication for django-ninja operations, sync and async.

``NinjaAPI(auth=TokenAuth())`` (or ``TokenAuth(CachedTokenAuthentication)``) on the API, a
router or an operation. A valid token makes ``request.auth`` the ``AuthToken`` and
``request.user`` its user; a refused one is a 401 with durin's messages. ninja renders an
exception's body only, so ``handle_refusals(api)`` adds the ``WWW-Authenticate`` challenge
that durin's DRF classes send, to durin's refusals and to ninja's own 401.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security.base import AuthBase
from rest_framework import exceptions

from ..auth import TokenAuthentication, attach, challenge
from ..models import AuthToken
from ..settings import durin_settings


class TokenRefused(AuthenticationError):
    """A durin header that authenticates no one: 401 with durin's message."""

    def __init__(self, refusal: exceptions.AuthenticationFailed, challenge: str) -> None:
        super().__init__(401, str(refusal.detail))
        #: DRF's stable code (``token_invalid``, ``token_expired``, ``user_inactive``, ...).
        self.code = refusal.get_codes()
        #: The ``WWW-Authenticate`` value ``handle_refusals`` sends.
        self.challenge = challenge


class TokenAuth(AuthBase):
    """``Authorization: <AUTH_HEADER_PREFIX> <token>`` for django-ninja.

    Answers sync operations synchronously and async ones with a coroutine, so that an async
    operation's cached hit never leaves the event loop.
    """

    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "Authorization"

    def __init__(self, authentication_class: type[TokenAuthentication] = TokenAuthentication):
        self.authentication = authentication_class()
        self.openapi_description = (
            f"A token from durin's login endpoint: "
            f"`Authorization: {durin_settings.AUTH_HEADER_PREFIX} <token>`."
        )
        super().__init__()
        # ninja awaits what an async auth returns, and uses a sync operation's answer as is.
        self.is_async = True

    def __call__(self, request: HttpRequest) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.authenticate(request)
        return self.aauthenticate(request)

    def authenticate(self, request: HttpRequest) -> AuthToken | None:
        try:
            found = self.authentication.authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            raise self.refused(request, exc) from None
        return self._attached(request, found)

    async def aauthenticate(self, request: HttpRequest) -> AuthToken | None:
        try:
            found = await self.authentication.aauthenticate(request)
        except exceptions.AuthenticationFailed as exc:
            raise self.refused(request, exc) from None
        return self._attached(request, found)

    def refused(self, request: HttpRequest, exc: exceptions.AuthenticationFailed) -> TokenRefused:
        return TokenRefused(exc, self.authentication.authenticate_header(request))

    @staticmethod
    def _attached(request: HttpRequest, found: tuple[Any, AuthToken] | None) -> AuthToken | None:
        if found is None:
            return None  # another scheme, or none: ninja asks the operation's next auth
        attach(request, *found)
        return found[1]


def handle_refusals(api: NinjaAPI) -> None:
    """Answer ``api``'s 401s with a ``WWW-Authenticate`` challenge, as DRF does: a refused
    token with durin's ``invalid_token`` challenge, a request that no auth class of the
    operation took (ninja's own ``AuthenticationError``) with durin's scheme."""

    def refused(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(request, {"detail": exc.message}, status=exc.status_code)
        response["WWW-Authenticate"] = getattr(exc, "challenge", None) or challenge(
            durin_settings.AUTH_HEADER_PREFIX
        )
        return response

    api.add_exception_handler(TokenRefused, refused)
    api.add_exception_handler(AuthenticationError, refused)
